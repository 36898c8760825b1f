//! The inner half of the pipeline, inside CORS: the checks that need no route (query,
//! declared body, bearer token, rate limit), the request timeout, reading the body, and
//! rendering errors with the rate-limit headers.

use std::future::Future;
use std::sync::Arc;

use poem::http::{header, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::query::check_query;
use super::{body, current_id, rate_limit, render, too_large, Pipeline, VerifiedToken};
use crate::app::errors::{AppError, ErrorCode};
use crate::app::ratelimit::Group;
use crate::http::security::Authenticated;

/// The token of an `Authorization: Bearer` header, if any.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
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
        let limit_headers =
            rate_limit::count(&self.config.rate_limits, req, user.as_deref()).await?;
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

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    // Not `async fn`: see `PipelineEndpoint` (outer.rs); the block owns the request once.
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
