//! Third-party failures mapped per port. Every provider adapter fails with the same
//! `AdapterError`, but what a failure means to a client depends on which port it came
//! through: a payment provider's is `payment_provider_*`, the object store's is a
//! backend outage (or our configuration's fault), a message provider's is
//! `delivery_failed`. There is deliberately no `From<AdapterError>` for `AppError`:
//! each call site names its port, so a new provider cannot silently become a
//! "payment provider" error.

use bazaar_adapters::error::AdapterError;

use crate::app::errors::{AppError, ErrorCode};

/// Seconds to wait before retrying a transient failure (the provider was unreachable,
/// slow, failing or throttling us), or `None` when it refused what we sent.
fn transient_retry(e: &AdapterError, unavailable: u64, rate_limited: u64) -> Option<u64> {
    match e {
        AdapterError::Unavailable { .. } => Some(unavailable),
        AdapterError::RateLimited { retry_after, .. } => {
            Some(retry_after.map_or(rate_limited, |d| d.as_secs().max(1)))
        }
        AdapterError::Unauthorized { .. } | AdapterError::Rejected { .. } => None,
    }
}

impl AppError {
    /// The payment provider (Razorpay) failed: 503 `payment_provider_unavailable` with
    /// `Retry-After` when it was the network or its load; 502 `payment_provider_rejected`
    /// when it refused what we sent (our bug or our account's).
    pub fn payment(e: AdapterError) -> Self {
        let error = match transient_retry(&e, 2, 5) {
            Some(seconds) => Self::new(
                ErrorCode::PaymentProviderUnavailable,
                "the payment provider could not be reached; retry shortly",
            )
            .with_retry_after(seconds),
            None => Self::new(
                ErrorCode::PaymentProviderRejected,
                "the payment provider refused the request",
            ),
        };
        Self {
            source: Some(anyhow::Error::new(e)),
            ..error
        }
    }

    /// The object store (S3, or the development store) failed: transient failures are
    /// 503 `backend_unavailable` with `Retry-After`; a refused key or credential is our
    /// configuration's fault, so 500 `internal` (logged with its cause).
    pub fn object_store(e: AdapterError) -> Self {
        match transient_retry(&e, 1, 1) {
            Some(_) => Self::unavailable("object store", e.into()),
            None => Self::internal(anyhow::Error::new(e).context("object store call failed")),
        }
    }

    /// A message provider (MSG91 SMS and WhatsApp, SendGrid email) failed: 503
    /// `delivery_failed`, with `Retry-After` when it is down or throttling us. A refusal
    /// keeps its cause, so a caller that must not tell numbers apart can recognise it.
    pub fn delivery(e: AdapterError) -> Self {
        // Five seconds whatever the provider asked: a delivery is retried by the caller,
        // not scheduled to the provider's window.
        let retry = transient_retry(&e, 5, 5).map(|_| 5);
        let error = Self {
            source: Some(anyhow::Error::new(e)),
            ..Self::new(
                ErrorCode::DeliveryFailed,
                "the message could not be sent; retry shortly",
            )
        };
        match retry {
            Some(seconds) => error.with_retry_after(seconds),
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn unavailable() -> AdapterError {
        AdapterError::Unavailable {
            provider: "test",
            message: "connection refused".into(),
        }
    }

    fn rate_limited(after: Option<u64>) -> AdapterError {
        AdapterError::RateLimited {
            provider: "test",
            retry_after: after.map(Duration::from_secs),
        }
    }

    fn rejected() -> AdapterError {
        AdapterError::Rejected {
            provider: "test",
            status: 400,
            message: "bad request".into(),
        }
    }

    fn unauthorized() -> AdapterError {
        AdapterError::Unauthorized { provider: "test" }
    }

    #[test]
    fn a_payment_outage_is_retryable_and_a_refusal_is_a_502() {
        let down = AppError::payment(unavailable());
        let throttled = AppError::payment(rate_limited(Some(30)));
        let throttled_blind = AppError::payment(rate_limited(None));
        let refused = AppError::payment(rejected());
        let bad_key = AppError::payment(unauthorized());

        assert_eq!(down.code, ErrorCode::PaymentProviderUnavailable);
        assert_eq!(down.retry_after, Some(2));
        assert_eq!(throttled.retry_after, Some(30));
        assert_eq!(throttled_blind.retry_after, Some(5));
        assert_eq!(refused.code, ErrorCode::PaymentProviderRejected);
        assert_eq!(refused.status(), 502);
        assert_eq!(refused.retry_after, None);
        assert_eq!(bad_key.code, ErrorCode::PaymentProviderRejected);
        assert!(down.source.is_some() && refused.source.is_some());
    }

    #[test]
    fn an_object_store_outage_is_a_backend_outage_and_a_refusal_is_internal() {
        let down = AppError::object_store(unavailable());
        let throttled = AppError::object_store(rate_limited(Some(30)));
        let refused = AppError::object_store(rejected());
        let bad_key = AppError::object_store(unauthorized());

        assert_eq!(down.code, ErrorCode::BackendUnavailable);
        assert_eq!(down.retry_after, Some(1));
        assert_eq!(throttled.code, ErrorCode::BackendUnavailable);
        assert_eq!(refused.code, ErrorCode::Internal);
        assert_eq!(bad_key.code, ErrorCode::Internal);
        assert!(refused.source.is_some());
        for e in [&down, &throttled, &refused, &bad_key] {
            assert_ne!(e.code, ErrorCode::PaymentProviderUnavailable);
            assert_ne!(e.code, ErrorCode::PaymentProviderRejected);
        }
    }

    #[test]
    fn a_delivery_failure_is_delivery_failed_retryable_only_when_transient() {
        let down = AppError::delivery(unavailable());
        let throttled = AppError::delivery(rate_limited(Some(30)));
        let refused = AppError::delivery(rejected());

        assert_eq!(down.code, ErrorCode::DeliveryFailed);
        assert_eq!(down.retry_after, Some(5));
        assert_eq!(throttled.retry_after, Some(5));
        assert_eq!(refused.code, ErrorCode::DeliveryFailed);
        assert_eq!(refused.retry_after, None);
        let cause = refused
            .source
            .as_ref()
            .unwrap()
            .downcast_ref::<AdapterError>();
        assert!(matches!(cause, Some(AdapterError::Rejected { .. })));
    }
}
