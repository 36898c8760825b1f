//! [`FakeRazorpay`]: Razorpay in memory, for service tests and local runs, with the customer's
//! side simulated and the webhooks Razorpay would send, signed with the fake's webhook secret.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::SecretString;

use super::{
    check_currency, check_id, check_order, check_refund, checkout_signature, receipt_conflict,
    rejected, same_order, webhook_signature, CreateOrder, Entity, Notes, OrderStatus, Payment,
    PaymentGateway, PaymentRefundStatus, PaymentStatus, RazorpayOrder, Refund, RefundRequest,
    RefundSpeed, RefundStatus, WebhookEvent, WebhookPayload, PROVIDER, REFUND_IDEMPOTENCY_HEADER,
};
use crate::error::AdapterError;

/// One webhook delivery as Razorpay would POST it: send `body` unchanged, with `signature` in
/// [`SIGNATURE_HEADER`](super::SIGNATURE_HEADER) and `event_id` in
/// [`EVENT_ID_HEADER`](super::EVENT_ID_HEADER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// Unique per event; the same on every re-delivery.
    pub event_id: String,
    /// The event name, e.g. `payment.captured`.
    pub event: String,
    /// The JSON body, byte for byte as signed.
    pub body: Vec<u8>,
    /// Lowercase hex HMAC-SHA256 of `body` under the fake's webhook secret.
    pub signature: String,
}

/// One call made to a [`FakeRazorpay`] through the [`PaymentGateway`] trait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RazorpayCall {
    /// `create_order(order)`.
    CreateOrder(CreateOrder),
    /// `fetch_payment(payment_id)`.
    FetchPayment {
        /// The payment asked for.
        payment_id: String,
    },
    /// `capture_payment(payment_id, amount_paise, currency)`.
    CapturePayment {
        /// The payment captured.
        payment_id: String,
        /// The amount captured.
        amount_paise: u64,
        /// Its currency.
        currency: String,
    },
    /// `refund(request)`, including replays of an earlier request.
    Refund(RefundRequest),
    /// `fetch_refund(payment_id, refund_id)`.
    FetchRefund {
        /// The refunded payment.
        payment_id: String,
        /// The refund asked for.
        refund_id: String,
    },
    /// `order_payments(order_id)`.
    OrderPayments {
        /// The order asked about.
        order_id: String,
    },
}

/// The account id in the fake's webhook envelopes.
pub const FAKE_ACCOUNT_ID: &str = "acc_Fake0001";

/// An in-memory [`PaymentGateway`] for tests and local runs.
///
/// Orders, payments and refunds live in memory with ids `order_Fake0001`, `pay_Fake0001`,
/// `rfnd_Fake0001`… Customers are simulated with [`FakeRazorpay::pay_order`],
/// [`FakeRazorpay::authorize_order`] and [`FakeRazorpay::fail_payment`]; what Razorpay would
/// tell the service about them comes from [`FakeRazorpay::checkout_signature_for`] and the
/// signed deliveries of [`FakeRazorpay::webhooks_for_payment`] and
/// [`FakeRazorpay::webhooks_for_refund`].
///
/// Like Razorpay, it checks requests as the client does, honours refund idempotency keys
/// (same key and request: the same refund; another request: 400), answers `create_order` with
/// the order it already has under that receipt, as [`RazorpayClient`](super::RazorpayClient)
/// does (a different amount or currency: 409), refuses to refund more than
/// was captured, and captures only authorised payments for their full amount. Every
/// successful trait call is recorded; `fail_next` makes the next one fail.
#[derive(Debug)]
pub struct FakeRazorpay {
    key_id: String,
    key_secret: SecretString,
    webhook_secret: SecretString,
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    orders: Vec<RazorpayOrder>,
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    /// Idempotency key → the request first made with it and the refund it made.
    refund_keys: BTreeMap<String, (RefundRequest, String)>,
    /// (entity id, event) → the delivery, so a re-delivery is identical, as Razorpay's are.
    webhooks: BTreeMap<(String, String), SignedWebhook>,
    calls: Vec<RazorpayCall>,
    next_failure: Option<AdapterError>,
}

impl FakeRazorpay {
    /// An empty account whose checkout signatures use `key_secret` and whose webhooks are
    /// signed with `webhook_secret`.
    pub fn new(
        key_id: impl Into<String>,
        key_secret: SecretString,
        webhook_secret: SecretString,
    ) -> Self {
        Self {
            key_id: key_id.into(),
            key_secret,
            webhook_secret,
            state: Mutex::default(),
        }
    }

    /// The key id given at construction, for Checkout.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Every successful call through [`PaymentGateway`] so far, oldest first.
    pub fn calls(&self) -> Vec<RazorpayCall> {
        self.state().calls.clone()
    }

    /// Makes the next call through [`PaymentGateway`] return `error` and record nothing.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().next_failure = Some(error);
    }

    /// The order `order_id`, as it is now.
    pub fn order(&self, order_id: &str) -> Option<RazorpayOrder> {
        self.state()
            .orders
            .iter()
            .find(|o| o.id == order_id)
            .cloned()
    }

    /// The payment `payment_id`, as it is now.
    pub fn payment(&self, payment_id: &str) -> Option<Payment> {
        self.state()
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .cloned()
    }

    /// Every refund made so far, oldest first.
    pub fn refunds(&self) -> Vec<Refund> {
        self.state().refunds.clone()
    }

    /// Simulates a customer paying the whole order with `method` (`"upi"`, `"card"`…), with
    /// automatic capture: the payment is captured and the order paid.
    pub fn pay_order(&self, order_id: &str, method: &str) -> Result<Payment, AdapterError> {
        let mut state = self.state();
        let payment_id = state.authorize(order_id, method)?;
        state.capture(&payment_id)
    }

    /// Simulates a customer paying the whole order with `method` when capture is manual: the
    /// payment is authorised and waits for [`PaymentGateway::capture_payment`].
    pub fn authorize_order(&self, order_id: &str, method: &str) -> Result<Payment, AdapterError> {
        let mut state = self.state();
        let payment_id = state.authorize(order_id, method)?;
        state.existing_payment(&payment_id).cloned()
    }

    /// Simulates a failed UPI attempt on the order: the order becomes `attempted` and stays
    /// payable.
    pub fn fail_payment(&self, order_id: &str) -> Result<Payment, AdapterError> {
        let mut state = self.state();
        let order = state.payable_order(order_id)?;
        order.attempts += 1;
        order.status = OrderStatus::Attempted;
        let (amount, currency) = (order.amount_due, order.currency.clone());
        let mut payment = new_payment(state.payments.len() + 1, order_id, amount, currency, "upi");
        payment.status = PaymentStatus::Failed;
        payment.error_code = Some("BAD_REQUEST_ERROR".to_owned());
        payment.error_description = Some(
            "Payment was unsuccessful as the customer could not complete it in time.".to_owned(),
        );
        payment.error_source = Some("customer".to_owned());
        payment.error_step = Some("payment_authentication".to_owned());
        payment.error_reason = Some("payment_timed_out".to_owned());
        state.payments.push(payment.clone());
        Ok(payment)
    }

    /// The `razorpay_signature` Checkout would hand the browser for this payment.
    pub fn checkout_signature_for(&self, order_id: &str, payment_id: &str) -> String {
        checkout_signature(&self.key_secret, order_id, payment_id)
    }

    /// The webhooks Razorpay sends for the payment's story so far: `payment.authorized`, then
    /// `payment.captured` and `order.paid` once captured; `payment.failed` for a failure.
    /// Each entity is shown as it was at that step. Asking again returns the same deliveries
    /// (same event ids, same bytes), as Razorpay's retries are; the service should expect them
    /// in any order.
    pub fn webhooks_for_payment(
        &self,
        payment_id: &str,
    ) -> Result<Vec<SignedWebhook>, AdapterError> {
        let mut state = self.state();
        let payment = state.existing_payment(payment_id)?.clone();
        let authorized = Payment {
            status: PaymentStatus::Authorized,
            captured: false,
            amount_refunded: 0,
            refund_status: None,
            fee: None,
            tax: None,
            ..payment.clone()
        };
        let captured = Payment {
            status: PaymentStatus::Captured,
            captured: true,
            amount_refunded: 0,
            refund_status: None,
            ..payment.clone()
        };
        let payload = |payment: &Payment| WebhookPayload {
            payment: Some(Entity {
                entity: payment.clone(),
            }),
            ..WebhookPayload::default()
        };
        let steps = match payment.status {
            PaymentStatus::Failed => vec![("payment.failed", payload(&payment))],
            PaymentStatus::Authorized => vec![("payment.authorized", payload(&authorized))],
            PaymentStatus::Captured | PaymentStatus::Refunded => {
                let order = payment
                    .order_id
                    .as_deref()
                    .and_then(|id| state.orders.iter().find(|order| order.id == id))
                    .cloned();
                let mut paid = payload(&captured);
                paid.order = order.map(|entity| Entity { entity });
                vec![
                    ("payment.authorized", payload(&authorized)),
                    ("payment.captured", payload(&captured)),
                    ("order.paid", paid),
                ]
            }
            _ => Vec::new(),
        };
        Ok(steps
            .into_iter()
            .map(|(event, payload)| self.deliver(&mut state, payment_id, event, payload))
            .collect())
    }

    /// The webhooks Razorpay sends for a refund: `refund.created` (the refund as it was then,
    /// `pending`) and `refund.processed`. Asking again returns the same deliveries.
    pub fn webhooks_for_refund(&self, refund_id: &str) -> Result<Vec<SignedWebhook>, AdapterError> {
        let mut state = self.state();
        let refund = state
            .refunds
            .iter()
            .find(|refund| refund.id == refund_id)
            .cloned()
            .ok_or_else(no_such_id)?;
        let created = Refund {
            status: RefundStatus::Pending,
            speed_processed: None,
            acquirer_data: serde_json::json!({"arn": null}),
            ..refund.clone()
        };
        let payload = |refund: Refund| WebhookPayload {
            refund: Some(Entity { entity: refund }),
            ..WebhookPayload::default()
        };
        Ok([
            ("refund.created", payload(created)),
            ("refund.processed", payload(refund)),
        ]
        .into_iter()
        .map(|(event, payload)| self.deliver(&mut state, refund_id, event, payload))
        .collect())
    }

    /// The delivery of `event` about `entity_id`: the one made before, or a new one signed now.
    fn deliver(
        &self,
        state: &mut FakeState,
        entity_id: &str,
        event: &str,
        payload: WebhookPayload,
    ) -> SignedWebhook {
        let number = state.webhooks.len() + 1;
        state
            .webhooks
            .entry((entity_id.to_owned(), event.to_owned()))
            .or_insert_with(|| {
                let envelope = WebhookEvent {
                    entity: "event".to_owned(),
                    account_id: FAKE_ACCOUNT_ID.to_owned(),
                    event: event.to_owned(),
                    contains: contained(&payload),
                    payload,
                    created_at: now(),
                };
                let body = serde_json::to_vec(&envelope)
                    .expect("an envelope of strings, numbers and string-keyed maps serialises");
                SignedWebhook {
                    event_id: fake_id("evt", number),
                    event: event.to_owned(),
                    signature: webhook_signature(&self.webhook_secret, &body),
                    body,
                }
            })
            .clone()
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_failure(&self) -> Result<MutexGuard<'_, FakeState>, AdapterError> {
        let mut state = self.state();
        match state.next_failure.take() {
            Some(error) => Err(error),
            None => Ok(state),
        }
    }
}

/// The payload keys present, in Razorpay's order.
fn contained(payload: &WebhookPayload) -> Vec<String> {
    [
        ("payment", payload.payment.is_some()),
        ("order", payload.order.is_some()),
        ("refund", payload.refund.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(key, _)| key.to_owned())
    .collect()
}

fn fake_id(prefix: &str, number: usize) -> String {
    format!("{prefix}_Fake{number:04}")
}

fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// Razorpay's answer for an id it does not know.
fn no_such_id() -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 400,
        message: "The id provided does not exist".to_owned(),
    }
}

fn new_payment(
    number: usize,
    order_id: &str,
    amount: u64,
    currency: String,
    method: &str,
) -> Payment {
    Payment {
        id: fake_id("pay", number),
        entity: "payment".to_owned(),
        amount,
        currency,
        status: PaymentStatus::Created,
        order_id: Some(order_id.to_owned()),
        method: method.to_owned(),
        captured: false,
        amount_refunded: 0,
        refund_status: None,
        email: Some("customer@example.com".to_owned()),
        contact: Some("+919000090000".to_owned()),
        notes: Notes::new(),
        fee: None,
        tax: None,
        error_code: None,
        error_description: None,
        error_source: None,
        error_step: None,
        error_reason: None,
        acquirer_data: serde_json::json!({}),
        created_at: now(),
    }
}

impl FakeState {
    fn existing_order(&mut self, order_id: &str) -> Result<&mut RazorpayOrder, AdapterError> {
        self.orders
            .iter_mut()
            .find(|order| order.id == order_id)
            .ok_or_else(no_such_id)
    }

    fn payable_order(&mut self, order_id: &str) -> Result<&mut RazorpayOrder, AdapterError> {
        let order = self.existing_order(order_id)?;
        if order.status == OrderStatus::Paid {
            return Err(AdapterError::Rejected {
                provider: PROVIDER,
                status: 400,
                message: "Order has already been paid".to_owned(),
            });
        }
        Ok(order)
    }

    fn existing_payment(&mut self, payment_id: &str) -> Result<&mut Payment, AdapterError> {
        self.payments
            .iter_mut()
            .find(|payment| payment.id == payment_id)
            .ok_or_else(no_such_id)
    }

    /// A new authorised payment of the whole order; returns its id.
    fn authorize(&mut self, order_id: &str, method: &str) -> Result<String, AdapterError> {
        let order = self.payable_order(order_id)?;
        order.attempts += 1;
        order.status = OrderStatus::Attempted;
        let (amount, currency) = (order.amount_due, order.currency.clone());
        let mut payment = new_payment(self.payments.len() + 1, order_id, amount, currency, method);
        payment.status = PaymentStatus::Authorized;
        let id = payment.id.clone();
        self.payments.push(payment);
        Ok(id)
    }

    /// Captures an authorised payment for its full amount and marks its order paid.
    fn capture(&mut self, payment_id: &str) -> Result<Payment, AdapterError> {
        let payment = self.existing_payment(payment_id)?;
        match payment.status {
            PaymentStatus::Authorized => {}
            PaymentStatus::Captured | PaymentStatus::Refunded => {
                return Err(rejected_plain("This payment has already been captured"))
            }
            _ => {
                return Err(rejected_plain(
                    "Only payments which have been authorized and not yet captured can be captured",
                ))
            }
        }
        payment.status = PaymentStatus::Captured;
        payment.captured = true;
        // Razorpay's standard 2% fee, of which 18% GST.
        let fee = payment.amount / 50;
        payment.fee = Some(fee);
        payment.tax = Some(fee * 18 / 118);
        let payment = payment.clone();
        if let Some(order_id) = payment.order_id.as_deref() {
            let order = self.existing_order(order_id)?;
            order.amount_paid += payment.amount;
            order.amount_due = order.amount_due.saturating_sub(payment.amount);
            order.status = OrderStatus::Paid;
        }
        Ok(payment)
    }

    /// Makes the refund `request` asks for, which has not been made before.
    fn make_refund(&mut self, request: &RefundRequest) -> Result<Refund, AdapterError> {
        let number = self.refunds.len() + 1;
        let payment = self.existing_payment(&request.payment_id)?;
        if !matches!(
            payment.status,
            PaymentStatus::Captured | PaymentStatus::Refunded
        ) {
            return Err(rejected_plain("Only captured payments can be refunded"));
        }
        let refundable = payment.amount - payment.amount_refunded;
        if refundable == 0 {
            return Err(rejected_plain(
                "The payment has been fully refunded already",
            ));
        }
        let amount = request.amount_paise.unwrap_or(refundable);
        if amount > refundable {
            return Err(rejected(
                "amount",
                "The refund amount provided is greater than amount captured",
            ));
        }
        payment.amount_refunded += amount;
        let fully = payment.amount_refunded == payment.amount;
        payment.refund_status = Some(if fully {
            PaymentRefundStatus::Full
        } else {
            PaymentRefundStatus::Partial
        });
        if fully {
            payment.status = PaymentStatus::Refunded;
        }
        let speed_requested = request.speed.clone().unwrap_or(RefundSpeed::Normal);
        let refund = Refund {
            id: fake_id("rfnd", number),
            entity: "refund".to_owned(),
            amount,
            currency: payment.currency.clone(),
            payment_id: payment.id.clone(),
            notes: request.notes.clone(),
            receipt: request.receipt.clone(),
            acquirer_data: serde_json::json!({"arn": format!("FAKEARN{number:08}")}),
            created_at: now(),
            batch_id: None,
            status: RefundStatus::Processed,
            speed_processed: Some(match speed_requested {
                RefundSpeed::Optimum => RefundSpeed::Instant,
                _ => RefundSpeed::Normal,
            }),
            speed_requested: Some(speed_requested),
        };
        self.refunds.push(refund.clone());
        self.refund_keys.insert(
            request.idempotency_key.clone(),
            (request.clone(), refund.id.clone()),
        );
        Ok(refund)
    }
}

/// A 400 that names no field, as Razorpay's state errors do not.
fn rejected_plain(description: &str) -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 400,
        message: description.to_owned(),
    }
}

#[async_trait::async_trait]
impl PaymentGateway for FakeRazorpay {
    async fn create_order(&self, order: &CreateOrder) -> Result<RazorpayOrder, AdapterError> {
        let mut state = self.take_failure()?;
        check_order(order)?;
        // As the real client does: an order already made under this receipt is reused.
        let existing = order.receipt.as_ref().and_then(|receipt| {
            state
                .orders
                .iter()
                .find(|known| known.receipt.as_ref() == Some(receipt))
                .cloned()
        });
        if let Some(existing) = existing {
            if !same_order(&existing, order) {
                return Err(receipt_conflict(&existing));
            }
            state.calls.push(RazorpayCall::CreateOrder(order.clone()));
            return Ok(existing);
        }
        let created = RazorpayOrder {
            id: fake_id("order", state.orders.len() + 1),
            entity: "order".to_owned(),
            amount: order.amount_paise,
            amount_paid: 0,
            amount_due: order.amount_paise,
            currency: order.currency.clone(),
            receipt: order.receipt.clone(),
            offer_id: None,
            status: OrderStatus::Created,
            attempts: 0,
            notes: order.notes.clone(),
            created_at: now(),
        };
        state.orders.push(created.clone());
        state.calls.push(RazorpayCall::CreateOrder(order.clone()));
        Ok(created)
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment, AdapterError> {
        let mut state = self.take_failure()?;
        check_id("payment_id", payment_id)?;
        let payment = state.existing_payment(payment_id)?.clone();
        state.calls.push(RazorpayCall::FetchPayment {
            payment_id: payment_id.to_owned(),
        });
        Ok(payment)
    }

    async fn capture_payment(
        &self,
        payment_id: &str,
        amount_paise: u64,
        currency: &str,
    ) -> Result<Payment, AdapterError> {
        let mut state = self.take_failure()?;
        check_id("payment_id", payment_id)?;
        check_currency(currency)?;
        let payment = state.existing_payment(payment_id)?;
        if payment.currency != currency {
            return Err(rejected(
                "currency",
                "Currency should be same as payment currency",
            ));
        }
        if payment.amount != amount_paise {
            return Err(rejected(
                "amount",
                "Capture amount must be equal to the amount authorized",
            ));
        }
        let captured = state.capture(payment_id)?;
        state.calls.push(RazorpayCall::CapturePayment {
            payment_id: payment_id.to_owned(),
            amount_paise,
            currency: currency.to_owned(),
        });
        Ok(captured)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<Refund, AdapterError> {
        let mut state = self.take_failure()?;
        check_refund(request)?;
        let earlier = state.refund_keys.get(&request.idempotency_key).cloned();
        let refund = match earlier {
            Some((earlier, _)) if earlier != *request => {
                return Err(rejected(
                    REFUND_IDEMPOTENCY_HEADER,
                    "the key was already used with a different request",
                ))
            }
            Some((_, refund_id)) => state
                .refunds
                .iter()
                .find(|refund| refund.id == refund_id)
                .cloned()
                .ok_or_else(no_such_id)?,
            None => state.make_refund(request)?,
        };
        state.calls.push(RazorpayCall::Refund(request.clone()));
        Ok(refund)
    }

    async fn fetch_refund(
        &self,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Refund, AdapterError> {
        let mut state = self.take_failure()?;
        check_id("payment_id", payment_id)?;
        check_id("refund_id", refund_id)?;
        let refund = state
            .refunds
            .iter()
            .find(|refund| refund.id == refund_id && refund.payment_id == payment_id)
            .cloned()
            .ok_or_else(no_such_id)?;
        state.calls.push(RazorpayCall::FetchRefund {
            payment_id: payment_id.to_owned(),
            refund_id: refund_id.to_owned(),
        });
        Ok(refund)
    }

    async fn order_payments(&self, order_id: &str) -> Result<Vec<Payment>, AdapterError> {
        let mut state = self.take_failure()?;
        check_id("order_id", order_id)?;
        state.existing_order(order_id)?;
        let payments = state
            .payments
            .iter()
            .filter(|payment| payment.order_id.as_deref() == Some(order_id))
            .cloned()
            .collect();
        state.calls.push(RazorpayCall::OrderPayments {
            order_id: order_id.to_owned(),
        });
        Ok(payments)
    }
}
