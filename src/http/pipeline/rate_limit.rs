//! The rate limit, counted per client and route group before the route runs, and the
//! `RateLimit-*` headers that report it.

use poem::http::{HeaderName, HeaderValue};
use poem::Request;

use super::ClientInfo;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::lockout::client_address;
use crate::app::ratelimit::{Group, RateLimits};

/// Counts the request against its group's budget. Returns the `RateLimit-*`
/// headers to send, or a 429 problem.
pub(super) async fn count(
    rate_limits: &RateLimits,
    req: &Request,
    user: Option<&str>,
) -> Result<Option<poem::http::HeaderMap>, AppError> {
    let Some(group) = Group::for_path(req.uri().path()) else {
        return Ok(None);
    };
    if rate_limits.budget(group).is_none() {
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
    let (budget, state) = match rate_limits.hit(group, &client).await {
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

/// The `RateLimit-Limit`, `-Remaining` and `-Reset` headers (IETF draft).
pub(super) fn rate_limit_headers(limit: u32, remaining: u32, reset: u64) -> poem::http::HeaderMap {
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
