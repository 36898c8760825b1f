//! RFC 9457 problem documents: the one error body of the API.
//!
//! Handlers return [`AppError`]s (through [`Problems`], which also documents the
//! statuses an operation can answer); the pipeline turns every error — ours, the
//! router's, the extractors' — into a `Problem` here, so no error ever leaves in
//! another shape.

use poem::http::{header, HeaderValue, StatusCode};
use poem::Response;
use poem_openapi::types::Example;
use poem_openapi::Object;

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::validation::FieldError;
use crate::http::wire::Wire;

pub use super::error_sets::{ErrorSet, Problems};

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
