//! Who the client is, as far as the network says: the peer, or the address a trusted
//! proxy says it was called from (`X-Forwarded-For`).

use std::net::IpAddr;

/// The client's address: the peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy
/// (each proxy appends the address it was called from, so entries to the left of
/// the first untrusted one are whatever the client chose to send). An entry that
/// is not an address stops the walk at the peer: skipping it would hand the choice
/// to the client.
pub(super) fn client_ip(
    peer: Option<IpAddr>,
    headers: &poem::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match forwarded_address(entry) {
            Some(ip) if is_trusted(&ip) => continue,
            Some(ip) => return Some(ip),
            None => return Some(peer),
        }
    }
    Some(peer)
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as some
/// proxies write it (`203.0.113.7:51234`, `[2001:db8::1]:443`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn client(peer: &str, forwarded: &[&str], trusted: &str) -> Option<IpAddr> {
        let mut headers = poem::http::HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = trusted
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().unwrap())
            .collect();
        client_ip(Some(peer.ip()), &headers, &trusted)
    }

    #[test]
    fn the_client_is_the_right_most_forwarded_address_that_is_not_a_trusted_proxy() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        assert_eq!(
            client("198.51.100.9:5000", &["1.2.3.4"], "10.0.0.0/8"),
            ip("198.51.100.9")
        );
        // Behind one proxy: what it appended, not what the client prepended.
        assert_eq!(
            client("10.0.0.5:5000", &["6.6.6.6, 203.0.113.7"], "10.0.0.0/8"),
            ip("203.0.113.7")
        );
        // Behind two proxies, across header lines.
        assert_eq!(
            client(
                "10.0.0.5:5000",
                &["6.6.6.6, 203.0.113.7", "10.0.0.9"],
                "10.0.0.0/8"
            ),
            ip("203.0.113.7")
        );
        // Ports as some proxies write them.
        assert_eq!(
            client(
                "10.0.0.5:5000",
                &["6.6.6.6, 203.0.113.7:51234"],
                "10.0.0.0/8"
            ),
            ip("203.0.113.7")
        );
        assert_eq!(
            client("10.0.0.5:5000", &["[2001:db8::1]:443"], "10.0.0.0/8"),
            ip("2001:db8::1")
        );
        // A trusted peer without the header, or with nothing but trusted hops: the peer.
        assert_eq!(client("10.0.0.5:5000", &[], "10.0.0.0/8"), ip("10.0.0.5"));
        assert_eq!(
            client("10.0.0.5:5000", &["10.0.0.7"], "10.0.0.0/8"),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_the_walk_at_the_peer() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            client("10.0.0.5:5000", &["6.6.6.6, unknown"], "10.0.0.0/8"),
            ip("10.0.0.5")
        );
    }
}
