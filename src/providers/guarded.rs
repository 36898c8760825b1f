//! The third-party providers (Razorpay, MSG91, SendGrid, S3) behind their
//! circuit breakers. Startup (Razorpay, S3) and `Notifier::from_settings` (MSG91, SendGrid)
//! wrap each real client in [`Guarded`] with the
//! provider's own breaker; the fakes are not wrapped. While a provider is known
//! to be down its calls fail at once with the adapter's own
//! `AdapterError::Unavailable`, so callers map the refusal exactly as they map
//! an outage (the provider's problem code, with `Retry-After`).
//!
//! Only `Unavailable` (a network failure, a timeout, a 5xx after the adapter's
//! retries) counts against a provider: a 429, refused credentials or a
//! rejected request mean it answered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::{FlowSms, OtpMessage, OtpSender, SmsSender};
use bazaar_adapters::msg91_whatsapp::{WhatsAppSender, WhatsAppTemplate};
use bazaar_adapters::razorpay::{
    CreateOrder, Payment, PaymentGateway, RazorpayOrder, Refund, RefundRequest,
};
use bazaar_adapters::s3::{ObjectInfo, ObjectStore, PresignedRequest};
use bazaar_adapters::sendgrid::{Email, Mailer};

use crate::breaker::Breaker;

/// A provider client whose network calls go through `breaker`.
pub struct Guarded<T: ?Sized> {
    inner: Arc<T>,
    breaker: Arc<Breaker>,
}

impl<T: ?Sized> Guarded<T> {
    pub fn new(inner: Arc<T>, breaker: Arc<Breaker>) -> Self {
        Self { inner, breaker }
    }

    async fn call<R>(
        &self,
        call: impl std::future::Future<Output = Result<R, AdapterError>>,
    ) -> Result<R, AdapterError> {
        let provider = self.breaker.name();
        self.breaker
            .call(
                call,
                |e| matches!(e, AdapterError::Unavailable { .. }),
                |refused| AdapterError::Unavailable {
                    provider,
                    message: refused.to_string(),
                },
            )
            .await
    }
}

#[async_trait]
impl<T: PaymentGateway + ?Sized> PaymentGateway for Guarded<T> {
    async fn create_order(&self, order: &CreateOrder) -> Result<RazorpayOrder, AdapterError> {
        self.call(self.inner.create_order(order)).await
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment, AdapterError> {
        self.call(self.inner.fetch_payment(payment_id)).await
    }

    async fn capture_payment(
        &self,
        payment_id: &str,
        amount_paise: u64,
        currency: &str,
    ) -> Result<Payment, AdapterError> {
        self.call(
            self.inner
                .capture_payment(payment_id, amount_paise, currency),
        )
        .await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, AdapterError> {
        self.call(self.inner.refund(request)).await
    }

    async fn fetch_refund(
        &self,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Refund, AdapterError> {
        self.call(self.inner.fetch_refund(payment_id, refund_id))
            .await
    }

    async fn order_payments(&self, order_id: &str) -> Result<Vec<Payment>, AdapterError> {
        self.call(self.inner.order_payments(order_id)).await
    }
}

#[async_trait]
impl<T: OtpSender + ?Sized> OtpSender for Guarded<T> {
    async fn send_otp(&self, message: &OtpMessage) -> Result<String, AdapterError> {
        self.call(self.inner.send_otp(message)).await
    }

    async fn retry_by_voice(&self, phone: &str) -> Result<(), AdapterError> {
        self.call(self.inner.retry_by_voice(phone)).await
    }
}

#[async_trait]
impl<T: SmsSender + ?Sized> SmsSender for Guarded<T> {
    async fn send_flow(&self, sms: &FlowSms) -> Result<String, AdapterError> {
        self.call(self.inner.send_flow(sms)).await
    }
}

#[async_trait]
impl<T: WhatsAppSender + ?Sized> WhatsAppSender for Guarded<T> {
    async fn send_template(&self, message: &WhatsAppTemplate) -> Result<String, AdapterError> {
        self.call(self.inner.send_template(message)).await
    }
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Guarded<T> {
    async fn send(&self, email: &Email) -> Result<String, AdapterError> {
        self.call(self.inner.send(email)).await
    }
}

#[async_trait]
impl<T: ObjectStore + ?Sized> ObjectStore for Guarded<T> {
    /// Signing is local: no breaker.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        self.inner.presign_put(key, content_type, expires).await
    }

    /// Signing is local: no breaker.
    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        self.inner.presign_get(key, expires).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, AdapterError> {
        self.call(self.inner.head(key)).await
    }

    async fn delete(&self, key: &str) -> Result<(), AdapterError> {
        self.call(self.inner.delete(key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerState, Breakers};
    use crate::config::BreakerSettings;
    use crate::domain::time::ManualClock;
    use bazaar_adapters::sendgrid::FakeMailer;

    fn email() -> Email {
        Email {
            to_email: "a@example.in".into(),
            to_name: None,
            template_id: "d-1".into(),
            data: serde_json::json!({}),
        }
    }

    #[tokio::test]
    async fn an_open_provider_breaker_answers_unavailable_without_calling_the_provider() {
        let breakers = Breakers::new(
            BreakerSettings {
                failures: 2,
                open_for: Duration::from_secs(1),
            },
            ManualClock::new().shared(),
        );
        let fake = Arc::new(FakeMailer::new());
        let mailer = Guarded::new(fake.clone(), breakers.breaker("sendgrid"));
        for _ in 0..2 {
            fake.fail_next(AdapterError::Unavailable {
                provider: "sendgrid",
                message: "503".into(),
            });
            assert!(mailer.send(&email()).await.is_err());
        }
        assert_eq!(breakers.breaker("sendgrid").state(), BreakerState::Open);

        let refused = mailer.send(&email()).await.unwrap_err();

        assert!(
            matches!(
                refused,
                AdapterError::Unavailable {
                    provider: "sendgrid",
                    ..
                }
            ),
            "{refused:?}"
        );
        assert!(fake.sent().is_empty(), "the provider was not asked");
    }

    #[tokio::test]
    async fn a_rejected_request_does_not_count_against_the_provider() {
        let breakers = Breakers::new(
            BreakerSettings {
                failures: 1,
                open_for: Duration::from_secs(1),
            },
            ManualClock::new().shared(),
        );
        let fake = Arc::new(FakeMailer::new());
        let mailer = Guarded::new(fake.clone(), breakers.breaker("sendgrid"));
        fake.fail_next(AdapterError::Rejected {
            provider: "sendgrid",
            status: 400,
            message: "bad template".into(),
        });
        assert!(mailer.send(&email()).await.is_err());
        assert_eq!(breakers.breaker("sendgrid").state(), BreakerState::Closed);
        mailer.send(&email()).await.unwrap();
        assert_eq!(fake.sent().len(), 1);
    }
}
