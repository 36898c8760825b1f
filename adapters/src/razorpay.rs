//! Razorpay: orders, payments and refunds through the REST API v1, and the two HMAC
//! signatures that prove a checkout callback or a webhook came from Razorpay.
//!
//! Bazaar creates a Razorpay order for each of its own orders, lets Razorpay Checkout take the
//! money in the browser, and learns the outcome twice: from the checkout callback (signed with
//! the key secret) and from webhooks (signed with a separate webhook secret, delivered at least
//! once and in any order). Both are only trusted after [`verify_checkout_signature`] or
//! [`verify_webhook_signature`]; [`PaymentGateway::order_payments`] reconciles whatever a lost
//! webhook missed.
//!
//! This module owns everything Razorpay-specific: amounts as integer paise, Basic auth, the
//! error body `{"error":{"code","description","field",…}}`, the refund idempotency header,
//! statuses Razorpay may add to later (kept as `Other`), and `notes`, which Razorpay sends as
//! `[]` rather than `{}` when empty.
//!
//! [`PaymentGateway`] is the port; [`RazorpayClient`] talks to Razorpay; [`FakeRazorpay`]
//! keeps orders, payments and refunds in memory for tests and local runs, simulates customers
//! paying, and emits correctly signed webhook deliveries. [`read_webhook`],
//! [`Payment::reports`] and [`Refund::report`] say what Razorpay reported as
//! [`PaymentReport`]s, in no provider's words.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64_STANDARD;
use base64::Engine as _;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

mod events;
mod fake;
mod signature;
mod webhook;

pub use events::{
    event_name, read_webhook, PaymentReport, RefundOf, RefundState, UnreadableWebhook,
    WebhookReport,
};
pub use fake::{FakeRazorpay, RazorpayCall, SignedWebhook, FAKE_ACCOUNT_ID};
pub use signature::{
    checkout_signature, verify_checkout_signature, verify_webhook_signature, webhook_signature,
};
pub use webhook::{parse_webhook, Entity, MalformedWebhook, WebhookEvent, WebhookPayload};

const PROVIDER: &str = "razorpay";

/// The header carrying a webhook's signature: hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-Razorpay-Signature";

/// The header carrying a webhook's event id, unique per event and the same on every
/// re-delivery: the key to deduplicate on.
pub const EVENT_ID_HEADER: &str = "X-Razorpay-Event-Id";

/// The header that makes a refund request idempotent.
const REFUND_IDEMPOTENCY_HEADER: &str = "X-Refund-Idempotency";

/// Razorpay's smallest order, ₹1.
pub const MIN_ORDER_PAISE: u64 = 100;
const MAX_RECEIPT_CHARS: usize = 40;
const MAX_NOTES: usize = 15;
const MAX_NOTE_CHARS: usize = 256;
const MIN_IDEMPOTENCY_KEY_CHARS: usize = 10;

// ---------------------------------------------------------------------------------------------
// Requests and entities
// ---------------------------------------------------------------------------------------------

/// Free-form key-value pairs Razorpay stores with an entity.
pub type Notes = BTreeMap<String, String>;

/// An order to create: Razorpay's handle on one Bazaar order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    /// The amount to collect in paise; at least [`MIN_ORDER_PAISE`].
    pub amount_paise: u64,
    /// ISO 4217 code, `"INR"`.
    pub currency: String,
    /// Bazaar's own reference, at most 40 characters; Bazaar's order id.
    pub receipt: Option<String>,
    /// At most 15 pairs, each key and value at most 256 characters.
    pub notes: Notes,
}

/// A refund to request; sending the same request with the same key again returns the same
/// refund instead of refunding twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The captured payment to refund (`pay_…`).
    pub payment_id: String,
    /// How much to refund in paise; `None` refunds whatever has not been refunded yet.
    pub amount_paise: Option<u64>,
    /// Sent as `X-Refund-Idempotency`: at least 10 characters of `[A-Za-z0-9_-]`, one per
    /// intended refund. Reusing it with a different request is rejected.
    pub idempotency_key: String,
    /// Stored with the refund; the same limits as an order's.
    pub notes: Notes,
    /// Bazaar's own reference for the refund, at most 40 characters.
    pub receipt: Option<String>,
    /// `Normal` or `Optimum` (instant when the bank allows it); `None` leaves it to Razorpay
    /// (normal).
    pub speed: Option<RefundSpeed>,
}

/// Generates a string enum for a Razorpay field whose values Razorpay may add to: a value this
/// adapter does not know parses as `Other` instead of failing the whole entity.
macro_rules! razorpay_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
            /// A value this adapter does not know, as Razorpay sent it.
            Other(String),
        }

        impl $name {
            /// The value as Razorpay writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self::from(String::deserialize(deserializer)?.as_str()))
            }
        }
    };
}

razorpay_enum! {
    /// Where an order stands. It stays `Paid` after refunds.
    pub enum OrderStatus {
        /// No payment attempted yet.
        Created => "created",
        /// At least one payment was attempted; none captured.
        Attempted => "attempted",
        /// A payment was captured for the full amount.
        Paid => "paid",
    }
}

razorpay_enum! {
    /// Where a payment stands.
    pub enum PaymentStatus {
        /// Created, not yet authorised by the customer's bank.
        Created => "created",
        /// The bank authorised it; Razorpay refunds it automatically unless it is captured.
        Authorized => "authorized",
        /// The money is ours (less refunds).
        Captured => "captured",
        /// Fully refunded.
        Refunded => "refunded",
        /// The attempt failed; the customer may try again on the same order.
        Failed => "failed",
    }
}

razorpay_enum! {
    /// How much of a payment has been refunded (`null` on the payment: nothing).
    pub enum PaymentRefundStatus {
        /// Some of it.
        Partial => "partial",
        /// All of it.
        Full => "full",
    }
}

razorpay_enum! {
    /// Where a refund stands.
    pub enum RefundStatus {
        /// Accepted, on its way to the bank.
        Pending => "pending",
        /// Handed to the bank; `acquirer_data.arn` is the customer's reference.
        Processed => "processed",
        /// The bank refused it.
        Failed => "failed",
    }
}

razorpay_enum! {
    /// How fast a refund reaches the customer.
    pub enum RefundSpeed {
        /// Five to seven working days.
        Normal => "normal",
        /// Instant where the bank supports it, otherwise normal (a request value only).
        Optimum => "optimum",
        /// How an `optimum` refund was actually processed, when instant.
        Instant => "instant",
    }
}

/// A Razorpay order (`order_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RazorpayOrder {
    /// `order_…`.
    pub id: String,
    /// `"order"`.
    #[serde(default)]
    pub entity: String,
    /// The amount to collect in paise.
    pub amount: u64,
    /// Paise captured so far.
    #[serde(default)]
    pub amount_paid: u64,
    /// Paise still to collect.
    #[serde(default)]
    pub amount_due: u64,
    /// `"INR"`.
    pub currency: String,
    /// Bazaar's reference, as sent.
    pub receipt: Option<String>,
    /// An offer applied at checkout, if any.
    pub offer_id: Option<String>,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Payment attempts made on it.
    #[serde(default)]
    pub attempts: u32,
    /// As sent; empty when Razorpay says `[]` or `null`.
    #[serde(default, with = "notes")]
    pub notes: Notes,
    /// Unix seconds.
    pub created_at: i64,
}

/// A payment (`pay_…`), as the API and webhooks describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// `pay_…`.
    pub id: String,
    /// `"payment"`.
    #[serde(default)]
    pub entity: String,
    /// Paise.
    pub amount: u64,
    /// `"INR"`.
    pub currency: String,
    /// Where the payment stands.
    pub status: PaymentStatus,
    /// The order it pays, when it was made through one.
    pub order_id: Option<String>,
    /// `card`, `upi`, `netbanking`, `wallet`, `emi`…
    #[serde(default)]
    pub method: String,
    /// Whether it has been captured.
    #[serde(default)]
    pub captured: bool,
    /// Paise refunded so far.
    #[serde(default)]
    pub amount_refunded: u64,
    /// How much has been refunded; `None` for nothing.
    pub refund_status: Option<PaymentRefundStatus>,
    /// The customer's email, as given at checkout. Personal data: never log it.
    pub email: Option<String>,
    /// The customer's phone, as given at checkout. Personal data: never log it.
    pub contact: Option<String>,
    /// As sent; empty when Razorpay says `[]` or `null`.
    #[serde(default, with = "notes")]
    pub notes: Notes,
    /// Razorpay's fee in paise, tax included; set once captured.
    pub fee: Option<u64>,
    /// The tax part of `fee` in paise.
    pub tax: Option<u64>,
    /// Why a failed payment failed, e.g. `BAD_REQUEST_ERROR`.
    pub error_code: Option<String>,
    /// A description of the failure that can be shown to the customer.
    pub error_description: Option<String>,
    /// Who failed it: `customer`, `bank`, `business`…
    pub error_source: Option<String>,
    /// The stage it failed at, e.g. `payment_authentication`.
    pub error_step: Option<String>,
    /// A machine-readable reason, e.g. `payment_cancelled`.
    pub error_reason: Option<String>,
    /// Method-specific references (`rrn`, `upi_transaction_id`, `auth_code`…), kept verbatim.
    #[serde(default)]
    pub acquirer_data: serde_json::Value,
    /// Unix seconds.
    pub created_at: i64,
}

/// A refund (`rfnd_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// `rfnd_…`.
    pub id: String,
    /// `"refund"`.
    #[serde(default)]
    pub entity: String,
    /// Paise.
    pub amount: u64,
    /// `"INR"`.
    pub currency: String,
    /// The refunded payment.
    pub payment_id: String,
    /// As sent; empty when Razorpay says `[]` or `null`.
    #[serde(default, with = "notes")]
    pub notes: Notes,
    /// Bazaar's reference, as sent.
    pub receipt: Option<String>,
    /// Bank references, kept verbatim; see [`Refund::arn`].
    #[serde(default)]
    pub acquirer_data: serde_json::Value,
    /// Unix seconds.
    pub created_at: i64,
    /// Set for refunds made in a batch upload.
    pub batch_id: Option<String>,
    /// Where the refund stands.
    pub status: RefundStatus,
    /// The speed asked for.
    pub speed_requested: Option<RefundSpeed>,
    /// The speed it was processed at, once processed.
    pub speed_processed: Option<RefundSpeed>,
}

impl Refund {
    /// The Acquirer Reference Number the customer's bank knows the refund by, once processed.
    pub fn arn(&self) -> Option<&str> {
        self.acquirer_data.get("arn")?.as_str()
    }
}

/// `notes` as Razorpay writes it: an object, but `[]` when empty (and sometimes `null`).
mod notes {
    use serde::de::Error as _;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    use super::Notes;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Notes, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(Notes::new()),
            Value::Object(pairs) => Ok(pairs
                .into_iter()
                .map(|(key, value)| (key, text(value)))
                .collect()),
            // PHP's empty array; a non-empty list would be PHP's list, keyed by position.
            Value::Array(items) => Ok(items
                .into_iter()
                .enumerate()
                .map(|(index, value)| (index.to_string(), text(value)))
                .collect()),
            other => Err(D::Error::custom(format!(
                "notes must be an object or an array, not {other}"
            ))),
        }
    }

    /// Writes empty notes as `[]`, as Razorpay does, so the fake's webhooks carry the trap.
    pub(super) fn serialize<S: Serializer>(
        notes: &Notes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if notes.is_empty() {
            serializer.serialize_seq(Some(0))?.end()
        } else {
            notes.serialize(serializer)
        }
    }

    fn text(value: Value) -> String {
        match value {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/// Takes payments for Bazaar's orders and gives money back.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates the order Razorpay Checkout will collect `order.amount_paise` for.
    async fn create_order(&self, order: &CreateOrder) -> Result<RazorpayOrder, AdapterError>;

    /// The payment as Razorpay sees it now.
    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment, AdapterError>;

    /// Captures an authorised payment; `amount_paise` must be the authorised amount.
    async fn capture_payment(
        &self,
        payment_id: &str,
        amount_paise: u64,
        currency: &str,
    ) -> Result<Payment, AdapterError>;

    /// Refunds a captured payment, in full or in part; safe to retry with the same request.
    async fn refund(&self, request: &RefundRequest) -> Result<Refund, AdapterError>;

    /// The refund as Razorpay sees it now.
    async fn fetch_refund(&self, payment_id: &str, refund_id: &str)
        -> Result<Refund, AdapterError>;

    /// Every payment attempted on an order, for reconciling what webhooks missed.
    async fn order_payments(&self, order_id: &str) -> Result<Vec<Payment>, AdapterError>;
}

// ---------------------------------------------------------------------------------------------
// The real client
// ---------------------------------------------------------------------------------------------

/// What [`RazorpayClient`] needs from configuration.
#[derive(Debug, Clone)]
pub struct RazorpaySettings {
    /// The API root with its version: `https://api.razorpay.com/v1`.
    pub base_url: String,
    /// The key id (`rzp_live_…` or `rzp_test_…`), the Basic auth user name. Not secret:
    /// Checkout shows it to browsers.
    pub key_id: String,
    /// The key secret, the Basic auth password; it also signs checkout callbacks.
    pub key_secret: SecretString,
    /// Upper bound on one HTTP attempt, connection and response included.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
}

/// Talks to Razorpay's REST API v1.
///
/// Every call goes through [`RetryPolicy`], so 5xx, 429 and timeouts are retried, POSTs
/// included. Retrying a refund is safe: `X-Refund-Idempotency` makes Razorpay return the refund
/// it already made. Order creation has no such header, so an order with a `receipt` is looked
/// up by it (`GET /orders?receipt=`) before every attempt to POST it: when Razorpay created
/// the order but its answer was lost, the retry finds and reuses that order instead of
/// creating a second one for the same Bazaar order.
pub struct RazorpayClient {
    http: reqwest::Client,
    base_url: String,
    key_id: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
    timeout: Duration,
}

impl RazorpayClient {
    /// Builds the client, failing on a base URL that is not http(s) (`Unavailable`) or a key id
    /// or secret that is empty or cannot be sent as a header (`Unauthorized`).
    pub fn new(settings: RazorpaySettings) -> Result<Self, AdapterError> {
        let base_url = http::base_url(PROVIDER, &settings.base_url)?;
        let secret = settings.key_secret.expose_secret();
        // Checked before encoding, which would make empty credentials look present; a `:` in
        // the key id would move part of it into the password.
        if settings.key_id.trim().is_empty() || settings.key_id.contains(':') || secret.is_empty() {
            return Err(AdapterError::Unauthorized { provider: PROVIDER });
        }
        let credentials = BASE64_STANDARD.encode(format!("{}:{secret}", settings.key_id));
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            base_url,
            key_id: settings.key_id,
            authorization: http::secret_header(PROVIDER, &format!("Basic {credentials}"))?,
            retry: settings.retry,
            timeout: settings.timeout,
        })
    }

    /// The key id, which Checkout needs in the browser.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Sends the request `build` makes, with our credentials and retries, and reads the answer.
    async fn call<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, AdapterError> {
        self.call_under(&self.retry, build).await
    }

    /// Like [`Self::call`] but with a single attempt, for a step of a call that
    /// [`RetryPolicy::run`] retries as a whole.
    async fn call_once<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, AdapterError> {
        self.call_under(&self.retry.single_attempt(), build).await
    }

    async fn call_under<T: DeserializeOwned>(
        &self,
        policy: &RetryPolicy,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, AdapterError> {
        let response = policy
            .send(PROVIDER, || {
                build().header(AUTHORIZATION, self.authorization.clone())
            })
            .await?;
        read_reply(response).await
    }

    /// The order Razorpay already has under `wanted.receipt`, if any: the oldest, which must be
    /// for the same amount and currency (a different one means the receipt was used for
    /// something else, and paying it would take the wrong amount).
    async fn order_with_receipt(
        &self,
        receipt: &str,
        wanted: &CreateOrder,
    ) -> Result<Option<RazorpayOrder>, AdapterError> {
        let url = self.url("/orders");
        let found: Collection<RazorpayOrder> = self
            .call_once(|| self.http.get(&url).query(&[("receipt", receipt)]))
            .await?;
        // The filter is Razorpay's; checked again so an order under another receipt is never
        // reused.
        let existing = found
            .items
            .into_iter()
            .filter(|order| order.receipt.as_deref() == Some(receipt))
            .min_by_key(|order| order.created_at);
        match existing {
            Some(order) if !same_order(&order, wanted) => Err(receipt_conflict(&order)),
            existing => Ok(existing),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Whether `existing` collects what `wanted` asks for.
fn same_order(existing: &RazorpayOrder, wanted: &CreateOrder) -> bool {
    existing.amount == wanted.amount_paise && existing.currency == wanted.currency
}

/// A 409: the receipt already names an order for another amount or currency.
fn receipt_conflict(existing: &RazorpayOrder) -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 409,
        message: format!(
            "receipt: Razorpay already has an order with this receipt for {} {} (paise)",
            existing.amount, existing.currency
        ),
    }
}

impl std::fmt::Debug for RazorpayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpayClient")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("key_secret", &"[REDACTED]")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct CreateOrderBody<'a> {
    amount: u64,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<&'a str>,
    #[serde(skip_serializing_if = "Notes::is_empty")]
    notes: &'a Notes,
}

#[derive(Serialize)]
struct CaptureBody<'a> {
    amount: u64,
    currency: &'a str,
}

#[derive(Serialize)]
struct RefundBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed: Option<&'a str>,
    #[serde(skip_serializing_if = "Notes::is_empty")]
    notes: &'a Notes,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<&'a str>,
}

/// A list answer: `{"entity":"collection","count":…,"items":[…]}`.
#[derive(Deserialize)]
struct Collection<T> {
    items: Vec<T>,
}

#[async_trait::async_trait]
impl PaymentGateway for RazorpayClient {
    #[tracing::instrument(
        name = "razorpay.create_order",
        skip_all,
        fields(
            amount = order.amount_paise,
            receipt = order.receipt.as_deref(),
            order_id = tracing::field::Empty,
        )
    )]
    async fn create_order(&self, order: &CreateOrder) -> Result<RazorpayOrder, AdapterError> {
        check_order(order)?;
        let url = self.url("/orders");
        let body = CreateOrderBody {
            amount: order.amount_paise,
            currency: &order.currency,
            receipt: order.receipt.as_deref(),
            notes: &order.notes,
        };
        let Some(receipt) = order.receipt.as_deref() else {
            // Nothing to look the order up by: a retry after a lost answer may create another.
            let created: RazorpayOrder = self.call(|| self.http.post(&url).json(&body)).await?;
            tracing::Span::current().record("order_id", created.id.as_str());
            tracing::info!("Razorpay created the order");
            return Ok(created);
        };
        // Looked up before every attempt, not only the first: an attempt that timed out or got
        // a 5xx may still have created the order. A failed look-up is retried the same way.
        let (this, url, body) = (self, &url, &body);
        let (found, reused) = self
            .retry
            .run(PROVIDER, move || async move {
                // The look-up and the create together get one provider timeout, as one
                // request does elsewhere, so three attempts still fit the request timeout.
                // A create cut short is found by the next attempt's look-up.
                let attempt = async {
                    if let Some(existing) = this.order_with_receipt(receipt, order).await? {
                        return Ok((existing, true));
                    }
                    let created: RazorpayOrder =
                        this.call_once(|| this.http.post(url).json(body)).await?;
                    Ok((created, false))
                };
                tokio::time::timeout(this.timeout, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        Err(AdapterError::Unavailable {
                            provider: PROVIDER,
                            message: format!("no answer within {:?}", this.timeout),
                        })
                    })
            })
            .await?;
        tracing::Span::current().record("order_id", found.id.as_str());
        if reused {
            tracing::info!("Razorpay already had the order for this receipt; reusing it");
        } else {
            tracing::info!("Razorpay created the order");
        }
        Ok(found)
    }

    #[tracing::instrument(name = "razorpay.fetch_payment", skip_all, fields(payment_id = %payment_id))]
    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment, AdapterError> {
        check_id("payment_id", payment_id)?;
        let url = self.url(&format!("/payments/{payment_id}"));
        self.call(|| self.http.get(&url)).await
    }

    #[tracing::instrument(
        name = "razorpay.capture_payment",
        skip_all,
        fields(payment_id = %payment_id, amount = amount_paise)
    )]
    async fn capture_payment(
        &self,
        payment_id: &str,
        amount_paise: u64,
        currency: &str,
    ) -> Result<Payment, AdapterError> {
        check_id("payment_id", payment_id)?;
        check_currency(currency)?;
        let url = self.url(&format!("/payments/{payment_id}/capture"));
        let body = CaptureBody {
            amount: amount_paise,
            currency,
        };
        let payment: Payment = self.call(|| self.http.post(&url).json(&body)).await?;
        tracing::info!("Razorpay captured the payment");
        Ok(payment)
    }

    #[tracing::instrument(
        name = "razorpay.refund",
        skip_all,
        fields(
            payment_id = %request.payment_id,
            amount = request.amount_paise,
            refund_id = tracing::field::Empty,
        )
    )]
    async fn refund(&self, request: &RefundRequest) -> Result<Refund, AdapterError> {
        check_refund(request)?;
        let url = self.url(&format!("/payments/{}/refund", request.payment_id));
        let body = RefundBody {
            amount: request.amount_paise,
            speed: request.speed.as_ref().map(RefundSpeed::as_str),
            notes: &request.notes,
            receipt: request.receipt.as_deref(),
        };
        let refund: Refund = self
            .call(|| {
                self.http
                    .post(&url)
                    .header(REFUND_IDEMPOTENCY_HEADER, &request.idempotency_key)
                    .json(&body)
            })
            .await?;
        tracing::Span::current().record("refund_id", refund.id.as_str());
        tracing::info!("Razorpay accepted the refund");
        Ok(refund)
    }

    #[tracing::instrument(
        name = "razorpay.fetch_refund",
        skip_all,
        fields(payment_id = %payment_id, refund_id = %refund_id)
    )]
    async fn fetch_refund(
        &self,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Refund, AdapterError> {
        check_id("payment_id", payment_id)?;
        check_id("refund_id", refund_id)?;
        let url = self.url(&format!("/payments/{payment_id}/refunds/{refund_id}"));
        self.call(|| self.http.get(&url)).await
    }

    #[tracing::instrument(name = "razorpay.order_payments", skip_all, fields(order_id = %order_id))]
    async fn order_payments(&self, order_id: &str) -> Result<Vec<Payment>, AdapterError> {
        check_id("order_id", order_id)?;
        let url = self.url(&format!("/orders/{order_id}/payments"));
        let payments: Collection<Payment> = self.call(|| self.http.get(&url)).await?;
        Ok(payments.items)
    }
}

/// The answer's body as `T` when Razorpay succeeded; otherwise the matching error.
async fn read_reply<T: DeserializeOwned>(response: Response) -> Result<T, AdapterError> {
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|error| AdapterError::Unavailable {
            provider: PROVIDER,
            message: format!("could not read the response: {}", error.without_url()),
        })?;
    if status.is_success() {
        // The serde error, not the body: payment bodies hold the customer's email and phone.
        return serde_json::from_str(&body).map_err(|error| AdapterError::Unavailable {
            provider: PROVIDER,
            message: format!("unexpected response to HTTP {status}: {error}"),
        });
    }
    let message = error_message(status, &body);
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        tracing::warn!(%status, reason = %message, "Razorpay refused our credentials");
        return Err(AdapterError::Unauthorized { provider: PROVIDER });
    }
    Err(AdapterError::Rejected {
        provider: PROVIDER,
        status: status.as_u16(),
        message,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    description: Option<String>,
    field: Option<String>,
}

/// Razorpay's explanation as `field: description` (or the description alone, or the code), or
/// the status and the start of the body when it is not Razorpay's error shape.
fn error_message(status: StatusCode, body: &str) -> String {
    if let Ok(ErrorBody { error }) = serde_json::from_str::<ErrorBody>(body) {
        let description = error.description.filter(|text| !text.is_empty());
        let field = error.field.filter(|field| !field.is_empty());
        match (field, description.or(error.code)) {
            (Some(field), Some(description)) => return format!("{field}: {description}"),
            (None, Some(description)) => return description,
            _ => {}
        }
    }
    let excerpt = http::excerpt(body, 200);
    if excerpt.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {excerpt}")
    }
}

// ---------------------------------------------------------------------------------------------
// Checks made before a request is sent, by the client and the fake alike
// ---------------------------------------------------------------------------------------------

/// A 400 in Razorpay's words, for a request Razorpay would refuse.
fn rejected(field: &str, description: &str) -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 400,
        message: format!("{field}: {description}"),
    }
}

fn check_order(order: &CreateOrder) -> Result<(), AdapterError> {
    if order.amount_paise < MIN_ORDER_PAISE {
        return Err(rejected(
            "amount",
            "The amount must be at least INR 1.00 (100 paise)",
        ));
    }
    check_currency(&order.currency)?;
    check_receipt(order.receipt.as_deref())?;
    check_notes(&order.notes)
}

fn check_refund(request: &RefundRequest) -> Result<(), AdapterError> {
    check_id("payment_id", &request.payment_id)?;
    if request.amount_paise == Some(0) {
        return Err(rejected(
            "amount",
            "The refund amount must be at least 1 paisa",
        ));
    }
    let key = &request.idempotency_key;
    let key_is_valid = key.len() >= MIN_IDEMPOTENCY_KEY_CHARS
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-'));
    if !key_is_valid {
        return Err(rejected(
            REFUND_IDEMPOTENCY_HEADER,
            "must be at least 10 characters of A-Z, a-z, 0-9, _ and -",
        ));
    }
    if let Some(speed) = &request.speed {
        if !matches!(speed, RefundSpeed::Normal | RefundSpeed::Optimum) {
            return Err(rejected("speed", "must be normal or optimum"));
        }
    }
    check_receipt(request.receipt.as_deref())?;
    check_notes(&request.notes)
}

/// Ids become URL path segments, so anything but Razorpay's `prefix_Alnum` shape is refused
/// rather than allowed to change the path (a payment id comes from the browser).
fn check_id(field: &str, id: &str) -> Result<(), AdapterError> {
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(rejected(field, "is not a valid Razorpay id"))
    }
}

fn check_currency(currency: &str) -> Result<(), AdapterError> {
    if currency.len() == 3 && currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(rejected("currency", "must be an ISO 4217 code such as INR"))
    }
}

fn check_receipt(receipt: Option<&str>) -> Result<(), AdapterError> {
    match receipt {
        Some(receipt) if receipt.chars().count() > MAX_RECEIPT_CHARS => Err(rejected(
            "receipt",
            "The receipt may not be greater than 40 characters",
        )),
        _ => Ok(()),
    }
}

fn check_notes(notes: &Notes) -> Result<(), AdapterError> {
    if notes.len() > MAX_NOTES {
        return Err(rejected("notes", "may have at most 15 pairs"));
    }
    let too_long = |text: &String| text.chars().count() > MAX_NOTE_CHARS;
    if notes
        .iter()
        .any(|(key, value)| too_long(key) || too_long(value))
    {
        return Err(rejected(
            "notes",
            "each key and value may have at most 256 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_parse_from_an_object_an_empty_array_null_or_nothing() {
        let with = |notes: &str| {
            let body = format!(
                r#"{{"id":"order_1","amount":100,"currency":"INR","status":"created","created_at":1{notes}}}"#
            );
            serde_json::from_str::<RazorpayOrder>(&body).map(|order| order.notes)
        };

        let pairs = with(r#","notes":{"bazaar_order":"ord_42","n":7}"#).expect("an object");
        assert_eq!(
            pairs.get("bazaar_order").map(String::as_str),
            Some("ord_42")
        );
        assert_eq!(pairs.get("n").map(String::as_str), Some("7"));
        assert_eq!(with(r#","notes":[]"#).expect("[]"), Notes::new());
        assert_eq!(with(r#","notes":{}"#).expect("{}"), Notes::new());
        assert_eq!(with(r#","notes":null"#).expect("null"), Notes::new());
        assert_eq!(with("").expect("absent"), Notes::new());
        assert!(with(r#","notes":"text""#).is_err());
    }

    #[test]
    fn empty_notes_are_written_as_an_empty_array_like_razorpay_does() {
        let order = RazorpayOrder {
            id: "order_1".to_owned(),
            entity: "order".to_owned(),
            amount: 100,
            amount_paid: 0,
            amount_due: 100,
            currency: "INR".to_owned(),
            receipt: None,
            offer_id: None,
            status: OrderStatus::Created,
            attempts: 0,
            notes: Notes::new(),
            created_at: 1,
        };

        let json = serde_json::to_value(&order).expect("serialises");

        assert_eq!(json["notes"], serde_json::json!([]));
    }

    #[test]
    fn an_unknown_status_parses_as_other_and_is_written_back_unchanged() {
        let status: PaymentStatus =
            serde_json::from_str(r#""pending_review""#).expect("any string");

        assert_eq!(status, PaymentStatus::Other("pending_review".to_owned()));
        assert_eq!(
            serde_json::to_string(&status).expect("serialises"),
            r#""pending_review""#
        );
        assert_eq!(PaymentStatus::from("captured"), PaymentStatus::Captured);
    }

    fn order(amount_paise: u64) -> CreateOrder {
        CreateOrder {
            amount_paise,
            currency: "INR".to_owned(),
            receipt: Some("ord_42".to_owned()),
            notes: Notes::new(),
        }
    }

    fn is_bad_request(result: Result<(), AdapterError>) -> bool {
        matches!(result, Err(AdapterError::Rejected { status: 400, .. }))
    }

    #[test]
    fn an_order_must_be_at_least_100_paise_in_a_currency_code() {
        assert!(check_order(&order(100)).is_ok());
        assert!(is_bad_request(check_order(&order(99))));
        assert!(is_bad_request(check_order(&CreateOrder {
            currency: "inr".to_owned(),
            ..order(100)
        })));
    }

    #[test]
    fn a_receipt_has_at_most_40_characters_counted_as_characters_not_bytes() {
        let fits = CreateOrder {
            receipt: Some("₹".repeat(40)),
            ..order(100)
        };
        let too_long = CreateOrder {
            receipt: Some("r".repeat(41)),
            ..order(100)
        };

        assert!(check_order(&fits).is_ok());
        assert!(is_bad_request(check_order(&too_long)));
    }

    #[test]
    fn notes_have_at_most_15_pairs_of_at_most_256_characters() {
        let pairs = |count: usize| {
            (0..count)
                .map(|n| (format!("k{n}"), "v".to_owned()))
                .collect()
        };
        let long_value = Notes::from([("k".to_owned(), "v".repeat(257))]);
        let long_key = Notes::from([("k".repeat(257), "v".to_owned())]);
        let longest = Notes::from([("k".repeat(256), "v".repeat(256))]);

        assert!(check_notes(&pairs(15)).is_ok());
        assert!(check_notes(&longest).is_ok());
        assert!(is_bad_request(check_notes(&pairs(16))));
        assert!(is_bad_request(check_notes(&long_value)));
        assert!(is_bad_request(check_notes(&long_key)));
    }

    fn refund_request(key: &str) -> RefundRequest {
        RefundRequest {
            payment_id: "pay_IH4NVgf4Dreq1l".to_owned(),
            amount_paise: None,
            idempotency_key: key.to_owned(),
            notes: Notes::new(),
            receipt: None,
            speed: None,
        }
    }

    #[test]
    fn a_refund_idempotency_key_is_at_least_10_of_letters_digits_underscore_and_dash() {
        assert!(check_refund(&refund_request("refund_42-A")).is_ok());
        assert!(check_refund(&refund_request("abcdefghij")).is_ok());
        assert!(is_bad_request(check_refund(&refund_request("abcdefghi"))));
        assert!(is_bad_request(check_refund(&refund_request("refund 42 a"))));
        assert!(is_bad_request(check_refund(&refund_request("refund/42/a"))));
    }

    #[test]
    fn a_refund_of_zero_or_at_an_unrequestable_speed_is_refused() {
        let zero = RefundRequest {
            amount_paise: Some(0),
            ..refund_request("refund_key_1")
        };
        let instant = RefundRequest {
            speed: Some(RefundSpeed::Instant),
            ..refund_request("refund_key_1")
        };

        assert!(is_bad_request(check_refund(&zero)));
        assert!(is_bad_request(check_refund(&instant)));
    }

    #[test]
    fn ids_that_could_change_the_request_path_are_refused() {
        assert!(check_id("payment_id", "pay_IH4NVgf4Dreq1l").is_ok());
        for id in [
            "",
            "pay_1/../../orders",
            "pay_1?expand=card",
            "pay 1",
            "pay_1%2F",
        ] {
            assert!(
                is_bad_request(check_id("payment_id", id)),
                "accepted {id:?}"
            );
        }
    }

    #[test]
    fn razorpay_error_bodies_become_field_and_description() {
        let body = r#"{"error":{"code":"BAD_REQUEST_ERROR","description":"The amount must be atleast INR 1.00","field":"amount","source":"business","step":"payment_initiation","reason":"input_validation_failed","metadata":{}}}"#;
        let without_field = r#"{"error":{"code":"BAD_REQUEST_ERROR","description":"The id provided does not exist","field":null}}"#;

        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, body),
            "amount: The amount must be atleast INR 1.00"
        );
        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, without_field),
            "The id provided does not exist"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, "<html>bad gateway</html>"),
            "HTTP 502 Bad Gateway: <html>bad gateway</html>"
        );
        assert_eq!(error_message(StatusCode::CONFLICT, ""), "HTTP 409 Conflict");
    }
}
