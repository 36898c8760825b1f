//! Paying for an order: starting a payment with Razorpay Checkout, verifying
//! what Checkout answered, and receiving Razorpay's webhooks (`PaymentsApi`).

use std::sync::Arc;

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{ok, OrderBodyActionErrors, OrderResponse, EXAMPLE_ORDER};
use crate::app::identity::Identity;
use crate::app::orders::payments::Checkout;
use crate::app::orders::webhooks::Received;
use crate::app::orders::Orders;
use crate::domain::ids::OrderId;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::{JsonBody, RawJson};
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::wire::Wire;

error_set!(
    /// Errors of starting a payment.
    PaymentErrors: ANY, PERMITTED, PAYMENT_PROVIDER; NotFound, IllegalTransition, Conflict
);
error_set!(
    /// Errors of the webhook receiver.
    WebhookErrors: ANY, PAYMENT_PROVIDER; MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidSignature, Conflict
);

/// Who is paying, for Checkout's form.
#[derive(Debug, Clone, Object)]
pub struct CheckoutPrefill {
    pub name: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Phone, E.164.
    pub contact: String,
}

/// Everything Razorpay Checkout needs: pass these as its options.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "Checkout")]
pub struct CheckoutBody {
    pub order_id: String,
    /// Checkout's `key`.
    pub key_id: String,
    /// Checkout's `order_id`.
    pub razorpay_order_id: String,
    /// Paise.
    pub amount: i64,
    pub currency: String,
    pub prefill: CheckoutPrefill,
}

impl From<Checkout> for CheckoutBody {
    fn from(c: Checkout) -> Self {
        Self {
            order_id: c.order.id.to_string(),
            key_id: c.key_id,
            razorpay_order_id: c.provider_order_id,
            amount: c.order.total.get(),
            currency: c.order.currency.as_str().into(),
            prefill: CheckoutPrefill {
                name: c.name,
                email: c.email,
                contact: c.contact,
            },
        }
    }
}

/// What Razorpay Checkout's handler received, passed on unchanged.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    pub razorpay_order_id: String,
    pub razorpay_payment_id: String,
    pub razorpay_signature: String,
}

/// The receiver's answer to Razorpay.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct WebhookAck {
    pub status: Wire<Received>,
}

#[derive(ApiResponse)]
pub enum CheckoutResponse {
    /// Open Razorpay Checkout with these.
    #[oai(status = 200)]
    Ok(Json<CheckoutBody>),
}

#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// Verified and stored (and applied, or seen before).
    #[oai(status = 200)]
    Ok(Json<WebhookAck>),
}

/// Payments, on the orders' tag: checkout, the verify call and the webhook receiver.
pub struct PaymentsApi {
    pub orders: Arc<Orders>,
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Orders")]
impl PaymentsApi {
    /// Start paying for an order
    ///
    /// Creates the Razorpay order (once; later calls reuse it) and answers the
    /// options for Razorpay Checkout. When Checkout succeeds, send its result
    /// to `verifyPayment`.
    #[oai(
        path = "/orders/:id/payments",
        method = "post",
        operation_id = "createPayment"
    )]
    async fn create_payment(
        &self,
        auth: Permit<needs::OrdersWrite>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        #[oai(name = "Idempotency-Key")] _idempotency_key: IdempotencyKeyHeader,
    ) -> Result<CheckoutResponse, Problems<PaymentErrors>> {
        let checkout = self.orders.checkout(&auth.0, id.0.checked("id")?).await?;
        Ok(CheckoutResponse::Ok(Json(checkout.into())))
    }

    /// Verify a payment
    ///
    /// Checks Checkout's signature (401 `invalid_signature` if it does not
    /// verify), asks Razorpay about the payment, captures it if it is only
    /// authorised, and answers the order as it is now: `paid` only when the
    /// payment is for exactly the order's `total` in its `currency`. Any other
    /// payment is never captured (a captured one leaves the order
    /// `payment_mismatch`) and is flagged for staff in `flags`. Webhooks for
    /// the same payment, before or after, change nothing more.
    #[oai(
        path = "/payments/verify",
        method = "post",
        operation_id = "verifyPayment"
    )]
    async fn verify_payment(
        &self,
        auth: Permit<needs::OrdersWrite>,
        body: JsonBody<VerifyInput>,
    ) -> Result<OrderResponse, Problems<OrderBodyActionErrors>> {
        let input = body.0;
        let order = self
            .orders
            .verify(
                &auth.0,
                &input.razorpay_order_id,
                &input.razorpay_payment_id,
                &input.razorpay_signature,
            )
            .await?;
        Ok(ok(&order))
    }

    /// Receive a Razorpay webhook
    ///
    /// For Razorpay, not for clients. Verifies `X-Razorpay-Signature` over the
    /// raw body before anything else (401, nothing stored, if it does not),
    /// stores every verified event once per `X-Razorpay-Event-Id` and applies
    /// it. One Bazaar cannot read is stored unapplied for staff and answered
    /// 200 `unparseable`. A redelivery answers 200 and changes nothing. 5xx
    /// means "deliver again".
    #[oai(
        path = "/webhooks/razorpay",
        method = "post",
        operation_id = "receiveRazorpayWebhook"
    )]
    async fn receive_webhook(
        &self,
        body: RawJson,
        #[oai(name = "X-Razorpay-Signature")] signature: Header<Option<String>>,
        #[oai(name = "X-Razorpay-Event-Id")] event_id: Header<Option<String>>,
    ) -> Result<WebhookResponse, Problems<WebhookErrors>> {
        let received = self
            .orders
            .receive_webhook(&body.0, signature.0.as_deref(), event_id.0.as_deref())
            .await?;
        Ok(WebhookResponse::Ok(Json(WebhookAck {
            status: Wire(received),
        })))
    }
}

impl Example for VerifyInput {
    fn example() -> Self {
        Self {
            razorpay_order_id: "order_IEIaMR65cu6nz3".into(),
            razorpay_payment_id: "pay_IH4NVgf4Dreq1l".into(),
            razorpay_signature: "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f"
                .into(),
        }
    }
}

impl Example for CheckoutBody {
    fn example() -> Self {
        Self {
            order_id: EXAMPLE_ORDER.into(),
            key_id: "rzp_test_1DP5mmOlF5G5ag".into(),
            razorpay_order_id: "order_IEIaMR65cu6nz3".into(),
            amount: 306_564,
            currency: "INR".into(),
            prefill: CheckoutPrefill {
                name: "Asha Rao".into(),
                email: Some("asha@example.in".into()),
                contact: "+919812345678".into(),
            },
        }
    }
}

impl Example for WebhookAck {
    fn example() -> Self {
        Self {
            status: Wire(Received::Applied),
        }
    }
}
