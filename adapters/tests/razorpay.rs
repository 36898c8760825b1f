//! Holds `RazorpayClient` to Razorpay's REST API v1 as described in
//! `shared/contracts/razorpay.md`, with a wiremock server standing in for Razorpay, and checks
//! what `FakeRazorpay` promises, including that its webhooks verify and parse.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::razorpay::{
    parse_webhook, verify_checkout_signature, verify_webhook_signature, CreateOrder, FakeRazorpay,
    Notes, OrderStatus, PaymentGateway, PaymentRefundStatus, PaymentStatus, RazorpayCall,
    RazorpayClient, RazorpaySettings, RefundRequest, RefundSpeed, RefundStatus, FAKE_ACCOUNT_ID,
};
use bazaar_adapters::retry::RetryPolicy;
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

#[macro_use]
mod common;

const KEY_ID: &str = "rzp_test_1DP5mmOlF5G5ag";
const KEY_SECRET: &str = "thisIsATestKeySecret9f3c";
/// base64 of `KEY_ID:KEY_SECRET`, which must no more appear in logs than the secret itself.
const BASIC_CREDENTIALS: &str = "cnpwX3Rlc3RfMURQNW1tT2xGNUc1YWc6dGhpc0lzQVRlc3RLZXlTZWNyZXQ5ZjNj";
const WEBHOOK_SECRET: &str = "whsec-test-6b1d2e";

fn settings(server: &MockServer) -> RazorpaySettings {
    RazorpaySettings {
        base_url: format!("{}/v1", server.uri()),
        key_id: KEY_ID.to_owned(),
        key_secret: SecretString::from(KEY_SECRET),
        timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
    }
}

fn client(server: &MockServer) -> RazorpayClient {
    RazorpayClient::new(settings(server)).expect("test settings are valid")
}

/// A mock for `method path` that only matches with our Basic auth credentials.
fn razorpay(http_method: &str, endpoint: &str) -> MockBuilder {
    Mock::given(method(http_method))
        .and(path(endpoint))
        .and(basic_auth(KEY_ID, KEY_SECRET))
}

fn new_order() -> CreateOrder {
    CreateOrder {
        amount_paise: 50_000,
        currency: "INR".to_owned(),
        receipt: Some("ord_42".to_owned()),
        notes: Notes::from([("bazaar_order".to_owned(), "ord_42".to_owned())]),
    }
}

/// An order as Razorpay's docs show it, `notes: []` included.
fn order_body() -> Value {
    json!({
        "id": "order_IluGWxBm9U8zJ8",
        "entity": "order",
        "amount": 50000,
        "amount_paid": 0,
        "amount_due": 50000,
        "currency": "INR",
        "receipt": "ord_42",
        "offer_id": null,
        "status": "created",
        "attempts": 0,
        "notes": [],
        "created_at": 1_642_662_092
    })
}

/// Razorpay's list answer holding `items`.
fn collection(items: Vec<Value>) -> Value {
    json!({"entity": "collection", "count": items.len(), "items": items})
}

/// `GET /v1/orders?receipt=ord_42`: the look-up the client makes before creating an order.
fn lookup_by_receipt() -> MockBuilder {
    razorpay("GET", "/v1/orders").and(query_param("receipt", "ord_42"))
}

/// The look-up answering that Razorpay has `items` under `ord_42`, asked `times` times.
async fn orders_under_the_receipt(server: &MockServer, items: Vec<Value>, times: u64) {
    lookup_by_receipt()
        .respond_with(ResponseTemplate::new(200).set_body_json(collection(items)))
        .expect(times)
        .mount(server)
        .await;
}

/// The look-up answering that Razorpay has no order under `ord_42`, asked `times` times.
async fn no_order_under_the_receipt(server: &MockServer, times: u64) {
    orders_under_the_receipt(server, Vec::new(), times).await;
}

/// `POST /v1/orders` answering the documented order, expected `times` times.
async fn order_creations(server: &MockServer, times: u64) {
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(times)
        .mount(server)
        .await;
}

/// A captured UPI payment as Razorpay's docs show it, with fields this adapter does not read.
fn payment_body() -> Value {
    json!({
        "id": "pay_G8VQzjPLoAvm6D",
        "entity": "payment",
        "amount": 50000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_IluGWxBm9U8zJ8",
        "invoice_id": null,
        "international": false,
        "method": "upi",
        "amount_refunded": 0,
        "refund_status": null,
        "captured": true,
        "description": "Bazaar order ord_42",
        "card_id": null,
        "bank": null,
        "wallet": null,
        "vpa": "gaurav.kumar@exampleupi",
        "email": "gaurav.kumar@example.com",
        "contact": "+919000090000",
        "notes": {"bazaar_order": "ord_42"},
        "fee": 1180,
        "tax": 180,
        "error_code": null,
        "error_description": null,
        "error_source": null,
        "error_step": null,
        "error_reason": null,
        "acquirer_data": {"rrn": "033814379298", "upi_transaction_id": "0A1B2C3D"},
        "created_at": 1_606_985_209
    })
}

fn refund_body() -> Value {
    json!({
        "id": "rfnd_FP8QHiV938haTz",
        "entity": "refund",
        "amount": 1000,
        "receipt": "rf_ord_42_1",
        "currency": "INR",
        "payment_id": "pay_G8VQzjPLoAvm6D",
        "notes": [],
        "acquirer_data": {"arn": "74836112345678901234567"},
        "created_at": 1_597_078_866,
        "batch_id": null,
        "status": "processed",
        "speed_processed": "instant",
        "speed_requested": "optimum"
    })
}

fn refund_request(amount_paise: Option<u64>) -> RefundRequest {
    RefundRequest {
        payment_id: "pay_G8VQzjPLoAvm6D".to_owned(),
        amount_paise,
        idempotency_key: "refund_ord_42_1".to_owned(),
        notes: Notes::new(),
        receipt: None,
        speed: None,
    }
}

fn error_body(description: &str, field: Option<&str>) -> Value {
    json!({"error": {
        "code": "BAD_REQUEST_ERROR",
        "description": description,
        "field": field,
        "source": "business",
        "step": "payment_initiation",
        "reason": "input_validation_failed",
        "metadata": {}
    }})
}

// ---------------------------------------------------------------------------------------------
// The real client against the contract
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_order_finds_no_order_under_the_receipt_then_posts_paise_currency_receipt_and_notes()
{
    let server = MockServer::start().await;
    no_order_under_the_receipt(&server, 1).await;
    razorpay("POST", "/v1/orders")
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "amount": 50000,
            "currency": "INR",
            "receipt": "ord_42",
            "notes": {"bazaar_order": "ord_42"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(1)
        .mount(&server)
        .await;

    let order = client(&server)
        .create_order(&new_order())
        .await
        .expect("Razorpay created the order");

    assert_eq!(order.id, "order_IluGWxBm9U8zJ8");
    assert_eq!(order.entity, "order");
    assert_eq!(
        (order.amount, order.amount_paid, order.amount_due),
        (50_000, 0, 50_000)
    );
    assert_eq!(order.currency, "INR");
    assert_eq!(order.receipt.as_deref(), Some("ord_42"));
    assert_eq!(order.offer_id, None);
    assert_eq!(order.status, OrderStatus::Created);
    assert_eq!(order.attempts, 0);
    assert_eq!(order.notes, Notes::new(), "notes: [] reads as empty");
    assert_eq!(order.created_at, 1_642_662_092);
}

#[tokio::test]
async fn create_order_leaves_out_a_missing_receipt_and_empty_notes() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/orders")
        .and(body_json(json!({"amount": 100, "currency": "INR"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(1)
        .mount(&server)
        .await;
    let order = CreateOrder {
        amount_paise: 100,
        currency: "INR".to_owned(),
        receipt: None,
        notes: Notes::new(),
    };

    let result = client(&server).create_order(&order).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn an_order_razorpay_would_refuse_is_rejected_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(0)
        .mount(&server)
        .await;
    let too_many_notes = (0..16).map(|n| (format!("k{n}"), "v".to_owned())).collect();
    let refused = [
        CreateOrder {
            amount_paise: 99,
            ..new_order()
        },
        CreateOrder {
            receipt: Some("r".repeat(41)),
            ..new_order()
        },
        CreateOrder {
            notes: too_many_notes,
            ..new_order()
        },
        CreateOrder {
            notes: Notes::from([("k".to_owned(), "v".repeat(257))]),
            ..new_order()
        },
    ];

    for order in refused {
        let result = client(&server).create_order(&order).await;

        assert!(
            matches!(
                result,
                Err(AdapterError::Rejected {
                    provider: "razorpay",
                    status: 400,
                    ..
                })
            ),
            "{order:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn refund_posts_the_amount_and_options_with_the_idempotency_key_header() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .and(header("X-Refund-Idempotency", "refund_ord_42_1"))
        .and(body_json(json!({
            "amount": 1000,
            "speed": "optimum",
            "notes": {"reason": "damaged"},
            "receipt": "rf_ord_42_1"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund_body()))
        .expect(1)
        .mount(&server)
        .await;
    let request = RefundRequest {
        notes: Notes::from([("reason".to_owned(), "damaged".to_owned())]),
        receipt: Some("rf_ord_42_1".to_owned()),
        speed: Some(RefundSpeed::Optimum),
        ..refund_request(Some(1000))
    };

    let refund = client(&server)
        .refund(&request)
        .await
        .expect("Razorpay accepted the refund");

    assert_eq!(refund.id, "rfnd_FP8QHiV938haTz");
    assert_eq!(refund.amount, 1000);
    assert_eq!(refund.payment_id, "pay_G8VQzjPLoAvm6D");
    assert_eq!(refund.status, RefundStatus::Processed);
    assert_eq!(refund.speed_requested, Some(RefundSpeed::Optimum));
    assert_eq!(refund.speed_processed, Some(RefundSpeed::Instant));
    assert_eq!(refund.arn(), Some("74836112345678901234567"));
    assert_eq!(refund.receipt.as_deref(), Some("rf_ord_42_1"));
    assert_eq!(refund.notes, Notes::new());
}

#[tokio::test]
async fn a_refund_without_an_amount_sends_no_amount_so_razorpay_refunds_in_full() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .and(header("X-Refund-Idempotency", "refund_ord_42_1"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund_body()))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).refund(&refund_request(None)).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn a_refund_with_an_unusable_idempotency_key_is_rejected_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(refund_body()))
        .expect(0)
        .mount(&server)
        .await;

    for key in ["short_key", "refund key 42", "refund/ord/42"] {
        let request = RefundRequest {
            idempotency_key: key.to_owned(),
            ..refund_request(None)
        };

        let result = client(&server).refund(&request).await;

        assert!(
            matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
            "{key:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn fetch_payment_reads_the_documented_payment_and_ignores_unknown_fields() {
    let server = MockServer::start().await;
    razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D")
        .respond_with(ResponseTemplate::new(200).set_body_json(payment_body()))
        .expect(1)
        .mount(&server)
        .await;

    let payment = client(&server)
        .fetch_payment("pay_G8VQzjPLoAvm6D")
        .await
        .expect("the payment");

    assert_eq!(payment.id, "pay_G8VQzjPLoAvm6D");
    assert_eq!(payment.amount, 50_000);
    assert_eq!(payment.status, PaymentStatus::Captured);
    assert!(payment.captured);
    assert_eq!(payment.order_id.as_deref(), Some("order_IluGWxBm9U8zJ8"));
    assert_eq!(payment.method, "upi");
    assert_eq!(payment.refund_status, None);
    assert_eq!((payment.fee, payment.tax), (Some(1180), Some(180)));
    assert_eq!(
        payment.notes.get("bazaar_order").map(String::as_str),
        Some("ord_42")
    );
    assert_eq!(payment.acquirer_data["rrn"], "033814379298");
    assert_eq!(payment.email.as_deref(), Some("gaurav.kumar@example.com"));
}

#[tokio::test]
async fn a_status_razorpay_adds_later_parses_as_other() {
    let server = MockServer::start().await;
    let mut body = payment_body();
    body["status"] = json!("on_hold");
    body["refund_status"] = json!("partial");
    razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D")
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let payment = client(&server)
        .fetch_payment("pay_G8VQzjPLoAvm6D")
        .await
        .expect("an unknown status still parses");

    assert_eq!(payment.status, PaymentStatus::Other("on_hold".to_owned()));
    assert_eq!(payment.refund_status, Some(PaymentRefundStatus::Partial));
}

#[tokio::test]
async fn fetch_refund_gets_the_refund_under_its_payment() {
    let server = MockServer::start().await;
    razorpay(
        "GET",
        "/v1/payments/pay_G8VQzjPLoAvm6D/refunds/rfnd_FP8QHiV938haTz",
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(refund_body()))
    .expect(1)
    .mount(&server)
    .await;

    let refund = client(&server)
        .fetch_refund("pay_G8VQzjPLoAvm6D", "rfnd_FP8QHiV938haTz")
        .await
        .expect("the refund");

    assert_eq!(refund.id, "rfnd_FP8QHiV938haTz");
    assert_eq!(refund.status, RefundStatus::Processed);
}

#[tokio::test]
async fn order_payments_reads_the_items_of_razorpays_collection() {
    let server = MockServer::start().await;
    let mut failed = payment_body();
    failed["id"] = json!("pay_G8VQzjPLoAvm6C");
    failed["status"] = json!("failed");
    failed["captured"] = json!(false);
    failed["notes"] = json!([]);
    failed["error_code"] = json!("BAD_REQUEST_ERROR");
    failed["error_reason"] = json!("payment_cancelled");
    razorpay("GET", "/v1/orders/order_IluGWxBm9U8zJ8/payments")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entity": "collection",
            "count": 2,
            "items": [payment_body(), failed]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let payments = client(&server)
        .order_payments("order_IluGWxBm9U8zJ8")
        .await
        .expect("the payments");

    let summary: Vec<_> = payments
        .iter()
        .map(|payment| (payment.id.as_str(), payment.status.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("pay_G8VQzjPLoAvm6D", PaymentStatus::Captured),
            ("pay_G8VQzjPLoAvm6C", PaymentStatus::Failed),
        ]
    );
    assert_eq!(
        payments[1].error_reason.as_deref(),
        Some("payment_cancelled")
    );
}

#[tokio::test]
async fn capture_posts_the_amount_and_currency() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/capture")
        .and(body_json(json!({"amount": 50000, "currency": "INR"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(payment_body()))
        .expect(1)
        .mount(&server)
        .await;

    let payment = client(&server)
        .capture_payment("pay_G8VQzjPLoAvm6D", 50_000, "INR")
        .await
        .expect("captured");

    assert_eq!(payment.status, PaymentStatus::Captured);
}

#[tokio::test]
async fn an_id_that_would_change_the_path_is_rejected_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(payment_body()))
        .expect(0)
        .mount(&server)
        .await;

    let result = client(&server)
        .fetch_payment("pay_1/../../orders/order_2")
        .await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_500_followed_by_success_creates_the_order_after_one_retry() {
    let server = MockServer::start().await;
    no_order_under_the_receipt(&server, 2).await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).create_order(&new_order()).await;

    assert_eq!(
        result.ok().map(|order| order.id).as_deref(),
        Some("order_IluGWxBm9U8zJ8")
    );
}

#[tokio::test]
async fn an_order_razorpay_already_has_under_the_receipt_is_reused_and_nothing_is_posted() {
    let server = MockServer::start().await;
    orders_under_the_receipt(&server, vec![order_body()], 1).await;
    order_creations(&server, 0).await;

    let order = client(&server)
        .create_order(&new_order())
        .await
        .expect("the existing order");

    assert_eq!(order.id, "order_IluGWxBm9U8zJ8");
    assert_eq!(order.receipt.as_deref(), Some("ord_42"));
}

#[tokio::test]
async fn an_order_under_the_receipt_for_another_amount_is_a_409_rejection_and_nothing_is_posted() {
    let server = MockServer::start().await;
    let mut other_amount = order_body();
    other_amount["amount"] = json!(49_900);
    orders_under_the_receipt(&server, vec![other_amount], 1).await;
    order_creations(&server, 0).await;

    let result = client(&server).create_order(&new_order()).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 409);
            assert!(message.starts_with("receipt: "), "message: {message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_listed_under_another_receipt_is_not_reused() {
    let server = MockServer::start().await;
    let mut other_receipt = order_body();
    other_receipt["receipt"] = json!("ord_41");
    other_receipt["id"] = json!("order_Other00000001");
    orders_under_the_receipt(&server, vec![other_receipt], 1).await;
    order_creations(&server, 1).await;

    let order = client(&server).create_order(&new_order()).await;

    assert_eq!(
        order.ok().map(|order| order.id).as_deref(),
        Some("order_IluGWxBm9U8zJ8")
    );
}

#[tokio::test]
async fn an_order_created_whose_answer_timed_out_is_found_by_the_retry_and_not_created_again() {
    let server = MockServer::start().await;
    // Razorpay as it behaves: the POST creates the order at once, the answer comes too late
    // for the client's 200 ms timeout, and the list then shows the order.
    let created: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listed = Arc::clone(&created);
    lookup_by_receipt()
        .respond_with(move |_: &Request| {
            let items = listed.lock().unwrap_or_else(|e| e.into_inner()).clone();
            ResponseTemplate::new(200).set_body_json(collection(items))
        })
        .expect(2)
        .mount(&server)
        .await;
    let stored = Arc::clone(&created);
    razorpay("POST", "/v1/orders")
        .respond_with(move |_: &Request| {
            stored
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(order_body());
            ResponseTemplate::new(200)
                .set_body_json(order_body())
                .set_delay(Duration::from_secs(2))
        })
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).create_order(&new_order()).await;

    assert_eq!(
        result.ok().map(|order| order.id).as_deref(),
        Some("order_IluGWxBm9U8zJ8")
    );
    assert_eq!(created.lock().unwrap_or_else(|e| e.into_inner()).len(), 1);
}

#[tokio::test]
async fn a_look_up_that_fails_is_retried_before_anything_is_posted() {
    let server = MockServer::start().await;
    lookup_by_receipt()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    no_order_under_the_receipt(&server, 1).await;
    order_creations(&server, 1).await;

    let result = client(&server).create_order(&new_order()).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn an_order_without_a_receipt_is_posted_without_a_look_up() {
    let server = MockServer::start().await;
    razorpay("GET", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_json(collection(Vec::new())))
        .expect(0)
        .mount(&server)
        .await;
    order_creations(&server, 1).await;
    let order = CreateOrder {
        receipt: None,
        ..new_order()
    };

    let result = client(&server).create_order(&order).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn a_retried_refund_sends_the_same_idempotency_key_each_time() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .and(header("X-Refund-Idempotency", "refund_ord_42_1"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .and(header("X-Refund-Idempotency", "refund_ord_42_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund_body()))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).refund(&refund_request(Some(1000))).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_before_retrying() {
    let server = MockServer::start().await;
    no_order_under_the_receipt(&server, 2).await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();

    let result = client(&server).create_order(&new_order()).await;

    assert!(result.is_ok(), "got {result:?}");
    // Backoff alone would have retried after at most 10 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_razorpay_error_body_is_a_rejection_with_the_field_and_description_and_is_not_retried() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(
            "The refund amount provided is greater than amount captured",
            Some("amount"),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).refund(&refund_request(Some(60_000))).await;

    match result {
        Err(AdapterError::Rejected {
            provider,
            status,
            message,
        }) => {
            assert_eq!((provider, status), ("razorpay", 400));
            assert_eq!(
                message,
                "amount: The refund amount provided is greater than amount captured"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_error_without_a_field_is_rejected_with_the_description_alone() {
    let server = MockServer::start().await;
    razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D")
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(error_body("The id provided does not exist", None)),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).fetch_payment("pay_G8VQzjPLoAvm6D").await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert_eq!(message, "The id provided does not exist");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_concurrent_duplicate_refund_is_a_409_rejection() {
    let server = MockServer::start().await;
    razorpay("POST", "/v1/payments/pay_G8VQzjPLoAvm6D/refund")
        .respond_with(ResponseTemplate::new(409).set_body_json(error_body(
            "Another request with the same idempotency key is in progress",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).refund(&refund_request(None)).await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 409, .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_401_means_razorpay_refused_our_keys_and_is_not_retried() {
    let server = MockServer::start().await;
    // The look-up by receipt is the first request, and gets the refusal.
    Mock::given(path("/v1/orders"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": "BAD_REQUEST_ERROR",
            "description": "The api key provided is invalid",
            "field": null
        }})))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).create_order(&new_order()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unauthorized {
                provider: "razorpay"
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_200_that_is_not_an_order_is_unavailable_not_success() {
    let server = MockServer::start().await;
    no_order_under_the_receipt(&server, 3).await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;

    let result = client(&server).create_order(&new_order()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable {
                provider: "razorpay",
                ..
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable() {
    let server = MockServer::start().await;
    razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(payment_body())
                .set_delay(Duration::from_secs(2)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let started = Instant::now();

    let result = client(&server).fetch_payment("pay_G8VQzjPLoAvm6D").await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable {
                provider: "razorpay",
                ..
            })
        ),
        "got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn debug_output_of_settings_and_client_never_shows_the_key_secret() {
    let server = MockServer::start().await;

    let settings_debug = format!("{:?}", settings(&server));
    let client_debug = format!("{:?}", client(&server));

    assert!(settings_debug.contains("key_secret"), "{settings_debug}");
    assert!(client_debug.contains("REDACTED"), "{client_debug}");
    assert!(client_debug.contains(KEY_ID), "{client_debug}");
    for debug in [&settings_debug, &client_debug] {
        assert!(!debug.contains(KEY_SECRET), "{debug}");
        assert!(!debug.contains(BASIC_CREDENTIALS), "{debug}");
    }
}

#[tokio::test]
async fn logs_of_retried_and_refused_calls_never_contain_the_key_secret_or_the_credentials() {
    let captured = common::CapturedLogs::start();
    let server = MockServer::start().await;
    no_order_under_the_receipt(&server, 2).await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    razorpay("POST", "/v1/orders")
        .respond_with(ResponseTemplate::new(200).set_body_json(order_body()))
        .mount(&server)
        .await;
    razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D")
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(error_body("The api key provided is invalid", None)),
        )
        .mount(&server)
        .await;

    let created = client(&server).create_order(&new_order()).await;
    let refused = client(&server).fetch_payment("pay_G8VQzjPLoAvm6D").await;

    assert!(created.is_ok(), "got {created:?}");
    assert!(
        matches!(refused, Err(AdapterError::Unauthorized { .. })),
        "got {refused:?}"
    );
    let logs = captured.text();
    for expected in [
        "razorpay.create_order",
        "retrying",
        "order_IluGWxBm9U8zJ8",
        "The api key provided is invalid",
    ] {
        assert!(
            logs.contains(expected),
            "{expected:?} was not logged: {logs}"
        );
    }
    for secret in [KEY_SECRET, BASIC_CREDENTIALS, "Basic "] {
        assert!(!logs.contains(secret), "logs contain {secret:?}: {logs}");
    }
}

#[test]
fn an_empty_key_id_or_secret_is_refused_when_the_client_is_built() {
    let base = RazorpaySettings {
        base_url: "https://api.razorpay.com/v1".to_owned(),
        key_id: KEY_ID.to_owned(),
        key_secret: SecretString::from(KEY_SECRET),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };
    let refused = [
        RazorpaySettings {
            key_secret: SecretString::from(""),
            ..base.clone()
        },
        RazorpaySettings {
            key_id: " ".to_owned(),
            ..base.clone()
        },
        RazorpaySettings {
            key_id: "rzp:test".to_owned(),
            ..base.clone()
        },
    ];

    assert!(RazorpayClient::new(base).is_ok());
    for settings in refused {
        let result = RazorpayClient::new(settings);
        assert!(
            matches!(
                result,
                Err(AdapterError::Unauthorized {
                    provider: "razorpay"
                })
            ),
            "got {result:?}"
        );
    }
}

#[test]
fn a_base_url_that_is_not_http_is_refused_when_the_client_is_built() {
    let settings = RazorpaySettings {
        base_url: "api.razorpay.com/v1".to_owned(),
        key_id: KEY_ID.to_owned(),
        key_secret: SecretString::from(KEY_SECRET),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };

    let result = RazorpayClient::new(settings);

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable {
                provider: "razorpay",
                ..
            })
        ),
        "got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------

fn fake() -> FakeRazorpay {
    FakeRazorpay::new(
        KEY_ID,
        SecretString::from(KEY_SECRET),
        SecretString::from(WEBHOOK_SECRET),
    )
}

fn webhook_secrets() -> Vec<SecretString> {
    vec![
        SecretString::from("an-old-rotated-secret"),
        SecretString::from(WEBHOOK_SECRET),
    ]
}

/// A fake with one order paid in full by UPI; returns the order and payment ids.
async fn paid_order(fake: &FakeRazorpay) -> (String, String) {
    let order = fake
        .create_order(&new_order())
        .await
        .expect("order created");
    let payment = fake.pay_order(&order.id, "upi").expect("order paid");
    (order.id, payment.id)
}

#[tokio::test]
async fn the_fake_reuses_the_order_it_has_under_a_receipt_and_refuses_another_amount() {
    let fake = fake();
    let first = fake.create_order(&new_order()).await.expect("created");

    let again = fake.create_order(&new_order()).await.expect("reused");
    let other_amount = fake
        .create_order(&CreateOrder {
            amount_paise: 49_900,
            ..new_order()
        })
        .await;
    let other_receipt = fake
        .create_order(&CreateOrder {
            receipt: Some("ord_43".to_owned()),
            ..new_order()
        })
        .await
        .expect("created");

    assert_eq!(again, first);
    assert!(
        matches!(
            other_amount,
            Err(AdapterError::Rejected { status: 409, .. })
        ),
        "got {other_amount:?}"
    );
    assert_ne!(other_receipt.id, first.id);
}

#[tokio::test]
async fn the_fake_numbers_its_ids_and_a_paid_order_has_a_captured_payment() {
    let fake = fake();

    let (order_id, payment_id) = paid_order(&fake).await;

    assert_eq!(
        (order_id.as_str(), payment_id.as_str()),
        ("order_Fake0001", "pay_Fake0001")
    );
    let order = fake.order(&order_id).expect("the order");
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!((order.amount_paid, order.amount_due), (50_000, 0));
    assert_eq!(order.attempts, 1);
    let payment = fake.fetch_payment(&payment_id).await.expect("the payment");
    assert_eq!(payment.status, PaymentStatus::Captured);
    assert!(payment.captured);
    assert_eq!(payment.amount, 50_000);
    assert_eq!(payment.method, "upi");
    assert_eq!(payment.order_id.as_deref(), Some("order_Fake0001"));
}

#[tokio::test]
async fn the_fakes_checkout_signature_verifies_with_its_key_secret_for_that_order_only() {
    let fake = fake();
    let (order_id, payment_id) = paid_order(&fake).await;

    let signature = fake.checkout_signature_for(&order_id, &payment_id);

    let key_secret = SecretString::from(KEY_SECRET);
    assert!(verify_checkout_signature(
        &key_secret,
        &order_id,
        &payment_id,
        &signature
    ));
    assert!(!verify_checkout_signature(
        &key_secret,
        "order_Fake0002",
        &payment_id,
        &signature
    ));
    assert!(!verify_checkout_signature(
        &SecretString::from(WEBHOOK_SECRET),
        &order_id,
        &payment_id,
        &signature
    ));
}

#[tokio::test]
async fn the_fakes_payment_webhooks_are_signed_parse_and_tell_the_payments_story() {
    let fake = fake();
    let (order_id, payment_id) = paid_order(&fake).await;

    let deliveries = fake
        .webhooks_for_payment(&payment_id)
        .expect("the payment exists");

    let events: Vec<_> = deliveries.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        events,
        ["payment.authorized", "payment.captured", "order.paid"]
    );
    for delivery in &deliveries {
        assert!(
            verify_webhook_signature(&webhook_secrets(), &delivery.body, &delivery.signature),
            "{} does not verify",
            delivery.event
        );
        let event = parse_webhook(&delivery.body).expect("a Razorpay envelope");
        assert_eq!(event.event, delivery.event);
        assert_eq!(event.entity, "event");
        assert_eq!(event.account_id, FAKE_ACCOUNT_ID);
        assert_eq!(
            event.payment().map(|payment| payment.id.as_str()),
            Some(payment_id.as_str())
        );
    }
    let statuses: Vec<_> = deliveries
        .iter()
        .map(|d| {
            parse_webhook(&d.body)
                .expect("parses")
                .payment()
                .map(|p| p.status.clone())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            Some(PaymentStatus::Authorized),
            Some(PaymentStatus::Captured),
            Some(PaymentStatus::Captured)
        ]
    );
    let order_paid = parse_webhook(&deliveries[2].body).expect("parses");
    assert_eq!(order_paid.contains, ["payment", "order"]);
    let order = order_paid.order().expect("order.paid carries the order");
    assert_eq!(
        (order.id.as_str(), &order.status),
        (order_id.as_str(), &OrderStatus::Paid)
    );
}

#[tokio::test]
async fn the_fakes_webhook_bodies_have_razorpays_envelope_shape_with_empty_notes_as_an_array() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;

    let deliveries = fake.webhooks_for_payment(&payment_id).expect("exists");

    let body: Value = serde_json::from_slice(&deliveries[1].body).expect("JSON");
    assert_eq!(body["entity"], "event");
    assert_eq!(body["event"], "payment.captured");
    assert_eq!(body["contains"], json!(["payment"]));
    let payment = &body["payload"]["payment"]["entity"];
    assert_eq!(payment["id"], json!(payment_id));
    assert_eq!(payment["amount"], json!(50_000));
    assert_eq!(payment["notes"], json!([]));
    assert!(body["created_at"].is_i64(), "{body}");
    // The receiver must verify the bytes as sent: a re-serialised body does not verify.
    let reserialised = serde_json::to_vec_pretty(&body).expect("serialises");
    assert!(!verify_webhook_signature(
        &webhook_secrets(),
        &reserialised,
        &deliveries[1].signature
    ));
}

#[tokio::test]
async fn asking_again_gives_the_same_deliveries_as_razorpays_retries_with_distinct_event_ids() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;

    let first = fake.webhooks_for_payment(&payment_id).expect("exists");
    let again = fake.webhooks_for_payment(&payment_id).expect("exists");

    assert_eq!(first, again);
    let mut ids: Vec<_> = first.iter().map(|d| d.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[tokio::test]
async fn a_webhook_signed_by_the_fake_does_not_verify_under_another_secret() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;

    let delivery = &fake.webhooks_for_payment(&payment_id).expect("exists")[0];

    assert!(!verify_webhook_signature(
        &[SecretString::from(KEY_SECRET)],
        &delivery.body,
        &delivery.signature
    ));
}

#[tokio::test]
async fn a_failed_payment_leaves_the_order_payable_and_reconciliation_lists_both_attempts() {
    let fake = fake();
    let order = fake.create_order(&new_order()).await.expect("created");

    let failed = fake.fail_payment(&order.id).expect("the order exists");
    let deliveries = fake.webhooks_for_payment(&failed.id).expect("exists");
    let paid = fake.pay_order(&order.id, "card").expect("still payable");
    let payments = fake
        .order_payments(&order.id)
        .await
        .expect("the order exists");

    assert_eq!(failed.status, PaymentStatus::Failed);
    assert!(failed.error_code.is_some());
    let events: Vec<_> = deliveries.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(events, ["payment.failed"]);
    assert!(verify_webhook_signature(
        &webhook_secrets(),
        &deliveries[0].body,
        &deliveries[0].signature
    ));
    let statuses: Vec<_> = payments
        .iter()
        .map(|p| (p.id.as_str(), p.status.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (failed.id.as_str(), PaymentStatus::Failed),
            (paid.id.as_str(), PaymentStatus::Captured)
        ]
    );
    assert_eq!(fake.order(&order.id).map(|o| o.attempts), Some(2));
    assert!(
        matches!(
            fake.pay_order(&order.id, "upi"),
            Err(AdapterError::Rejected { status: 400, .. })
        ),
        "a paid order cannot be paid again"
    );
}

#[tokio::test]
async fn the_fake_captures_an_authorized_payment_only_for_its_full_amount_and_only_once() {
    let fake = fake();
    let order = fake.create_order(&new_order()).await.expect("created");
    let authorized = fake.authorize_order(&order.id, "card").expect("exists");

    let short = fake.capture_payment(&authorized.id, 49_999, "INR").await;
    let captured = fake.capture_payment(&authorized.id, 50_000, "INR").await;
    let twice = fake.capture_payment(&authorized.id, 50_000, "INR").await;

    assert_eq!(authorized.status, PaymentStatus::Authorized);
    assert!(
        matches!(short, Err(AdapterError::Rejected { status: 400, .. })),
        "got {short:?}"
    );
    assert_eq!(captured.expect("captured").status, PaymentStatus::Captured);
    assert!(
        matches!(twice, Err(AdapterError::Rejected { status: 400, .. })),
        "got {twice:?}"
    );
    assert_eq!(
        fake.order(&order.id).map(|o| o.status),
        Some(OrderStatus::Paid)
    );
}

#[tokio::test]
async fn the_same_refund_request_with_the_same_key_returns_the_same_refund_once() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;
    let request = RefundRequest {
        payment_id: payment_id.clone(),
        ..refund_request(Some(10_000))
    };

    let first = fake.refund(&request).await.expect("refunded");
    let replay = fake.refund(&request).await.expect("replayed");

    assert_eq!(first, replay);
    assert_eq!(first.id, "rfnd_Fake0001");
    assert_eq!(fake.refunds().len(), 1);
    let payment = fake.payment(&payment_id).expect("exists");
    assert_eq!(payment.amount_refunded, 10_000);
    assert_eq!(payment.refund_status, Some(PaymentRefundStatus::Partial));
}

#[tokio::test]
async fn reusing_a_refund_key_for_a_different_request_is_rejected() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;
    let request = RefundRequest {
        payment_id,
        ..refund_request(Some(10_000))
    };
    fake.refund(&request).await.expect("refunded");

    let different = RefundRequest {
        amount_paise: Some(20_000),
        ..request
    };
    let result = fake.refund(&different).await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
        "got {result:?}"
    );
    assert_eq!(fake.refunds().len(), 1);
}

#[tokio::test]
async fn the_fake_refuses_to_refund_more_than_was_captured() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;
    let refund = |key: &str, amount_paise: Option<u64>| RefundRequest {
        payment_id: payment_id.clone(),
        idempotency_key: key.to_owned(),
        ..refund_request(amount_paise)
    };

    let too_much = fake.refund(&refund("refund_key_1", Some(50_001))).await;
    fake.refund(&refund("refund_key_2", Some(30_000)))
        .await
        .expect("a partial refund");
    let beyond_the_rest = fake.refund(&refund("refund_key_3", Some(20_001))).await;
    let the_rest = fake
        .refund(&refund("refund_key_4", None))
        .await
        .expect("the rest");
    let after_full = fake.refund(&refund("refund_key_5", None)).await;

    for result in [&too_much, &beyond_the_rest, &after_full] {
        assert!(
            matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
            "got {result:?}"
        );
    }
    assert_eq!(the_rest.amount, 20_000);
    let payment = fake.payment(&payment_id).expect("exists");
    assert_eq!(payment.status, PaymentStatus::Refunded);
    assert_eq!(payment.refund_status, Some(PaymentRefundStatus::Full));
    assert_eq!(payment.amount_refunded, 50_000);
}

#[tokio::test]
async fn the_fakes_refund_webhooks_are_signed_and_go_from_pending_to_processed() {
    let fake = fake();
    let (_, payment_id) = paid_order(&fake).await;
    let refund = fake
        .refund(&RefundRequest {
            payment_id: payment_id.clone(),
            ..refund_request(None)
        })
        .await
        .expect("refunded");

    let deliveries = fake.webhooks_for_refund(&refund.id).expect("exists");

    let parsed: Vec<_> = deliveries
        .iter()
        .map(|delivery| {
            assert!(verify_webhook_signature(
                &webhook_secrets(),
                &delivery.body,
                &delivery.signature
            ));
            let event = parse_webhook(&delivery.body).expect("parses");
            let refund = event.refund().expect("a refund event carries the refund");
            (
                event.event.clone(),
                refund.id.clone(),
                refund.status.clone(),
            )
        })
        .collect();
    assert_eq!(
        parsed,
        [
            (
                "refund.created".to_owned(),
                refund.id.clone(),
                RefundStatus::Pending
            ),
            (
                "refund.processed".to_owned(),
                refund.id.clone(),
                RefundStatus::Processed
            ),
        ]
    );
    let fetched = fake
        .fetch_refund(&payment_id, &refund.id)
        .await
        .expect("exists");
    assert_eq!(fetched, refund);
    assert!(fetched.arn().is_some());
    let elsewhere = fake.fetch_refund("pay_Fake0009", &refund.id).await;
    assert!(
        matches!(elsewhere, Err(AdapterError::Rejected { status: 400, .. })),
        "got {elsewhere:?}"
    );
}

#[tokio::test]
async fn fail_next_fails_one_call_and_records_nothing_then_calls_are_recorded() {
    let fake = fake();
    fake.fail_next(AdapterError::Unavailable {
        provider: "razorpay",
        message: "simulated outage".to_owned(),
    });

    let failed = fake.create_order(&new_order()).await;
    let created = fake.create_order(&new_order()).await.expect("created");
    fake.order_payments(&created.id).await.expect("exists");

    assert!(
        matches!(failed, Err(AdapterError::Unavailable { .. })),
        "got {failed:?}"
    );
    assert_eq!(created.id, "order_Fake0001");
    assert_eq!(
        fake.calls(),
        [
            RazorpayCall::CreateOrder(new_order()),
            RazorpayCall::OrderPayments {
                order_id: created.id.clone()
            },
        ]
    );
}

#[tokio::test]
async fn the_fake_rejects_what_razorpay_would_and_knows_no_other_ids() {
    let fake = fake();

    let small = fake
        .create_order(&CreateOrder {
            amount_paise: 99,
            ..new_order()
        })
        .await;
    let unknown = fake.fetch_payment("pay_Unknown0001").await;
    let bad_key = fake
        .refund(&RefundRequest {
            idempotency_key: "short".to_owned(),
            ..refund_request(None)
        })
        .await;

    assert!(
        matches!(small, Err(AdapterError::Rejected { status: 400, .. })),
        "got {small:?}"
    );
    match unknown {
        Err(AdapterError::Rejected { message, .. }) => {
            assert_eq!(message, "The id provided does not exist");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(
        matches!(bad_key, Err(AdapterError::Rejected { status: 400, .. })),
        "got {bad_key:?}"
    );
    assert!(fake.calls().is_empty());
}

#[test]
fn an_unknown_event_with_unknown_payload_parses_for_storing_and_acknowledging() {
    let body = br#"{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.dispute.created","contains":["dispute","payment"],"payload":{"dispute":{"entity":{"id":"disp_1","amount":100}},"payment":{"entity":{"id":"pay_1","entity":"payment","amount":100,"currency":"INR","status":"captured","notes":[],"created_at":1}}},"created_at":1700000000}"#;

    let event = parse_webhook(body).expect("unknown events parse");

    assert_eq!(event.event, "payment.dispute.created");
    assert_eq!(event.contains, ["dispute", "payment"]);
    assert_eq!(event.payment().map(|p| p.id.as_str()), Some("pay_1"));
    assert!(event.order().is_none() && event.refund().is_none());
    assert!(parse_webhook(b"not json").is_err());
}

transport_contract! {
    provider: "razorpay",
    stub: razorpay("GET", "/v1/payments/pay_G8VQzjPLoAvm6D"),
    success: ResponseTemplate::new(200).set_body_json(payment_body()),
    refused_credentials: ResponseTemplate::new(401).set_body_json(json!({"error": {
        "code": "BAD_REQUEST_ERROR",
        "description": "The api key provided is invalid",
        "field": null
    }})),
    call: |server| client(&server).fetch_payment("pay_G8VQzjPLoAvm6D").await,
}
