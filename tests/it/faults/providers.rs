//! Third-party providers that fail or slow down while the service is under a steady load, with
//! the real Razorpay, MSG91 and SendGrid clients talking to wiremock servers and the service on
//! real MongoDB and Redis.
//!
//! While a provider fails, every request that needs it answers a 503 problem with
//! `Retry-After` instead of hanging or answering 500, and requests that do not need it go on
//! working. Afterwards nothing is lost and nothing is done twice: every 201 and every
//! acknowledged webhook is in the database, a retry with the same `Idempotency-Key` succeeds,
//! no Bazaar order has two Razorpay orders, no refund is made twice, and every notice is sent
//! exactly once.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bazaar::domain::outbox::OutboxState;
use bazaar::domain::outbox_query::OutboxQuery;
use bazaar::store::OutboxRepository;
use bazaar_adapters::razorpay::webhook_signature;
use reqwest::{RequestBuilder, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::kit::{product_json, unique, BackendSet, TestApp};

const KEY_ID: &str = "rzp_test_faults";
const KEY_SECRET: &str = "faults-key-secret";
const WEBHOOK_SECRET: &str = "faults-webhook-secret";
/// Each attempt of a provider call gives up after this; a call makes three attempts.
const PROVIDER_TIMEOUT_MS: &str = "300";
/// How late a slow provider answers: well past the client's timeout.
const LATE: Duration = Duration::from_secs(2);
/// No request may take longer. A failing call takes about 1.5 s (three 300 ms attempts and
/// the backoff between them), so this only catches a hang, even on a loaded machine.
const HANG_BOUND: Duration = Duration::from_secs(20);

/// What a provider stand-in is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Answers at once.
    None,
    /// Answers 503 to everything and does nothing.
    ServerErrors,
    /// Does what it is asked, but answers everything too late.
    Slow,
    /// Does what it is asked; reads are answered at once, writes too late: the case where a
    /// retry of a write that did happen must not do it again.
    SlowWrites,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

/// A wiremock server on which `responder` answers every request.
async fn answering(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn razorpay_error(status: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": if status >= 500 { "SERVER_ERROR" } else { "BAD_REQUEST_ERROR" },
        "description": description,
        "field": null
    }}))
}

// ---------------------------------------------------------------------------------------------
// Razorpay, as far as checkout and refunds need it
// ---------------------------------------------------------------------------------------------

/// What the Razorpay stand-in holds: every order and refund it made, and every request it got.
#[derive(Default, Clone)]
struct RazorpayBooks {
    orders: Vec<Value>,
    /// By `X-Refund-Idempotency`.
    refunds: BTreeMap<String, Value>,
    /// Order creations Razorpay carried out but answered too late.
    orders_made_but_answered_late: usize,
    /// Refunds Razorpay carried out but answered too late.
    refunds_made_but_answered_late: usize,
    answered_503: usize,
    answered_late: usize,
    unexpected: Vec<String>,
}

/// Razorpay's orders and refunds APIs in memory, behind a switchable [`Fault`]: orders with
/// their receipt filter, refunds with `X-Refund-Idempotency` (same key: the same refund).
struct RazorpayStandIn {
    fault: Mutex<Fault>,
    books: Mutex<RazorpayBooks>,
}

impl RazorpayStandIn {
    async fn start() -> (Arc<Self>, MockServer) {
        let stand_in = Arc::new(Self {
            fault: Mutex::new(Fault::None),
            books: Mutex::default(),
        });
        let server = answering(Responder(stand_in.clone())).await;
        (stand_in, server)
    }

    fn set(&self, fault: Fault) {
        *lock(&self.fault) = fault;
    }

    fn books(&self) -> MutexGuard<'_, RazorpayBooks> {
        lock(&self.books)
    }

    fn answer(&self, request: &Request) -> ResponseTemplate {
        let fault = *lock(&self.fault);
        let write = request.method.as_str() == "POST";
        let mut books = self.books();
        if fault == Fault::ServerErrors {
            books.answered_503 += 1;
            return razorpay_error(503, "Service unavailable");
        }
        let answer = books.serve(request);
        if fault == Fault::Slow || (fault == Fault::SlowWrites && write) {
            books.answered_late += 1;
            if write && request.url.path() == "/v1/orders" {
                books.orders_made_but_answered_late += 1;
            } else if write {
                books.refunds_made_but_answered_late += 1;
            }
            answer.set_delay(LATE)
        } else {
            answer
        }
    }
}

impl RazorpayBooks {
    fn serve(&mut self, request: &Request) -> ResponseTemplate {
        let method = request.method.as_str();
        let path = request.url.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "orders"]) => {
                let receipt = request
                    .url
                    .query_pairs()
                    .find(|(name, _)| name == "receipt")
                    .map(|(_, value)| value.into_owned());
                let items: Vec<Value> = self
                    .orders
                    .iter()
                    .filter(|order| {
                        receipt.is_none() || order["receipt"].as_str() == receipt.as_deref()
                    })
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "entity": "collection", "count": items.len(), "items": items
                }))
            }
            ("POST", ["v1", "orders"]) => {
                let asked = json_body(request);
                let order = json!({
                    "id": format!("order_Sim{:06}", self.orders.len() + 1),
                    "entity": "order",
                    "amount": asked["amount"],
                    "amount_paid": 0,
                    "amount_due": asked["amount"],
                    "currency": asked["currency"],
                    "receipt": asked["receipt"],
                    "offer_id": null,
                    "status": "created",
                    "attempts": 0,
                    "notes": asked.get("notes").cloned().unwrap_or(json!([])),
                    "created_at": 1_700_000_000 + self.orders.len(),
                });
                self.orders.push(order.clone());
                ResponseTemplate::new(200).set_body_json(order)
            }
            ("POST", ["v1", "payments", payment_id, "refund"]) => {
                let Some(key) = request
                    .headers
                    .get("x-refund-idempotency")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                else {
                    self.unexpected
                        .push(format!("a refund without a key: {path}"));
                    return razorpay_error(400, "X-Refund-Idempotency is required");
                };
                let asked = json_body(request);
                if let Some(made) = self.refunds.get(&key) {
                    return if made["amount"] == asked["amount"] && made["payment_id"] == *payment_id
                    {
                        ResponseTemplate::new(200).set_body_json(made.clone())
                    } else {
                        razorpay_error(400, "The idempotency key was used for another request")
                    };
                }
                let refund = json!({
                    "id": format!("rfnd_Sim{:06}", self.refunds.len() + 1),
                    "entity": "refund",
                    "amount": asked["amount"],
                    "currency": "INR",
                    "payment_id": payment_id,
                    "notes": asked.get("notes").cloned().unwrap_or(json!([])),
                    "receipt": null,
                    "acquirer_data": {"arn": null},
                    "created_at": 1_700_000_000,
                    "batch_id": null,
                    "status": "pending",
                    "speed_requested": "normal",
                    "speed_processed": null,
                });
                self.refunds.insert(key, refund.clone());
                ResponseTemplate::new(200).set_body_json(refund)
            }
            _ => {
                self.unexpected.push(format!("{method} {path}"));
                razorpay_error(400, "The requested URL was not found on the server.")
            }
        }
    }

    /// The Razorpay orders made under `receipt`.
    fn orders_under(&self, receipt: &str) -> Vec<&Value> {
        self.orders
            .iter()
            .filter(|order| order["receipt"] == receipt)
            .collect()
    }
}

struct Responder(Arc<RazorpayStandIn>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.answer(request)
    }
}

// ---------------------------------------------------------------------------------------------
// MSG91 and SendGrid, as far as notices need them
// ---------------------------------------------------------------------------------------------

/// MSG91's flow API and SendGrid's mail send on one server, failing with 503 while `failing`.
/// Counts, per distinct message, how many times it was accepted.
struct MessagingStandIn {
    failing: AtomicBool,
    accepted: Mutex<HashMap<String, usize>>,
    refused: Mutex<usize>,
}

impl MessagingStandIn {
    async fn start() -> (Arc<Self>, MockServer) {
        let stand_in = Arc::new(Self {
            failing: AtomicBool::new(false),
            accepted: Mutex::default(),
            refused: Mutex::default(),
        });
        let server = answering(MessagingResponder(stand_in.clone())).await;
        (stand_in, server)
    }

    fn answer(&self, request: &Request) -> ResponseTemplate {
        let body = json_body(request);
        let (message, accepted) = match request.url.path() {
            "/v3/mail/send" => {
                let to = &body["personalizations"][0];
                let message = format!(
                    "email {} {} {}",
                    to["to"][0]["email"], body["template_id"], to["dynamic_template_data"]
                );
                let id = format!("sg-{}", uuid::Uuid::new_v4().simple());
                (
                    message,
                    ResponseTemplate::new(202).insert_header("X-Message-Id", id.as_str()),
                )
            }
            "/api/v5/flow/" => {
                let message = format!("sms {} {}", body["flow_id"], body["recipients"]);
                let id = uuid::Uuid::new_v4().simple().to_string();
                (
                    message,
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"type": "success", "message": id})),
                )
            }
            other => (
                format!("unexpected {} {other}", request.method),
                ResponseTemplate::new(404),
            ),
        };
        if self.failing.load(Ordering::SeqCst) {
            *lock(&self.refused) += 1;
            return ResponseTemplate::new(503).set_body_json(json!({"errors": [
                {"message": "service unavailable", "field": null}
            ]}));
        }
        *lock(&self.accepted).entry(message).or_default() += 1;
        accepted
    }
}

struct MessagingResponder(Arc<MessagingStandIn>);

impl Respond for MessagingResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.answer(request)
    }
}

// ---------------------------------------------------------------------------------------------
// The service and its clients
// ---------------------------------------------------------------------------------------------

/// The service on MongoDB and Redis with the real Razorpay client pointed at `razorpay`, and
/// the real MSG91 and SendGrid clients at `messaging` when given (their fakes otherwise).
async fn service(
    razorpay: &MockServer,
    messaging: Option<&MockServer>,
    extra: &[(&str, &str)],
) -> (TestApp, Arc<dyn OutboxRepository>) {
    let razorpay_url = format!("{}/v1", razorpay.uri());
    let mut vars: Vec<(String, String)> = [
        ("BAZAAR_RAZORPAY_KEY_ID", KEY_ID),
        ("BAZAAR_RAZORPAY_KEY_SECRET", KEY_SECRET),
        ("BAZAAR_RAZORPAY_WEBHOOK_SECRETS", WEBHOOK_SECRET),
        ("BAZAAR_RAZORPAY_BASE_URL", razorpay_url.as_str()),
        ("BAZAAR_PROVIDER_TIMEOUT_MS", PROVIDER_TIMEOUT_MS),
        // The load comes from one admin; the rate limit is not what is tested here.
        ("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "0"),
        // No expiry or reconciliation sweep asking the stand-in about orders meanwhile.
        ("BAZAAR_ORDER_SWEEP_INTERVAL_SECS", "0"),
        ("BAZAAR_OUTBOX_POLL_MS", "100"),
        ("BAZAAR_OUTBOX_BACKOFF_BASE_MS", "200"),
        ("BAZAAR_OUTBOX_BACKOFF_CAP_SECS", "1"),
        ("BAZAAR_OUTBOX_MAX_ATTEMPTS", "100"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    if let Some(messaging) = messaging {
        let msg91_url = format!("{}/api/v5", messaging.uri());
        let sendgrid_url = messaging.uri();
        for (key, value) in [
            ("BAZAAR_MSG91_AUTHKEY", "faults-msg91-key"),
            ("BAZAAR_MSG91_TEMPLATE_ID", "faults-otp-template"),
            ("BAZAAR_MSG91_BASE_URL", msg91_url.as_str()),
            ("BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION", "flow-confirmation"),
            ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "flow-receipt"),
            ("BAZAAR_MSG91_FLOW_REFUND", "flow-refund"),
            ("BAZAAR_MSG91_FLOW_CANCELLATION", "flow-cancellation"),
            ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "flow-order-packed"),
            ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "flow-order-shipped"),
            ("BAZAAR_MSG91_FLOW_ORDER_DELIVERED", "flow-order-delivered"),
            (
                "BAZAAR_MSG91_FLOW_RETURN_REQUESTED",
                "flow-return-requested",
            ),
            ("BAZAAR_MSG91_FLOW_RETURN_RECEIVED", "flow-return-received"),
            ("BAZAAR_SENDGRID_API_KEY", "faults-sendgrid-key"),
            ("BAZAAR_SENDGRID_BASE_URL", sendgrid_url.as_str()),
            (
                "BAZAAR_SENDGRID_TEMPLATE_ORDER_CONFIRMATION",
                "d-confirmation",
            ),
            ("BAZAAR_SENDGRID_TEMPLATE_PAYMENT_RECEIPT", "d-receipt"),
            ("BAZAAR_SENDGRID_TEMPLATE_REFUND", "d-refund"),
            ("BAZAAR_SENDGRID_TEMPLATE_CANCELLATION", "d-cancellation"),
            ("BAZAAR_SENDGRID_TEMPLATE_ORDER_PACKED", "d-order-packed"),
            ("BAZAAR_SENDGRID_TEMPLATE_ORDER_SHIPPED", "d-order-shipped"),
            (
                "BAZAAR_SENDGRID_TEMPLATE_ORDER_DELIVERED",
                "d-order-delivered",
            ),
            (
                "BAZAAR_SENDGRID_TEMPLATE_RETURN_REQUESTED",
                "d-return-requested",
            ),
            (
                "BAZAAR_SENDGRID_TEMPLATE_RETURN_RECEIVED",
                "d-return-received",
            ),
        ] {
            vars.push((key.to_owned(), value.to_owned()));
        }
    }
    let overrides: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::builder()
        .on(BackendSet::Real)
        .env(&overrides)
        .prepare()
        .await;
    let outbox = app.backends.outbox.clone();
    (app.spawn().await, outbox)
}

/// An answer: its status, `Retry-After`, content type and JSON body.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    content_type: String,
    body: Value,
}

/// Sends `request`, failing the test if it takes longer than [`HANG_BOUND`].
async fn send(request: RequestBuilder) -> Answer {
    let response = tokio::time::timeout(HANG_BOUND, request.send())
        .await
        .expect("the request did not hang")
        .expect("the request was sent");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse().ok());
    let content_type = header("content-type").unwrap_or_default();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        content_type,
        body,
    }
}

impl Answer {
    /// Why this is not the 503 a provider outage must give, if it is not.
    fn outage_problem(&self) -> Option<String> {
        let fine = self.status == StatusCode::SERVICE_UNAVAILABLE
            && self.content_type == "application/problem+json"
            && self.body["code"] == "payment_provider_unavailable"
            && self.body["retryable"] == true
            && self.retry_after.is_some_and(|seconds| seconds >= 1);
        (!fine).then(|| {
            format!(
                "{} Retry-After {:?} {}: {}",
                self.status, self.retry_after, self.content_type, self.body
            )
        })
    }
}

fn idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn create_order(app: &TestApp, product_id: &str) -> Answer {
    send(
        app.client
            .post(app.url("/api/v1/orders"))
            .header("Idempotency-Key", idempotency_key())
            .json(&json!({"items": [{"product_id": product_id, "quantity": 1}]})),
    )
    .await
}

async fn checkout(app: &TestApp, order_id: &str, key: &str) -> Answer {
    send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{order_id}/payments")))
            .header("Idempotency-Key", key),
    )
    .await
}

async fn refund(app: &TestApp, order_id: &str, amount: i64, key: &str) -> Answer {
    send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{order_id}/actions/refund")))
            .header("Idempotency-Key", key)
            .json(&json!({ "amount": amount })),
    )
    .await
}

/// Razorpay's `payment.captured` for the whole of `amount` on `razorpay_order_id`, signed.
async fn deliver_capture(
    app: &TestApp,
    razorpay_order_id: &str,
    payment_id: &str,
    amount: i64,
) -> Answer {
    let body = serde_json::to_vec(&json!({
        "entity": "event",
        "account_id": "acc_Faults0001",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": payment_id,
            "entity": "payment",
            "amount": amount,
            "currency": "INR",
            "status": "captured",
            "order_id": razorpay_order_id,
            "method": "upi",
            "captured": true,
            "amount_refunded": 0,
            "refund_status": null,
            "notes": [],
            "created_at": 1_700_000_000
        }}},
        "created_at": 1_700_000_000
    }))
    .expect("serialises");
    let signature = webhook_signature(&SecretString::from(WEBHOOK_SECRET), &body);
    send(
        app.anonymous
            .post(app.url("/api/v1/webhooks/razorpay"))
            .header("content-type", "application/json")
            .header("X-Razorpay-Signature", signature)
            .header("X-Razorpay-Event-Id", unique("evt"))
            .body(body),
    )
    .await
}

async fn get_order(app: &TestApp, order_id: &str) -> Value {
    let response = app.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(response.status(), 200, "order {order_id} is readable");
    response.json().await.expect("a JSON order")
}

/// A product, and an order for it that has been checked out and paid through a webhook.
async fn paid_order(app: &TestApp, product_id: &str) -> (String, i64) {
    let created = create_order(app, product_id).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let order_id = created.body["id"].as_str().expect("an id").to_owned();
    let total = created.body["total"].as_i64().expect("a total");
    let checked_out = checkout(app, &order_id, &idempotency_key()).await;
    assert_eq!(checked_out.status, 200, "{}", checked_out.body);
    let razorpay_order_id = checked_out.body["razorpay_order_id"].as_str().unwrap();
    let payment_id = format!("pay_{}", uuid::Uuid::new_v4().simple());
    let paid = deliver_capture(app, razorpay_order_id, &payment_id, total).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    (order_id, total)
}

/// Puts `fault` on for at least two seconds and until `enough(before, now)` holds of what the
/// stand-in has seen; fails if the load has not met the fault within a minute.
async fn hold(
    razorpay: &RazorpayStandIn,
    fault: Fault,
    enough: impl Fn(&RazorpayBooks, &RazorpayBooks) -> bool,
) {
    let before = razorpay.books().clone();
    razorpay.set(fault);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !enough(&before, &razorpay.books()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load did not meet {fault:?} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the load saw.
#[derive(Default)]
struct Outcomes {
    /// Orders answered 201.
    created: Vec<String>,
    /// Checkouts answered 200: the order and its Razorpay order.
    checked_out: Vec<(String, String)>,
    /// Checkouts answered 503, with their `Idempotency-Key`, to retry after the outage.
    checkouts_to_retry: Vec<(String, String)>,
    /// Refunds answered 200: the order, the amount and the `Idempotency-Key`.
    refunded: Vec<(String, i64, String)>,
    /// Refunds answered 503, to retry after the outage.
    refunds_to_retry: Vec<(String, i64, String)>,
    /// Capture webhooks acknowledged with 200: the order.
    paid_by_webhook: Vec<String>,
    /// 503 problems that were right for an outage.
    outage_503s: usize,
    /// Anything else: a 500, a 503 without `Retry-After`, a wrong code…
    wrong: Vec<String>,
}

/// Places orders, checks them out and pays every other one by webhook, until `stop`.
async fn checkout_load(
    app: Arc<TestApp>,
    product_id: String,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Outcomes>>,
) {
    let mut n = 0_u32;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let created = create_order(&app, &product_id).await;
        if created.status != 201 {
            lock(&out)
                .wrong
                .push(format!("create order: {} {}", created.status, created.body));
            continue;
        }
        let order_id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let total = created.body["total"].as_i64().unwrap_or_default();
        lock(&out).created.push(order_id.clone());
        let key = idempotency_key();
        let answer = checkout(&app, &order_id, &key).await;
        if answer.status == 200 {
            let razorpay_order_id = answer.body["razorpay_order_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            lock(&out)
                .checked_out
                .push((order_id.clone(), razorpay_order_id.clone()));
            if n.is_multiple_of(2) {
                let payment_id = format!("pay_{}", uuid::Uuid::new_v4().simple());
                let paid = deliver_capture(&app, &razorpay_order_id, &payment_id, total).await;
                let mut out = lock(&out);
                if paid.status == 200 {
                    out.paid_by_webhook.push(order_id);
                } else {
                    out.wrong
                        .push(format!("webhook: {} {}", paid.status, paid.body));
                }
            }
        } else {
            let mut out = lock(&out);
            match answer.outage_problem() {
                None => {
                    out.outage_503s += 1;
                    out.checkouts_to_retry.push((order_id, key));
                }
                Some(why) => out.wrong.push(format!("checkout: {why}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Refunds 100 paise at a time from the paid orders in turn, until `stop`.
async fn refund_load(
    app: Arc<TestApp>,
    paid: Vec<String>,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Outcomes>>,
) {
    for order_id in paid.iter().cycle() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let key = idempotency_key();
        let answer = refund(&app, order_id, 100, &key).await;
        {
            let mut out = lock(&out);
            if answer.status == 200 {
                out.refunded.push((order_id.clone(), 100, key));
            } else {
                match answer.outage_problem() {
                    None => {
                        out.outage_503s += 1;
                        out.refunds_to_retry.push((order_id.clone(), 100, key));
                    }
                    Some(why) => out.wrong.push(format!("refund: {why}")),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_and_refunds_through_a_failing_then_slow_razorpay_get_503s_and_nothing_is_lost_or_doubled(
) {
    let (razorpay, razorpay_server) = RazorpayStandIn::start().await;
    let (app, _) = service(&razorpay_server, None, &[]).await;
    let app = Arc::new(app);
    let product = app.create_product(product_json(&unique("PF"))).await;
    let product_id = product.id;
    let mut paid = Vec::new();
    for _ in 0..3 {
        paid.push(paid_order(&app, &product_id).await.0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let out = Arc::new(Mutex::new(Outcomes::default()));
    let mut load = Vec::new();
    for _ in 0..3 {
        load.push(tokio::spawn(checkout_load(
            app.clone(),
            product_id.clone(),
            stop.clone(),
            out.clone(),
        )));
    }
    for _ in 0..2 {
        load.push(tokio::spawn(refund_load(
            app.clone(),
            paid.clone(),
            stop.clone(),
            out.clone(),
        )));
    }

    // Healthy, 5xx, no answer in time, writes done but answered too late, healthy again. Each
    // fault lasts until the load has met it a few times, however slow the machine.
    tokio::time::sleep(Duration::from_secs(1)).await;
    hold(&razorpay, Fault::ServerErrors, |before, now| {
        now.answered_503 >= before.answered_503 + 6
    })
    .await;
    hold(&razorpay, Fault::Slow, |before, now| {
        now.answered_late >= before.answered_late + 6
    })
    .await;
    hold(&razorpay, Fault::SlowWrites, |before, now| {
        now.orders_made_but_answered_late >= before.orders_made_but_answered_late + 2
            && now.refunds_made_but_answered_late >= before.refunds_made_but_answered_late + 2
    })
    .await;
    razorpay.set(Fault::None);
    // Recovered by itself: new checkouts succeed again without anyone's help.
    let checked_out = lock(&out).checked_out.len();
    crate::kit::process::eventually("checkouts succeeding after the recovery", || async {
        lock(&out).checked_out.len() >= checked_out + 3
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        tokio::time::timeout(HANG_BOUND, task)
            .await
            .expect("the load stops")
            .expect("a load task did not panic");
    }
    let mut out = std::mem::take(&mut *lock(&out));

    // During the outage: only 503 problems with Retry-After, never a 500 or a hang.
    assert!(out.wrong.is_empty(), "wrong answers: {:#?}", out.wrong);
    assert!(
        out.outage_503s > 0 && !out.checkouts_to_retry.is_empty(),
        "the load met the outage"
    );
    {
        let books = razorpay.books();
        assert!(books.answered_503 > 0 && books.answered_late > 0);
        assert!(books.unexpected.is_empty(), "{:?}", books.unexpected);
    }

    // Recovered by itself: the same requests with the same keys now succeed.
    for (order_id, key) in std::mem::take(&mut out.checkouts_to_retry) {
        let again = checkout(&app, &order_id, &key).await;
        assert_eq!(again.status, 200, "checkout retry: {}", again.body);
        let razorpay_order_id = again.body["razorpay_order_id"].as_str().unwrap().to_owned();
        out.checked_out.push((order_id, razorpay_order_id));
    }
    for (order_id, amount, key) in std::mem::take(&mut out.refunds_to_retry) {
        let again = refund(&app, &order_id, amount, &key).await;
        assert_eq!(again.status, 200, "refund retry: {}", again.body);
        out.refunded.push((order_id, amount, key));
    }

    // Every 201 is durable, and every acknowledged capture was applied.
    for order_id in &out.created {
        get_order(&app, order_id).await;
    }
    for order_id in &out.paid_by_webhook {
        let order = get_order(&app, order_id).await;
        assert_eq!(order["status"], "paid", "{order}");
        assert_eq!(order["captured"], order["total"], "{order}");
    }
    // One Razorpay order per Bazaar order, and it is the one Bazaar stored.
    let books = razorpay.books().clone();
    for (order_id, razorpay_order_id) in &out.checked_out {
        let under_receipt = books.orders_under(order_id);
        assert_eq!(
            under_receipt.len(),
            1,
            "Razorpay orders for {order_id}: {under_receipt:?}"
        );
        assert_eq!(under_receipt[0]["id"], razorpay_order_id.as_str());
        let stored = get_order(&app, order_id).await;
        assert_eq!(stored["razorpay_order_id"], razorpay_order_id.as_str());
    }
    let mut receipts: Vec<&str> = books
        .orders
        .iter()
        .filter_map(|order| order["receipt"].as_str())
        .collect();
    receipts.sort_unstable();
    let made = receipts.len();
    receipts.dedup();
    assert_eq!(receipts.len(), made, "a receipt with two Razorpay orders");
    // The cases the fix is for did happen: orders and refunds made whose answers were lost.
    assert!(books.orders_made_but_answered_late > 0);
    assert!(books.refunds_made_but_answered_late > 0);
    // One Razorpay refund per refund request, none twice, and Bazaar recorded each once.
    assert_eq!(
        books.refunds.len(),
        out.refunded.len(),
        "Razorpay made {} refunds for {} refund requests",
        books.refunds.len(),
        out.refunded.len()
    );
    let mut asked_per_order: HashMap<&str, i64> = HashMap::new();
    for (order_id, amount, _) in &out.refunded {
        *asked_per_order.entry(order_id.as_str()).or_default() += amount;
    }
    for order_id in &paid {
        let order = get_order(&app, order_id).await;
        let at_razorpay: i64 = books
            .refunds
            .values()
            .filter(|r| r["payment_id"] == order["payment_id"])
            .map(|r| r["amount"].as_i64().unwrap_or_default())
            .sum();
        let asked = asked_per_order.get(order_id.as_str()).copied().unwrap_or(0);
        assert_eq!(order["refunded"], asked, "{order}");
        assert_eq!(at_razorpay, asked, "refunded at Razorpay for {order_id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notices_whose_providers_fail_and_then_recover_are_each_sent_exactly_once() {
    let (_razorpay, razorpay_server) = RazorpayStandIn::start().await;
    let (messaging, messaging_server) = MessagingStandIn::start().await;
    let (app, outbox) = service(&razorpay_server, Some(&messaging_server), &[]).await;
    let me = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({"email": "admin@example.in"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(me.status(), 200);
    // Notices go only to verified addresses: the admin verifies theirs with the link's token,
    // which the stand-in received (and which is no notice, so it is not counted below).
    let asked = app
        .client
        .post(app.url("/api/v1/users/me/email/verify-request"))
        .send()
        .await
        .expect("request sent");
    assert!(asked.status().is_success(), "{}", asked.status());
    let token = {
        let mut accepted = lock(&messaging.accepted);
        let link = accepted
            .keys()
            .find(|m| m.contains("d-verify-email"))
            .cloned()
            .expect("the verification email reached the stand-in");
        accepted.remove(&link);
        let data: Value = serde_json::from_str(link.splitn(4, ' ').nth(3).unwrap()).unwrap();
        data["token"].as_str().unwrap().to_owned()
    };
    let verified = app
        .anonymous
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(verified.status(), 200);
    let product = app.create_product(product_json(&unique("PN"))).await;
    let product_id = product.id;

    // SMS and email fail while orders are paid: each payment owes a confirmation and a receipt.
    messaging.failing.store(true, Ordering::SeqCst);
    for _ in 0..4 {
        paid_order(&app, &product_id).await;
    }
    let pending = || async {
        outbox
            .list(&OutboxQuery::first(Some(OutboxState::Pending), 100))
            .await
            .expect("MongoDB answers")
            .items
    };
    crate::kit::process::eventually("a failed attempt at every notice", || async {
        let owed = pending().await;
        // A failure recorded, not just claimed: a claimed notice may be sent after the recovery.
        owed.len() == 16 && owed.iter().all(|m| m.last_error.is_some())
    })
    .await;
    let owed = pending().await.len();
    assert_eq!(
        owed,
        4 * 2 * 2,
        "two notices by SMS and by email per paid order"
    );

    messaging.failing.store(false, Ordering::SeqCst);

    crate::kit::process::eventually("every notice delivered after the recovery", || async {
        pending().await.is_empty()
    })
    .await;
    let delivered = outbox
        .list(&OutboxQuery::first(Some(OutboxState::Delivered), 100))
        .await
        .expect("MongoDB answers")
        .items;
    let dead = outbox
        .list(&OutboxQuery::first(Some(OutboxState::Dead), 100))
        .await
        .expect("MongoDB answers")
        .items;
    assert!(dead.is_empty(), "dead: {dead:?}");
    assert_eq!(delivered.len(), owed);
    assert!(
        delivered.iter().all(|m| m.attempts > 1),
        "every notice met the outage first"
    );
    assert!(*lock(&messaging.refused) > 0);
    let accepted = lock(&messaging.accepted).clone();
    assert_eq!(
        accepted.len(),
        owed,
        "one distinct message per notice: {accepted:#?}"
    );
    let twice: Vec<_> = accepted.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:#?}");
}

/// A provider known to be down is not asked: once five checkouts in a row have met
/// Razorpay's 503s, its circuit breaker refuses the next ones at once, with the same
/// `503 payment_provider_unavailable` and `Retry-After`, and not one of them reaches
/// Razorpay; `/metrics` shows the breaker open. When Razorpay answers again, the breaker's
/// trial call goes through and checkouts succeed.
#[tokio::test]
async fn a_razorpay_known_down_is_not_asked_and_checkouts_return_when_it_answers() {
    let (razorpay, razorpay_server) = RazorpayStandIn::start().await;
    // Open for 2 s: long enough that no trial call falls inside the refusals measured.
    let (app, _) = service(
        &razorpay_server,
        None,
        &[("BAZAAR_BREAKER_OPEN_MS", "2000")],
    )
    .await;
    let product = app.create_product(product_json(&unique("PB"))).await;
    let product_id = product.id;
    let mut orders = Vec::new();
    for _ in 0..16 {
        let order = create_order(&app, &product_id).await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        orders.push(order.body["id"].as_str().unwrap().to_owned());
    }
    let mut orders = orders.into_iter();

    razorpay.set(Fault::ServerErrors);
    for order in orders.by_ref().take(5) {
        let answer = checkout(&app, &order, &idempotency_key()).await;
        assert_eq!(answer.outage_problem(), None);
    }
    let asked = razorpay.books().answered_503;
    assert_eq!(
        crate::faults::breakers::breaker_metrics(&app, "razorpay")
            .await
            .0,
        2,
        "open after five failures in a row"
    );

    let mut took = Vec::new();
    for order in orders.by_ref().take(8) {
        let started = std::time::Instant::now();
        let answer = checkout(&app, &order, &idempotency_key()).await;
        took.push(started.elapsed());
        assert_eq!(answer.outage_problem(), None);
    }
    assert_eq!(
        razorpay.books().answered_503,
        asked,
        "a refused checkout reached Razorpay"
    );
    took.sort();
    eprintln!("razorpay known down: checkouts refused in {took:?}");
    assert!(took[took.len() / 2] < Duration::from_millis(50), "{took:?}");
    let (state, refused) = crate::faults::breakers::breaker_metrics(&app, "razorpay").await;
    assert_eq!((state, refused), (2, 8));

    razorpay.set(Fault::None);
    let back = std::time::Instant::now();
    let order = orders.next().unwrap();
    let key = idempotency_key();
    loop {
        let answer = checkout(&app, &order, &key).await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert_eq!(answer.outage_problem(), None);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "Razorpay is never asked again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "razorpay back: a checkout succeeds after {:?}",
        back.elapsed()
    );
    assert_eq!(
        crate::faults::breakers::breaker_metrics(&app, "razorpay")
            .await
            .0,
        0
    );
}
