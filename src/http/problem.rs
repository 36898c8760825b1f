//! RFC 9457 problem documents: the one error body of the API.
//!
//! Handlers return [`AppError`]s (through [`Problems`], which also documents the
//! statuses an operation can answer); the pipeline turns every error — ours, the
//! router's, the extractors' — into a `Problem` here, so no error ever leaves in
//! another shape.

use std::marker::PhantomData;

use poem::http::{header, HeaderValue, StatusCode};
use poem::Response;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::{Example, Type};
use poem_openapi::{ApiResponse, Object};

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::validation::FieldError;
use crate::http::wire::Wire;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error, as described by RFC 9457 (Problem Details for HTTP APIs), with
/// Bazaar's extension members `code`, `request_id`, `errors` and `retryable`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:problem-type:bazaar:<code>`.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The path of the request that failed.
    pub instance: String,
    // Described by its schema: a description here would wrap the reference in `allOf`,
    // which some client generators cannot take.
    pub code: ProblemCode,
    /// The request id, also sent as the `X-Request-Id` header. Quote it in support requests.
    pub request_id: String,
    /// One entry per invalid field or parameter (empty when the problem is not about input).
    pub errors: Vec<ProblemFieldError>,
    /// True if the same request may succeed later; wait for `Retry-After` seconds if given.
    pub retryable: bool,
}

/// A problem's `code` in the contract: an enumeration of every [`ErrorCode`], read from
/// [`ErrorCode::ALL`] (see [`crate::http::wire`]), so a generated client can switch on it
/// exhaustively and a new code reaches the contract (and `make contract-diff`) the moment it
/// is added.
pub type ProblemCode = Wire<ErrorCode>;

/// One invalid field or parameter.
#[derive(Debug, Clone, Object)]
pub struct ProblemFieldError {
    /// Where: a body field as a JSON path (`tags[2]`) or a parameter name (`limit`).
    pub field: String,
    /// Stable machine-readable reason, e.g. `invalid_length`, `must_be_positive`.
    pub code: String,
    /// The reason, for people.
    pub message: String,
}

impl Example for Problem {
    fn example() -> Self {
        Self {
            kind: "urn:problem-type:bazaar:validation_failed".into(),
            title: "Validation failed".into(),
            status: 422,
            detail: "1 field is invalid".into(),
            instance: "/api/v1/products".into(),
            code: Wire(ErrorCode::ValidationFailed),
            request_id: "9b2f6c1e0d6a4f0c8e1f2a3b4c5d6e7f".into(),
            errors: vec![ProblemFieldError {
                field: "price".into(),
                code: "must_be_positive".into(),
                message: "must be a positive whole number of paise".into(),
            }],
            retryable: false,
        }
    }
}

impl From<&FieldError> for ProblemFieldError {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field.clone(),
            code: e.code.to_owned(),
            message: e.message.clone(),
        }
    }
}

impl Problem {
    pub fn from_error(error: &AppError, request_id: &str, instance: &str) -> Self {
        let code = error.code;
        Self {
            kind: format!("urn:problem-type:bazaar:{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            detail: error.detail.clone(),
            instance: instance.to_owned(),
            code: Wire(code),
            request_id: request_id.to_owned(),
            errors: error.errors.iter().map(Into::into).collect(),
            retryable: code.retryable(),
        }
    }

    pub fn into_response(self, retry_after: Option<u64>) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(&self)).unwrap_or_default();
        let mut response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, PROBLEM_JSON)
            .header(header::CACHE_CONTROL, "no-store")
            .body(body);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl poem::error::ResponseError for AppError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Turns any error that reached the top of the stack into an [`AppError`].
pub fn classify(error: poem::Error) -> AppError {
    use poem::error::{MethodNotAllowedError, NotFoundError, ParseJsonError, ReadBodyError};
    use poem_openapi::error::{
        ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };

    let error = match error.downcast::<AppError>() {
        Ok(app) => return app,
        Err(e) => e,
    };
    if error.is::<poem_openapi::error::AuthorizationError>() {
        return AppError::new(
            ErrorCode::Unauthorized,
            "a valid access token is required: send `Authorization: Bearer <access_token>`",
        );
    }
    if error.is::<NotFoundError>() {
        return AppError::new(ErrorCode::NotFound, "no resource exists at this path");
    }
    if error.is::<MethodNotAllowedError>() {
        return AppError::new(
            ErrorCode::MethodNotAllowed,
            "this path does not support the request method",
        );
    }
    if let Some(e) = error.downcast_ref::<ParseParamError>() {
        return AppError::invalid_parameter(e.name, clean_reason(&e.reason));
    }
    if let Some(e) = error.downcast_ref::<ParsePathError>() {
        return AppError::invalid_parameter(e.name, clean_reason(&e.reason));
    }
    if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        return AppError::new(
            ErrorCode::MalformedBody,
            format!(
                "the body does not match the expected schema: {}",
                clean_reason(&e.reason)
            ),
        );
    }
    if let Some(e) = error.downcast_ref::<ParseJsonError>() {
        return AppError::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid JSON: {e}"),
        );
    }
    if error.is::<ReadBodyError>() {
        return AppError::new(
            ErrorCode::MalformedBody,
            "the request body could not be read",
        );
    }
    if let Some(e) = error.downcast_ref::<ContentTypeError>() {
        let detail = match e {
            ContentTypeError::NotSupported { content_type } => format!(
                "content type `{content_type}` is not supported here; send application/json"
            ),
            ContentTypeError::ExpectContentType => {
                "the request has a body but no Content-Type; send application/json".to_owned()
            }
        };
        return AppError::new(ErrorCode::UnsupportedMediaType, detail);
    }
    let code = match error.status().as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        412 => ErrorCode::PreconditionFailed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::BackendUnavailable,
        s if (400..500).contains(&s) => ErrorCode::BadRequest,
        _ => return AppError::internal(anyhow::anyhow!("unclassified error: {error}")),
    };
    AppError::new(code, error.to_string())
}

/// poem-openapi wraps a parse failure as `failed to parse "Type": reason
/// (occurred while parsing "Wrapper")`; the type names mean nothing to a client,
/// the reason does.
pub(super) fn clean_reason(reason: &str) -> String {
    let reason = reason
        .strip_prefix("failed to parse \"")
        .and_then(|r| r.split_once("\": ").map(|(_, rest)| rest))
        .unwrap_or(reason);
    let reason = reason
        .split(" (occurred while parsing")
        .next()
        .unwrap_or(reason);
    reason.to_owned()
}

/// The error statuses an operation documents. Implemented by marker types made
/// with [`error_set!`], one per kind of operation.
pub trait ErrorSet: Send + Sync + 'static {
    const STATUSES: &'static [u16];
    /// Whether the operations honour `Idempotency-Key` (`http::idempotency`),
    /// which adds meanings to their 409 and 422.
    const IDEMPOTENT: bool = false;
}

/// Declares a marker type listing the error statuses of some operations;
/// `idempotent` before the name marks operations that honour `Idempotency-Key`.
#[macro_export]
macro_rules! error_set {
    ($(#[$doc:meta])* idempotent $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::http::problem::ErrorSet for $name {
            const STATUSES: &'static [u16] = &[$($status),+];
            const IDEMPOTENT: bool = true;
        }
    };
    ($(#[$doc:meta])* $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::http::problem::ErrorSet for $name {
            const STATUSES: &'static [u16] = &[$($status),+];
        }
    };
}

/// An operation's error result: an [`AppError`] whose possible statuses `S`
/// documents in the contract, each with the `Problem` schema.
pub struct Problems<S>(pub AppError, PhantomData<fn() -> S>);

impl<S> From<AppError> for Problems<S> {
    fn from(e: AppError) -> Self {
        Self(e, PhantomData)
    }
}

impl<S> From<Problems<S>> for poem::Error {
    fn from(p: Problems<S>) -> Self {
        poem::Error::from(p.0)
    }
}

fn status_description(status: u16, idempotent: bool) -> &'static str {
    match status {
        409 if idempotent => "The request conflicts with the current state (`conflict`, `version_conflict`, `upload_missing`, `upload_quota_exceeded`), or one with the same `Idempotency-Key` is still in progress; send it again after `Retry-After` seconds for its answer (`idempotency_in_flight`).",
        422 if idempotent => "The body is well-formed but some fields are invalid; `errors` lists each one (`validation_failed`). Or the `Idempotency-Key` was already used for a different request (`idempotency_key_reused`).",
        400 => "The request is malformed: a bad parameter, cursor or body (`invalid_parameter`, `invalid_cursor`, `malformed_body`, `duplicate_query_parameter`, `too_many_query_parameters`), or a wrong one-time password (`invalid_otp`, `otp_attempts_exceeded`).",
        401 => "No valid credentials: a missing, invalid or expired access token, or a failed sign-in (`unauthorized`, `invalid_credentials`, `refresh_token_reused`).",
        403 => "The caller may not do this (`forbidden`).",
        423 => "The account is locked after repeated failed sign-ins; wait `Retry-After` seconds (`account_locked`).",
        404 => "The resource does not exist (`not_found`).",
        409 => "The request conflicts with the current state (`conflict`, `version_conflict`, `upload_missing`, `upload_quota_exceeded`).",
        412 => "`If-Match` names a version that is no longer current (`precondition_failed`).",
        413 => "The body, decoded from its `Content-Encoding`, is larger than the configured limit (`payload_too_large`).",
        415 => "The body is not `application/json`, or is sent in a `Content-Encoding` other than gzip, deflate, br or zstd (`unsupported_media_type`).",
        422 => "The body is well-formed but some fields are invalid, or an upload differs from its declaration; `errors` lists each one (`validation_failed`, `upload_mismatch`).",
        429 => "Too many requests from this client; wait `Retry-After` seconds (`rate_limited`).",
        500 => "An unexpected error; the request id identifies it in the logs (`internal`).",
        503 => "A backend or provider is unavailable, the request timed out, or the instance is shutting down; retry after `Retry-After` seconds (`backend_unavailable`, `timeout`, `delivery_failed`, `payment_provider_unavailable`, `shutting_down`).",
        _ => "An error.",
    }
}

impl<S: ErrorSet> ApiResponse for Problems<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::STATUSES
                .iter()
                .map(|&status| MetaResponse {
                    description: status_description(status, S::IDEMPOTENT),
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: MetaSchemaRef::Reference(Problem::name().into_owned()),
                    }],
                    headers: if matches!(status, 423 | 429 | 503)
                        || (status == 409 && S::IDEMPOTENT)
                    {
                        vec![MetaHeader {
                            name: "Retry-After".into(),
                            description: Some("Seconds to wait before retrying.".into()),
                            required: false,
                            deprecated: false,
                            schema: u64::schema_ref(),
                        }]
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}
