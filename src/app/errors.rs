//! Every error a client can see, in one place.
//!
//! An [`AppError`] carries a stable [`ErrorCode`]; `http::problem` renders it as an
//! RFC 9457 problem document. `docs/errors.md` lists the same codes, and a test keeps
//! the two in step, so a frontend can switch on `code` without reading Rust.

use std::fmt;

use crate::domain::validation::FieldError;

/// The stable, machine-readable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    InvalidParameter,
    DuplicateQueryParameter,
    TooManyQueryParameters,
    MalformedBody,
    ValidationFailed,
    InvalidCursor,
    Unauthorized,
    InvalidCredentials,
    RefreshTokenReused,
    AccountLocked,
    InvalidOtp,
    OtpAttemptsExceeded,
    InvalidIdToken,
    ProviderNotConfigured,
    IdentityProviderUnavailable,
    DeliveryFailed,
    Forbidden,
    RecentSignInRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    VersionConflict,
    PreconditionFailed,
    InsufficientStock,
    IllegalTransition,
    RefundExceedsCaptured,
    TooManyUnpaidOrders,
    /// The cart's total is not the one the customer was shown.
    PriceChanged,
    InvalidSignature,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    UploadMissing,
    UploadMismatch,
    UploadQuotaExceeded,
    AddressBookFull,
    RateLimited,
    Internal,
    BackendUnavailable,
    ShuttingDown,
    Timeout,
}

impl ErrorCode {
    /// Every code, for the docs test and for the contract's description.
    pub const ALL: &'static [ErrorCode] = &[
        Self::BadRequest,
        Self::InvalidParameter,
        Self::DuplicateQueryParameter,
        Self::TooManyQueryParameters,
        Self::MalformedBody,
        Self::ValidationFailed,
        Self::InvalidCursor,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::RefreshTokenReused,
        Self::AccountLocked,
        Self::InvalidOtp,
        Self::OtpAttemptsExceeded,
        Self::InvalidIdToken,
        Self::ProviderNotConfigured,
        Self::IdentityProviderUnavailable,
        Self::DeliveryFailed,
        Self::Forbidden,
        Self::RecentSignInRequired,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::VersionConflict,
        Self::PreconditionFailed,
        Self::InsufficientStock,
        Self::IllegalTransition,
        Self::RefundExceedsCaptured,
        Self::TooManyUnpaidOrders,
        Self::PriceChanged,
        Self::InvalidSignature,
        Self::PaymentProviderRejected,
        Self::PaymentProviderUnavailable,
        Self::IdempotencyInFlight,
        Self::IdempotencyKeyReused,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::UploadMissing,
        Self::UploadMismatch,
        Self::UploadQuotaExceeded,
        Self::AddressBookFull,
        Self::RateLimited,
        Self::Internal,
        Self::BackendUnavailable,
        Self::ShuttingDown,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidParameter => "invalid_parameter",
            Self::DuplicateQueryParameter => "duplicate_query_parameter",
            Self::TooManyQueryParameters => "too_many_query_parameters",
            Self::MalformedBody => "malformed_body",
            Self::ValidationFailed => "validation_failed",
            Self::InvalidCursor => "invalid_cursor",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::AccountLocked => "account_locked",
            Self::InvalidOtp => "invalid_otp",
            Self::OtpAttemptsExceeded => "otp_attempts_exceeded",
            Self::InvalidIdToken => "invalid_id_token",
            Self::ProviderNotConfigured => "provider_not_configured",
            Self::IdentityProviderUnavailable => "identity_provider_unavailable",
            Self::DeliveryFailed => "delivery_failed",
            Self::Forbidden => "forbidden",
            Self::RecentSignInRequired => "recent_sign_in_required",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::VersionConflict => "version_conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::InsufficientStock => "insufficient_stock",
            Self::IllegalTransition => "illegal_transition",
            Self::RefundExceedsCaptured => "refund_exceeds_captured",
            Self::TooManyUnpaidOrders => "too_many_unpaid_orders",
            Self::PriceChanged => "price_changed",
            Self::InvalidSignature => "invalid_signature",
            Self::PaymentProviderRejected => "payment_provider_rejected",
            Self::PaymentProviderUnavailable => "payment_provider_unavailable",
            Self::IdempotencyInFlight => "idempotency_in_flight",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UploadMissing => "upload_missing",
            Self::UploadMismatch => "upload_mismatch",
            Self::UploadQuotaExceeded => "upload_quota_exceeded",
            Self::AddressBookFull => "address_book_full",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::BackendUnavailable => "backend_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::Timeout => "timeout",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest
            | Self::InvalidParameter
            | Self::DuplicateQueryParameter
            | Self::TooManyQueryParameters
            | Self::MalformedBody
            | Self::InvalidCursor => 400,
            Self::Unauthorized | Self::InvalidSignature => 401,
            Self::InvalidCredentials => 401,
            Self::RefreshTokenReused => 401,
            Self::AccountLocked => 423,
            Self::InvalidOtp => 400,
            Self::OtpAttemptsExceeded => 400,
            Self::InvalidIdToken => 401,
            Self::ProviderNotConfigured => 404,
            Self::IdentityProviderUnavailable => 503,
            Self::DeliveryFailed => 503,
            Self::Forbidden | Self::RecentSignInRequired => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict
            | Self::VersionConflict
            | Self::InsufficientStock
            | Self::IllegalTransition
            | Self::RefundExceedsCaptured
            | Self::TooManyUnpaidOrders
            | Self::PriceChanged
            | Self::UploadMissing
            | Self::UploadQuotaExceeded
            | Self::AddressBookFull
            | Self::IdempotencyInFlight => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed | Self::UploadMismatch | Self::IdempotencyKeyReused => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::PaymentProviderRejected => 502,
            Self::BackendUnavailable
            | Self::ShuttingDown
            | Self::Timeout
            | Self::PaymentProviderUnavailable => 503,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::InvalidParameter => "Invalid parameter",
            Self::DuplicateQueryParameter => "Duplicate query parameter",
            Self::TooManyQueryParameters => "Too many query parameters",
            Self::MalformedBody => "Malformed request body",
            Self::ValidationFailed => "Validation failed",
            Self::InvalidCursor => "Invalid cursor",
            Self::Unauthorized => "Unauthorized",
            Self::InvalidCredentials => "Invalid credentials",
            Self::RefreshTokenReused => "Refresh token reused",
            Self::AccountLocked => "Account locked",
            Self::InvalidOtp => "Invalid one-time password",
            Self::OtpAttemptsExceeded => "Too many one-time password attempts",
            Self::InvalidIdToken => "Invalid ID token",
            Self::ProviderNotConfigured => "Sign-in provider not configured",
            Self::IdentityProviderUnavailable => "The sign-in provider is unavailable",
            Self::DeliveryFailed => "Message delivery failed",
            Self::Forbidden => "Forbidden",
            Self::RecentSignInRequired => "Recent sign-in required",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::VersionConflict => "Version conflict",
            Self::PreconditionFailed => "Precondition failed",
            Self::InsufficientStock => "Insufficient stock",
            Self::IllegalTransition => "Illegal order transition",
            Self::RefundExceedsCaptured => "Refund exceeds what was captured",
            Self::TooManyUnpaidOrders => "Too many unpaid orders",
            Self::PriceChanged => "Price changed",
            Self::InvalidSignature => "Invalid signature",
            Self::PaymentProviderRejected => "The payment provider refused the request",
            Self::PaymentProviderUnavailable => "The payment provider is unavailable",
            Self::IdempotencyInFlight => "Request with this idempotency key in progress",
            Self::IdempotencyKeyReused => "Idempotency key reused",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::UploadMissing => "Upload missing",
            Self::UploadMismatch => "Upload does not match its declaration",
            Self::UploadQuotaExceeded => "Upload quota exceeded",
            Self::AddressBookFull => "Address book full",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal server error",
            Self::BackendUnavailable => "Service temporarily unavailable",
            Self::ShuttingDown => "This instance is shutting down",
            Self::Timeout => "Request timed out",
        }
    }

    /// Whether the same request may succeed if retried later unchanged.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::BackendUnavailable
                | Self::ShuttingDown
                | Self::Timeout
                | Self::VersionConflict
                | Self::AccountLocked
                | Self::DeliveryFailed
                | Self::PaymentProviderUnavailable
                | Self::IdentityProviderUnavailable
                | Self::IdempotencyInFlight
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error on its way to the client.
///
/// `detail` is written for the client; `source` (if any) is only logged.
#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds the client should wait before retrying (`Retry-After`).
    pub retry_after: Option<u64>,
    /// `RateLimit-*` headers for a 429: limit, remaining, reset seconds.
    pub rate_limit: Option<(u32, u32, u64)>,
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            rate_limit: None,
            source: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "1 field is invalid".to_owned(),
            n => format!("{n} fields are invalid"),
        };
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            errors: vec![FieldError::new(name, "invalid", message.clone())],
            ..Self::new(
                ErrorCode::InvalidParameter,
                format!("parameter `{name}`: {message}"),
            )
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} was not found"))
    }

    /// `If-Match` named a version of `what` that is no longer current: 412.
    pub fn precondition_failed(what: &str) -> Self {
        Self::new(
            ErrorCode::PreconditionFailed,
            format!("the {what} has changed since the ETag in If-Match; read it again and retry"),
        )
    }

    /// A backend (database, cache) is unreachable; the client may retry shortly.
    pub fn unavailable(backend: &str, source: anyhow::Error) -> Self {
        Self {
            retry_after: Some(1),
            source: Some(source),
            ..Self::new(
                ErrorCode::BackendUnavailable,
                format!("the {backend} backend is unavailable; retry shortly"),
            )
        }
    }

    pub fn internal(source: anyhow::Error) -> Self {
        Self {
            source: Some(source),
            ..Self::new(ErrorCode::Internal, "an unexpected error occurred")
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as _)
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Duplicate { field } => Self {
                errors: vec![FieldError::new(
                    field,
                    "taken",
                    format!("another record already has this {field}"),
                )],
                ..Self::new(ErrorCode::Conflict, format!("the {field} is already taken"))
            },
            StoreError::VersionConflict => Self::new(
                ErrorCode::VersionConflict,
                "the record was changed by another request; read it again and retry",
            ),
            StoreError::NotFound => Self::not_found("record"),
            StoreError::InsufficientStock { available } => Self::new(
                ErrorCode::InsufficientStock,
                format!("only {available} left in stock"),
            ),
            StoreError::Unavailable(source) => Self::unavailable("database", source),
            StoreError::Other(source) => Self::internal(source),
        }
    }
}

impl From<crate::kv::KvError> for AppError {
    fn from(e: crate::kv::KvError) -> Self {
        use crate::kv::KvError;
        match e {
            KvError::Unavailable(source) => Self::unavailable("key-value", source),
            KvError::Other(source) => Self::internal(source),
        }
    }
}

impl From<crate::domain::listing::QueryError> for AppError {
    fn from(e: crate::domain::listing::QueryError) -> Self {
        use crate::domain::listing::QueryError;
        match e {
            QueryError::Invalid(errors) => Self {
                errors,
                ..Self::new(
                    ErrorCode::InvalidParameter,
                    "some query parameters are invalid",
                )
            },
            QueryError::Cursor(why) => Self {
                errors: vec![FieldError::new("cursor", "invalid_cursor", why.clone())],
                ..Self::new(ErrorCode::InvalidCursor, why)
            },
        }
    }
}

impl From<crate::domain::order::status::IllegalTransition> for AppError {
    fn from(e: crate::domain::order::status::IllegalTransition) -> Self {
        Self::new(ErrorCode::IllegalTransition, e.to_string())
    }
}
