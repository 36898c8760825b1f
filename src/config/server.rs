//! The API listener and what it accepts: address, timeouts, shutdown, body size, CORS,
//! trusted proxies and how long idempotent answers are kept.

use std::net::SocketAddr;
use std::time::Duration;

use super::environment::Environment;
use super::parser::Parser;
use super::spec::SettingSpec;

/// The API listener and the limits of the requests it serves.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub addr: SocketAddr,
    pub request_timeout: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_timeout: Duration,
    pub body_limit_bytes: usize,
    pub cors_origins: Vec<String>,
    /// How long an answer to an `Idempotency-Key` is kept for replay.
    pub idempotency_ttl: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ServerSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "addr",
            default: Some("127.0.0.1:8080"),
            secret: false,
            help: "Address and port to listen on. Port `0` picks a free port.",
        },
        SettingSpec {
            key: "request_timeout_ms",
            default: Some("15000"),
            secret: false,
            help: "Longest a request may take before it is answered `503 timeout`. 100–600000.",
        },
        SettingSpec {
            key: "shutdown_delay_ms",
            default: Some("5000"),
            secret: false,
            help: "After SIGTERM, how long readiness answers 503 while requests are still served, \
                so load balancers stop sending new ones before the listener closes \
                (Ctrl-C/SIGINT skips it). 0–600000.",
        },
        SettingSpec {
            key: "shutdown_timeout_ms",
            default: Some("20000"),
            secret: false,
            help: "After the listener closes, how long in-flight requests and the outbox delivery \
                in hand may run before the process exits anyway. 0–600000.",
        },
        SettingSpec {
            key: "body_limit_bytes",
            default: Some("1048576"),
            secret: false,
            help: "Largest request body, counted **after** decoding its `Content-Encoding` (gzip, \
                deflate, br, zstd) and whether or not it declares a length (HTTP/1.1 chunked, \
                HTTP/2): a body that declares more gets `413 payload_too_large` without being \
                read; one that turns out larger is refused as soon as it passes the limit, never \
                held whole. 1024–104857600.",
        },
        SettingSpec {
            key: "cors_origins",
            default: Some(""),
            secret: false,
            help: "Comma-separated origins allowed to call the API from a browser, e.g. \
                `https://shop.example.in,http://localhost:5173`. Empty: no cross-origin access \
                (same-origin pages such as `/docs` always work). `*` allows any origin (not in \
                production).",
        },
        SettingSpec {
            key: "idempotency_ttl_secs",
            default: Some("86400"),
            secret: false,
            help:
                "How long the answer to a request sent with an `Idempotency-Key` is kept, so that \
                the same request with the same key is answered from it instead of running again \
                (60–604800). Kept in Redis, shared by replicas. See \
                [idempotency.md](idempotency.md).",
        },
        SettingSpec {
            key: "trusted_proxies",
            default: Some(""),
            secret: false,
            help: "Comma-separated addresses or CIDRs of your load balancers. Only from these is \
                `X-Forwarded-For` believed when finding the client's IP: the client is the \
                right-most address in it that is not itself a trusted proxy. Empty: the client \
                is the TCP peer, so behind a load balancer every client shares the balancer's \
                address (and its rate limits). Examples per load balancer in \
                [operations.md](operations.md#client-addresses-and-trusted-proxies).",
        },
    ];

    pub(super) fn parse(p: &mut Parser, env: Environment) -> Self {
        let addr = p.parse(
            "addr",
            "a socket address like 127.0.0.1:8080",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        let request_timeout = p.millis("request_timeout_ms", 100, 600_000);
        let shutdown_delay = p.millis("shutdown_delay_ms", 0, 600_000);
        let shutdown_timeout = p.millis("shutdown_timeout_ms", 0, 600_000);
        let body_limit_bytes: usize = p.parse("body_limit_bytes", "a number of bytes", 1 << 20);
        if !(1024..=100 << 20).contains(&body_limit_bytes) {
            p.fail(
                "body_limit_bytes",
                "must be between 1024 and 104857600".into(),
            );
        }
        let cors_origins = p.list("cors_origins");
        for origin in &cors_origins {
            let ok = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.path() == "/"
                        && !origin.ends_with('/')
                });
            if !ok {
                let why = format!("`{origin}` is not an origin like https://shop.example.in");
                p.fail("cors_origins", why);
            }
        }
        if env == Environment::Production && cors_origins.iter().any(|o| o == "*") {
            p.fail(
                "cors_origins",
                "must list origins in production, not `*`".into(),
            );
        }
        let idempotency_ttl_secs: u64 =
            p.parse("idempotency_ttl_secs", "a whole number of seconds", 86_400);
        if !(60..=604_800).contains(&idempotency_ttl_secs) {
            p.fail(
                "idempotency_ttl_secs",
                "must be between 60 and 604800".into(),
            );
        }
        let idempotency_ttl = Duration::from_secs(idempotency_ttl_secs);
        let mut trusted_proxies = Vec::new();
        for entry in p.list("trusted_proxies") {
            let parsed = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => p.fail(
                    "trusted_proxies",
                    format!("`{entry}` is not an IP address or CIDR"),
                ),
            }
        }
        Self {
            addr,
            request_timeout,
            shutdown_delay,
            shutdown_timeout,
            body_limit_bytes,
            cors_origins,
            idempotency_ttl,
            trusted_proxies,
        }
    }
}
