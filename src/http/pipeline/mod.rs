//! The request pipeline every request passes through, in two halves around CORS.
//!
//! [`Outer`] (outermost): request id and span, security headers, metrics and
//! the access log. [`Guard`] (inside CORS): checks that need no route (the query's
//! size and duplicate keys, the body's declared size and coding, the bearer token, the
//! rate limit),
//! the request timeout, reading the body decoded and within its limit
//! ([`body`]), and rendering every error as a problem document.
//!
//! This module holds what both halves share: their settings ([`Pipeline`]), what they
//! attach to a request, and the rendering of errors.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::http::HeaderName;
use poem::PathPattern;
use poem::{Request, Response};
use poem_openapi::OperationId;

use super::allow::AllowedMethods;
use super::problem::{classify, Problem};
use crate::app::identity::Identity;
use crate::app::ratelimit::RateLimits;
use crate::telemetry::metrics::Metrics;

mod body;
mod client_ip;
mod guard;
mod outer;
mod query;
mod rate_limit;

pub(super) use body::too_large;
pub use guard::{Guard, GuardEndpoint};
pub(super) use outer::request_id;
pub use outer::{Outer, PipelineEndpoint};
pub use query::MAX_QUERY_PAIRS;
use rate_limit::rate_limit_headers;

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

/// What both halves of the pipeline are configured with.
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
