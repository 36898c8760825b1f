//! `Idempotency-Key` on the operations that declare it ([`declared`]).
//!
//! A request to one of them that carries the header runs at most once per key
//! and caller: the first answer is kept ([`crate::app::idempotency`]) and a repeat
//! of the same request gets it again, marked `Idempotent-Replayed: true`; the
//! key on a different request answers 422 `idempotency_key_reused`, and a
//! repeat while the first is still running answers 409 `idempotency_in_flight`.
//! Every other request passes straight through. See `docs/idempotency.md`.

mod declared;
mod documented;

pub use declared::{IdempotencyKeyHeader, IdempotentOperation, IdempotentOperations};
pub use documented::document;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::Either;
use futures::TryFutureExt;
use poem::http::{header, HeaderName, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::OperationId;

use super::pipeline::{current_id, render, too_large, VerifiedToken};
use super::security::Authenticated;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::idempotency::{
    key_reused, Begin, Fingerprint, IdempotencyKey, IdempotencyStore, Scope, StoredResponse, Ticket,
};
use crate::app::identity::Identity;
use crate::domain::request_key::RequestKey;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// What an idempotent operation learns of its request (as request data): the
/// retry identity to store with its change, so that a retry after an
/// ambiguous failure finds it; and a flag to raise when it answered from what
/// an earlier attempt stored, which marks the answer replayed.
#[derive(Debug, Clone)]
pub struct Retry {
    pub key: RequestKey,
    found_earlier: Arc<AtomicBool>,
}

impl Retry {
    /// This request's answer comes from the change an earlier attempt made.
    pub fn found_earlier(&self) {
        self.found_earlier.store(true, Ordering::Relaxed);
    }
}

/// Whether an outcome is the operation's final answer, worth replaying: the
/// operation ran (the router's 404 and 405 carry no operation id), and the
/// answer does not invite a retry (5xx, 429, a problem marked retryable) or
/// depend on the credentials rather than the request (401, 403: a permission
/// granted later must not meet a kept refusal).
fn is_final(outcome: &poem::Result<Response>) -> bool {
    let (ran, status, retryable) = match outcome {
        Ok(response) => (
            response.data::<OperationId>().is_some(),
            response.status(),
            false,
        ),
        Err(error) => (
            error.data::<OperationId>().is_some(),
            error.status(),
            error
                .downcast_ref::<AppError>()
                .is_some_and(|app| app.code.retryable()),
        ),
    };
    ran && !retryable
        && !status.is_server_error()
        && !matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        )
}

/// A kept answer, sent again.
fn replay(stored: StoredResponse, operation: &IdempotentOperation) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(IDEMPOTENT_REPLAYED, "true")
        .body(stored.body);
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, stored.content_type),
        (header::LOCATION, stored.location),
        (header::ETAG, stored.etag),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::try_from(v).ok()) {
            headers.insert(name, value);
        }
    }
    response.set_data(OperationId(operation.operation_id));
    response
}

fn header_text(response: &Response, name: HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Applies `Idempotency-Key` to `operations`; used as
/// `.with(Idempotency::new(operations, store, identity, body_limit))` inside `Guard`,
/// which has verified the caller's token and renders the problems raised here.
pub struct Idempotency {
    operations: Arc<IdempotentOperations>,
    store: Arc<IdempotencyStore>,
    identity: Arc<Identity>,
    body_limit: usize,
}

impl Idempotency {
    pub fn new(
        operations: IdempotentOperations,
        store: Arc<IdempotencyStore>,
        identity: Arc<Identity>,
        body_limit: usize,
    ) -> Self {
        Self {
            operations: Arc::new(operations),
            store,
            identity,
            body_limit,
        }
    }
}

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        IdempotencyEndpoint {
            inner,
            operations: self.operations.clone(),
            store: self.store.clone(),
            identity: self.identity.clone(),
            body_limit: self.body_limit,
        }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
    operations: Arc<IdempotentOperations>,
    store: Arc<IdempotencyStore>,
    identity: Arc<Identity>,
    body_limit: usize,
}

impl<E: Endpoint> IdempotencyEndpoint<E> {
    async fn release(&self, ticket: Ticket) {
        if let Err(e) = self.store.abandon(ticket).await {
            tracing::warn!(error = %e, "could not release an idempotency key; it stays in flight until it expires");
        }
    }

    async fn run_once(
        &self,
        operation: &IdempotentOperation,
        mut req: Request,
    ) -> poem::Result<Response> {
        // Problems raised here name the operation, for the metrics label.
        let refuse = |e: AppError| {
            let mut error = poem::Error::from(e);
            error.set_data(OperationId(operation.operation_id));
            error
        };
        let key = req
            .headers()
            .get(IDEMPOTENCY_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(IdempotencyKey::parse)
            .ok_or_else(|| {
                refuse(AppError::invalid_parameter(
                    "Idempotency-Key",
                    IdempotencyKey::SYNTAX,
                ))
            })?;
        let body = req
            .take_body()
            .into_bytes_limit(self.body_limit)
            .await
            .map_err(|e| {
                refuse(match e {
                    poem::error::ReadBodyError::PayloadTooLarge => too_large(self.body_limit),
                    _ => AppError::new(
                        ErrorCode::MalformedBody,
                        "the request body could not be read",
                    ),
                })
            })?;
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path(), |pq| pq.as_str());
        let fingerprint = Fingerprint::of(req.method().as_str(), target, &body);
        req.set_body(body);
        // Keys belong to the caller their session names, not to the token's claims: a token
        // whose session ended, or one minted with a leaked signing key for someone else's
        // id, must not reach that user's kept answers. Such a token gets no idempotency at
        // all: the operation refuses it (401) and nothing is kept.
        let checked = req.data::<Authenticated>().cloned();
        let scope = match req.data::<VerifiedToken>().cloned() {
            // The Guard already checked this token's session and account.
            Some(token) if checked.as_ref().is_some_and(|c| c.token == token.token) => {
                let principal = checked.map(|c| c.principal).expect("checked above");
                Scope::user(principal.user_id.as_str(), operation.operation_id)
            }
            Some(token) => {
                let caller = self
                    .identity
                    .authenticate_claims(token.claims)
                    .await
                    .map_err(refuse)?;
                let Some(principal) = caller else {
                    return self.inner.call(req).await.map(IntoResponse::into_response);
                };
                let scope = Scope::user(principal.user_id.as_str(), operation.operation_id);
                req.set_data(Authenticated {
                    token: token.token,
                    principal,
                });
                scope
            }
            None => Scope::anonymous(operation.operation_id),
        };

        let ticket = match self.store.begin(&scope, &key, &fingerprint).await {
            Err(e) => return Err(refuse(e.into())),
            Ok(Begin::Replay(stored)) => return Ok(replay(stored, operation)),
            Ok(Begin::Mismatch) => return Err(refuse(key_reused())),
            Ok(Begin::InFlight) => {
                return Err(refuse(
                    AppError::new(
                        ErrorCode::IdempotencyInFlight,
                        "a request with this Idempotency-Key is still in progress; \
                         send it again shortly for its answer",
                    )
                    .with_retry_after(1),
                ))
            }
            Ok(Begin::Proceed(ticket)) => ticket,
        };

        let id = current_id(&req);
        let path = req.uri().path().to_owned();
        let found_earlier = Arc::new(AtomicBool::new(false));
        req.set_data(Retry {
            key: scope.request_key(&key, &fingerprint),
            found_earlier: found_earlier.clone(),
        });
        let mut outcome = self.inner.call(req).await.map(IntoResponse::into_response);
        if let Ok(response) = &mut outcome {
            if found_earlier.load(Ordering::Relaxed) {
                response
                    .headers_mut()
                    .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            }
        }
        if !is_final(&outcome) {
            // Released, so that the client's retry runs the operation again.
            self.release(ticket).await;
            return outcome;
        }
        // Rendered here rather than by `Guard`, so that a problem is kept as sent.
        let mut response = outcome.unwrap_or_else(|e| render(e, &id, &path));
        let body = match response.take_body().into_bytes().await {
            Ok(body) => body,
            Err(e) => {
                self.release(ticket).await;
                let cause = anyhow::Error::new(e).context("reading an answer to keep it");
                return Err(refuse(AppError::internal(cause)));
            }
        };
        let stored = StoredResponse {
            status: response.status().as_u16(),
            content_type: header_text(&response, header::CONTENT_TYPE),
            location: header_text(&response, header::LOCATION),
            etag: header_text(&response, header::ETAG),
            body: body.to_vec(),
        };
        response.set_body(body);
        match self.store.keep(ticket, stored).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("a request outlived its idempotency claim; its answer was not kept")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not keep an idempotent answer yet; the key stays in flight while it is tried again")
            }
        }
        Ok(response)
    }
}

// Not an `async fn`, and the idempotent path boxed: every other request's
// future stays the inner one's (see `Dispatch` in `http/mod.rs`).
impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        match self.operations.of(&req) {
            None => Either::Left(self.inner.call(req).map_ok(IntoResponse::into_response)),
            Some(operation) => Either::Right(Box::pin(self.run_once(operation, req))),
        }
    }
}
