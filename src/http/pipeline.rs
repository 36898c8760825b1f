//! The request pipeline every request passes through, in two halves around CORS.
//!
//! [`Pipeline`] (outermost): request id and span, security headers, metrics and
//! the access log. [`Guard`] (inside CORS): checks that need no route (the query's
//! size and duplicate keys, the body's declared size and coding, the rate limit),
//! the request timeout, reading the body decoded and within its limit
//! ([`body`]), and rendering every error as a problem document.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::http::{header, HeaderName, HeaderValue, StatusCode};
use poem::PathPattern;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use super::allow::AllowedMethods;
use super::problem::{classify, Problem};
use super::security::Authenticated;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::lockout::client_address;
use crate::app::identity::Identity;
use crate::app::ratelimit::{Group, RateLimits};
use crate::telemetry::metrics::Metrics;

mod body;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available to handlers as request data.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// A bearer token the pipeline has already verified (signature, issuer,
/// audience, expiry), so the security scheme need not verify it again.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub token: Arc<str>,
    pub claims: crate::app::identity::tokens::AccessClaims,
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Who is calling, as far as the network says: the client IP (from
/// `X-Forwarded-For` only when the peer is a trusted proxy). Kept as an address
/// and written out only when something records it: most requests never do.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
}

impl ClientInfo {
    /// The address as text, "unknown" when the peer is not an IP socket.
    pub fn ip_text(&self) -> String {
        self.ip
            .map_or_else(|| "unknown".into(), |ip| ip.to_string())
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy
/// (each proxy appends the address it was called from, so entries to the left of
/// the first untrusted one are whatever the client chose to send). An entry that
/// is not an address stops the walk at the peer: skipping it would hand the choice
/// to the client.
fn client_ip(
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

pub struct Pipeline {
    pub metrics: Arc<Metrics>,
    pub identity: Arc<Identity>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// operationId → path template in the contract, for metric labels.
    pub operation_paths: HashMap<String, String>,
    pub request_timeout: Duration,
    pub body_limit: usize,
    pub rate_limits: Arc<RateLimits>,
    pub production: bool,
    /// Each route's methods, for the `Allow` header of a 405.
    pub allowed_methods: Arc<AllowedMethods>,
}

/// The outer half; used as `.with(Outer(pipeline))`.
pub struct Outer(pub Arc<Pipeline>);

impl<E: Endpoint> Middleware<E> for Outer {
    type Output = PipelineEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        PipelineEndpoint {
            inner,
            config: self.0.clone(),
        }
    }
}

pub struct PipelineEndpoint<E> {
    inner: E,
    config: Arc<Pipeline>,
}

/// Accepts a client's request id if it is short and plain, so it is safe to log
/// and echo; otherwise makes one.
pub(super) fn request_id(req: &Request) -> Arc<str> {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map(Arc::from)
        // From the thread's CSPRNG (seeded once from the OS): `Uuid::new_v4` would
        // make a getrandom system call on every request.
        .unwrap_or_else(|| {
            let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            Arc::from(&*id.simple().encode_lower(&mut uuid::Uuid::encode_buffer()))
        })
}

/// The most `name=value` pairs a query string may have. The widest operation
/// (the product list) takes about a dozen parameters and each may appear once,
/// so more than this is never a real client; refusing it first keeps the work a
/// query costs bounded before anything else runs.
pub const MAX_QUERY_PAIRS: usize = 100;

/// Refuses query strings that would be read ambiguously, lossily or at length:
/// more than [`MAX_QUERY_PAIRS`] pairs (counted before anything is decoded), a
/// key that appears twice (which one wins differs between frameworks), or
/// percent-encoded bytes that are not UTF-8 (they would silently become U+FFFD).
/// Linear in the query's length.
fn check_query(req: &Request) -> Result<(), AppError> {
    let Some(query) = req.uri().query() else {
        return Ok(());
    };
    let pairs = || query.split('&').filter(|p| !p.is_empty());
    if pairs().nth(MAX_QUERY_PAIRS).is_some() {
        return Err(AppError::new(
            ErrorCode::TooManyQueryParameters,
            format!("the query string has more than {MAX_QUERY_PAIRS} parameters"),
        ));
    }
    let decode = |raw: &str| {
        let raw = if raw.contains('+') {
            std::borrow::Cow::Owned(raw.replace('+', " "))
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
        percent_encoding::percent_decode_str(&raw)
            .decode_utf8()
            .map(|s| s.into_owned())
    };
    let mut seen: HashSet<String> = HashSet::new();
    for pair in pairs() {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key).map_err(|_| {
            AppError::new(
                ErrorCode::BadRequest,
                "a query parameter name is not valid UTF-8",
            )
        })?;
        if decode(raw_value).is_err() {
            return Err(AppError::invalid_parameter(&key, "is not valid UTF-8"));
        }
        if seen.contains(&key) {
            return Err(AppError {
                errors: vec![crate::domain::validation::FieldError::new(
                    key.as_str(),
                    "duplicate",
                    "appears more than once",
                )],
                ..AppError::new(
                    ErrorCode::DuplicateQueryParameter,
                    format!("query parameter `{key}` appears more than once; send it once"),
                )
            });
        }
        seen.insert(key);
    }
    Ok(())
}

pub(super) use body::too_large;

/// Renders an error as a problem response, keeping the matched route for metrics.
pub(super) fn render(error: poem::Error, id: &str, path: &str) -> Response {
    let route = error.data::<PathPattern>().cloned();
    let operation = error.data::<OperationId>().cloned();
    let app = classify(error);
    if app.status() >= 500 {
        // `{:#}` prints the whole cause chain; the client sees none of it.
        let cause = app.source.as_ref().map(|s| format!("{s:#}"));
        tracing::error!(code = %app.code, cause = cause.as_deref().unwrap_or(""), "request failed");
    }
    let mut response = Problem::from_error(&app, id, path).into_response(app.retry_after);
    if let Some((limit, remaining, reset)) = app.rate_limit {
        response
            .headers_mut()
            .extend(rate_limit_headers(limit, remaining, reset));
    }
    if let Some(route) = route {
        response.set_data(route);
    }
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

pub(super) fn current_id(req: &Request) -> Arc<str> {
    req.data::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| Arc::from("unknown"))
}

/// A browser sends `Origin` on same-origin writes too (Swagger UI's "Try it
/// out", for one). Those are not cross-origin requests, so the CORS allow-list
/// must not refuse them.
fn drop_same_origin(req: &mut Request) {
    let same = match (
        req.headers().get(header::ORIGIN),
        req.headers().get(header::HOST),
    ) {
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, rest)| rest.to_owned()))
            .is_some_and(|o| host.to_str().is_ok_and(|h| h.eq_ignore_ascii_case(&o))),
        _ => false,
    };
    if same {
        req.headers_mut().remove(header::ORIGIN);
    }
}

impl<E: Endpoint> PipelineEndpoint<E> {
    fn add_headers(&self, response: &mut Response, id: &str, path: &str) {
        let headers = response.headers_mut();
        // Room for all of them at once instead of growing the map header by header.
        headers.reserve(7);
        if let Ok(v) = HeaderValue::from_str(id) {
            headers.insert(REQUEST_ID, v);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Swagger UI needs its own scripts and styles; everything else is data.
        if !path.starts_with("/docs") {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
        if self.config.production {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

// The layers below are not `async fn`s: an `async fn` keeps the request it was
// given beside the inner future it hands it to, and every layer's future is
// copied into the next, so each such copy costs every request (docs/benchmarks.md).
impl<E: Endpoint> Endpoint for PipelineEndpoint<E> {
    type Output = Response;

    fn call(&self, mut req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let started = Instant::now();
        let id = request_id(&req);
        req.set_data(RequestId(id.clone()));
        req.set_data(ClientInfo {
            ip: client_ip(
                req.remote_addr().as_socket_addr().map(|a| a.ip()),
                req.headers(),
                &self.config.trusted_proxies,
            ),
        });
        drop_same_origin(&mut req);
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);

        async move {
            let mut response = match self.inner.call(req).await {
                Ok(response) => response.into_response(),
                Err(error) => render(error, &id, &path),
            };
            self.add_headers(&mut response, &id, &path);
            if response.status() == StatusCode::METHOD_NOT_ALLOWED
                && !response.headers().contains_key(header::ALLOW)
            {
                // RFC 9110 requires a 405 to say which methods the resource supports.
                if let Some(allow) = self.config.allowed_methods.for_path(&path) {
                    if let Ok(value) = HeaderValue::from_str(allow) {
                        response.headers_mut().insert(header::ALLOW, value);
                    }
                }
            }
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            // Operations are labelled with their path in the contract
            // (`/api/v1/products/{id}`); other routes with their pattern.
            let pattern = response.data::<PathPattern>().map(|p| p.0.clone());
            let route = response
                .data::<OperationId>()
                .and_then(|op| self.config.operation_paths.get(op.0))
                .map(String::as_str)
                .or(pattern.as_deref().filter(|r| !r.is_empty()))
                .unwrap_or("unmatched");
            self.config
                .metrics
                .observe(route, method.as_str(), status, elapsed);
            tracing::info!(
                status,
                route,
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "request finished"
            );
            Ok(response)
        }
        .instrument(span)
    }
}

/// The inner half of the pipeline, inside CORS so that CORS headers reach error
/// responses too: request checks, the timeout, and problem rendering.
pub struct Guard(pub Arc<Pipeline>);

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        GuardEndpoint {
            inner,
            config: self.0.clone(),
        }
    }
}

pub struct GuardEndpoint<E> {
    inner: E,
    config: Arc<Pipeline>,
}

/// A body `admit` found acceptable so far: read (decoded, capped) inside the
/// request's timeout, once the rate limit has let the request in.
struct PendingBody {
    coding: body::Coding,
    declared: Option<usize>,
}

/// What `admit` lets through: the `RateLimit-*` headers to send and the body to read.
struct Admitted {
    limit_headers: Option<poem::http::HeaderMap>,
    body: Option<PendingBody>,
}

impl<E: Endpoint> GuardEndpoint<E> {
    /// The checks that come before the route, cheapest first: the query, the
    /// body's declared size and coding, the bearer token and the rate limit.
    async fn admit(&self, req: &mut Request) -> Result<Admitted, AppError> {
        check_query(req)?;
        let body = self.check_body(req)?;

        // Verified once here: the rate limit may key on the user, and the
        // security scheme reuses the result.
        let verified = bearer(req).and_then(|token| {
            self.config
                .identity
                .verify_token(token)
                .map(|claims| VerifiedToken {
                    token: Arc::from(token),
                    claims,
                })
        });
        let mut user = None;
        if let Some(v) = verified {
            // A bucket of its own only for a caller whose session and account check out:
            // a signature alone would let a holder of the signing key mint a fresh
            // bucket per made-up `sub`, or spend a victim's. The security scheme and
            // the idempotency layer reuse the answer.
            let keyed = Group::for_path(req.uri().path()).is_some_and(Group::keys_on_user);
            if keyed {
                if let Ok(Some(principal)) = self
                    .config
                    .identity
                    .authenticate_claims(v.claims.clone())
                    .await
                {
                    user = Some(principal.user_id.as_str().to_owned());
                    req.set_data(Authenticated {
                        token: v.token.clone(),
                        principal,
                    });
                }
            }
            req.set_data(v);
        }
        let limit_headers = self.rate_limit(req, user.as_deref()).await?;
        Ok(Admitted {
            limit_headers,
            body,
        })
    }

    /// Refuses what the headers already show is too large (`Content-Length`) or
    /// in a coding Bazaar does not decode. A request with a body (sized, chunked
    /// or an HTTP/2 stream) gets it read later by [`body::read`], which holds the
    /// limit on the decoded bytes.
    fn check_body(&self, req: &mut Request) -> Result<Option<PendingBody>, AppError> {
        let limit = self.config.body_limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let payload = req.take_body();
        let empty = payload.is_empty();
        req.set_body(payload);
        if empty {
            // Nothing to decode: poem's compression must not wrap a decoder around it.
            req.headers_mut().remove(header::CONTENT_ENCODING);
            return Ok(None);
        }
        Ok(Some(PendingBody {
            coding: body::Coding::of(req.headers())?,
            declared: declared.and_then(|n| usize::try_from(n).ok()),
        }))
    }

    /// Counts the request against its group's budget. Returns the `RateLimit-*`
    /// headers to send, or a 429 problem.
    async fn rate_limit(
        &self,
        req: &Request,
        user: Option<&str>,
    ) -> Result<Option<poem::http::HeaderMap>, AppError> {
        let Some(group) = Group::for_path(req.uri().path()) else {
            return Ok(None);
        };
        if self.config.rate_limits.budget(group).is_none() {
            return Ok(None);
        }
        let client = match user.filter(|_| group.keys_on_user()) {
            Some(sub) => format!("user:{sub}"),
            None => {
                // By the address the lockout counts too: an IPv6 client holds a whole /64,
                // and an IPv4-mapped address is its IPv4 one.
                let ip = req.data::<ClientInfo>().map(ClientInfo::ip_text);
                format!("ip:{}", client_address(&ip.unwrap_or_default()))
            }
        };
        let (budget, state) = match self.config.rate_limits.hit(group, &client).await {
            Ok(Some(hit)) => hit,
            Ok(None) => return Ok(None),
            Err(e) if group.fails_open() => {
                tracing::warn!(error = %e, "rate limit store unavailable; letting the request through");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let reset = state.reset_in.as_secs_f64().ceil().max(1.0) as u64;
        if !state.allowed {
            return Err(AppError {
                rate_limit: Some((budget.limit, 0, reset)),
                ..AppError::new(
                    ErrorCode::RateLimited,
                    "too many requests from this client; slow down",
                )
                .with_retry_after(reset)
            });
        }
        Ok(Some(rate_limit_headers(
            budget.limit,
            state.remaining,
            reset,
        )))
    }
}

/// Replaces the body with its decoded bytes, within the limit, and makes the
/// headers say what the route now gets: no coding, and its length.
async fn read_body(req: &mut Request, pending: PendingBody, limit: usize) -> Result<(), AppError> {
    let bytes = body::read(req.take_body(), pending.coding, limit, pending.declared).await?;
    let headers = req.headers_mut();
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    req.set_body(bytes);
    Ok(())
}

/// The `RateLimit-Limit`, `-Remaining` and `-Reset` headers (IETF draft).
pub fn rate_limit_headers(limit: u32, remaining: u32, reset: u64) -> poem::http::HeaderMap {
    let mut headers = poem::http::HeaderMap::new();
    headers.insert(
        HeaderName::from_static("ratelimit-limit"),
        HeaderValue::from(limit),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-remaining"),
        HeaderValue::from(remaining),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-reset"),
        HeaderValue::from(reset),
    );
    headers
}

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    // Not `async fn`: see `PipelineEndpoint`; the block owns the request once.
    #[allow(clippy::manual_async_fn)]
    fn call(&self, mut req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        async move {
            let id = current_id(&req);
            let path = req.uri().path().to_owned();
            let Admitted {
                limit_headers,
                body,
            } = match self.admit(&mut req).await {
                Ok(admitted) => admitted,
                Err(error) => return Ok(render(error.into(), &id, &path)),
            };
            let limit = self.config.body_limit;
            // Boxed once here, so that the layers above hold a pointer, not the
            // whole route's future. The body is read inside the timeout, so a
            // client that sends it slowly is cut off like a slow route.
            let call = Box::pin(async move {
                if let Some(pending) = body {
                    // Boxed: most requests have no body to read.
                    Box::pin(read_body(&mut req, pending, limit)).await?;
                }
                self.inner.call(req).await.map(IntoResponse::into_response)
            });
            let result = match tokio::time::timeout(self.config.request_timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(AppError::new(
                    ErrorCode::Timeout,
                    format!(
                        "the request took longer than {} ms",
                        self.config.request_timeout.as_millis()
                    ),
                )
                .with_retry_after(1)
                .into()),
            };
            // Errors are rendered here so that they carry the rate-limit headers too.
            let mut response = result.unwrap_or_else(|e| render(e, &id, &path));
            if let Some(headers) = limit_headers {
                response.headers_mut().extend(headers);
            }
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Result<(), AppError> {
        check_query(&Request::builder().uri_str(format!("/x?{q}")).finish())
    }

    fn keys(n: usize) -> String {
        (0..n)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn a_query_of_many_pairs_is_refused_before_it_is_decoded() {
        assert!(query(&keys(MAX_QUERY_PAIRS)).is_ok());
        let e = query(&keys(MAX_QUERY_PAIRS + 1)).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyQueryParameters);
        // Even when one of them is not UTF-8: counting comes first.
        let e = query(&format!("{}&bad=%ff", keys(5_000))).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyQueryParameters);
    }

    #[test]
    fn a_duplicate_key_is_found_wherever_it_is_and_however_it_is_spelled() {
        let e = query(&format!("{}&k0=again", keys(MAX_QUERY_PAIRS - 1))).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateQueryParameter);
        assert_eq!(e.errors[0].field, "k0");
        let e = query("a+b=1&a%20b=2").unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateQueryParameter);
        assert!(query("a=1&&b=2&").is_ok(), "empty pairs are not parameters");
    }

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
