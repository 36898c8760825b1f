//! Orders and money through HTTP: stock reservation, checkout with the fake
//! Razorpay, refunds, the state machine, and the webhook receiver's refusals.

use bazaar::startup::FAKE_RAZORPAY_WEBHOOK_SECRET;
use bazaar_adapters::razorpay::webhook_signature;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::test_app;
use crate::kit::{parse, problem, product_json, Expect, TestApp};
use bazaar::http::orders::body::OrderBody;
use bazaar::http::orders::payments::CheckoutBody;
use bazaar::http::products::ProductBody;

pub(super) async fn product_with_stock(app: &TestApp, sku: &str, price: i64, stock: u32) -> String {
    let mut body = product_json(sku);
    body["price"] = json!(price);
    body["stock"] = json!(stock);
    app.create_product(body).await.id
}

async fn order(app: &TestApp, items: Value) -> reqwest::Response {
    app.post_json("/api/v1/orders", &json!({ "items": items }))
        .await
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// The order an order operation answers; fails unless 200.
async fn order_of(response: reqwest::Response) -> OrderBody {
    response.expect(200).await
}

/// An order the admin places for `items`; fails unless 201.
pub(super) async fn place_order(app: &TestApp, items: Value) -> OrderBody {
    order(app, items).await.expect(201).await
}

/// A product's units left to sell, as the API shows them.
async fn stock_of(app: &TestApp, id: &str) -> Option<u32> {
    let product: ProductBody = app
        .get(&format!("/api/v1/products/{id}"))
        .await
        .expect(200)
        .await;
    product.stock
}

/// A placed order, paid through the development route (the fake Razorpay
/// captures and delivers its signed webhooks to the receiver).
pub(super) async fn paid_order(app: &TestApp, sku: &str, price: i64) -> OrderBody {
    let product = product_with_stock(app, sku, price, 5).await;
    let placed = place_order(app, json!([{ "product_id": product, "quantity": 2 }])).await;
    let checkout: CheckoutBody = app
        .post(
            &format!("/api/v1/orders/{}/payments", placed.id),
            &json!({}),
        )
        .expect(200)
        .await;
    app.post(
        &format!(
            "/api/v1/dev/payments/{}/capture",
            checkout.razorpay_order_id
        ),
        &json!({}),
    )
    .expect(200)
    .await
}

#[tokio::test]
async fn an_order_snapshots_prices_adds_gst_and_reserves_stock() {
    let app = test_app().spawn().await;
    let a = product_with_stock(&app, "O-1", 1_003, 5).await;
    let b = product_with_stock(&app, "O-2", 20_000, 1).await;

    let response = order(
        &app,
        json!([{ "product_id": a, "quantity": 2 }, { "product_id": b, "quantity": 1 }]),
    )
    .await;

    assert_eq!(response.status(), 201);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/api/v1/orders/"));
    let placed: OrderBody = parse(response).await;
    assert_eq!(placed.status.0.as_str(), "pending_payment");
    assert_eq!(placed.subtotal, 22_006);
    // No address: supplied in the seller's state, CGST and SGST at 9% each, per line:
    // 9% of 2,006 paise is 180.54 → 181, of 20,000 is 1,800; 1,981 per head.
    assert_eq!(placed.tax, 3_962);
    assert_eq!(placed.total, 25_968);
    assert_eq!(placed.items[0].unit_price, 1_003);
    assert_eq!(stock_of(&app, &a).await, Some(3));
    assert_eq!(stock_of(&app, &b).await, Some(0));
}

/// An order placed with explicit items is taxed by the state its address's PIN code is in:
/// CGST + SGST in the seller's state (Karnataka, the sample seller's), IGST elsewhere. The
/// two differ here by the rounding: 9% of 2,006 paise is 180.54 → 181 per head (362), 18%
/// is 361.08 → 361.
#[tokio::test]
async fn an_orders_tax_follows_the_state_its_address_is_in() {
    let app = test_app().spawn().await;
    let a = product_with_stock(&app, "O-PS", 1_003, 10).await;
    let placed = |postal_code: &'static str| {
        let body = json!({
            "items": [{ "product_id": a.clone(), "quantity": 2 }],
            "address": {
                "name": "Asha Rao", "line1": "12 Main Road", "city": "Somewhere",
                "state": "Somewhere", "postal_code": postal_code,
            },
        });
        let app = &app;
        async move { parse::<OrderBody>(app.post_json("/api/v1/orders", &body).await).await }
    };
    let bengaluru = placed("560001").await;
    assert_eq!((bengaluru.subtotal, bengaluru.tax), (2_006, 362));
    let mumbai = placed("400001").await;
    assert_eq!((mumbai.subtotal, mumbai.tax), (2_006, 361));
    assert_eq!(mumbai.total, 2_006 + 361);
}

#[tokio::test]
async fn an_item_short_of_stock_fails_the_whole_order_and_reserves_nothing() {
    let app = test_app().spawn().await;
    let plenty = product_with_stock(&app, "S-1", 1_000, 10).await;
    let scarce = product_with_stock(&app, "S-2", 1_000, 1).await;

    let response = order(
        &app,
        json!([{ "product_id": plenty, "quantity": 3 }, { "product_id": scarce, "quantity": 2 }]),
    )
    .await;

    let body = problem(response).await;
    assert_eq!(body["status"], 409);
    assert_eq!(body["code"], "insufficient_stock");
    assert_eq!(body["errors"][0]["field"], "items[1].quantity");
    assert_eq!(
        stock_of(&app, &plenty).await,
        Some(10),
        "the first item's units went back"
    );
}

#[tokio::test]
async fn two_concurrent_orders_for_the_last_unit_exactly_one_succeeds() {
    let app = test_app().spawn().await;
    let last = product_with_stock(&app, "L-1", 1_000, 1).await;
    let items = json!([{ "product_id": last, "quantity": 1 }]);

    let (first, second) = tokio::join!(order(&app, items.clone()), order(&app, items.clone()));

    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
}

#[tokio::test]
async fn checkout_then_capture_pays_the_order_with_one_ledger_entry() {
    let app = test_app().spawn().await;

    let paid = paid_order(&app, "P-1", 10_000).await;

    assert_eq!(paid.status.0.as_str(), "paid");
    assert_eq!(paid.captured, paid.total);
    let ledger = &paid.ledger;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(ledger[0].kind.0.as_str(), "capture");
    assert_eq!(ledger[0].status.0.as_str(), "settled");
    // The three webhooks were stored and applied once each.
    let events = json_of(app.get("/api/v1/admin/webhooks").await).await;
    assert_eq!(events["total"], 3);
}

#[tokio::test]
async fn a_refund_larger_than_what_was_captured_is_refused() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "R-1", 10_000).await;
    let id = paid.id.as_str();
    let total = paid.total;
    let refund = |amount: i64| {
        app.client
            .post(app.url(&format!("/api/v1/orders/{id}/actions/refund")))
            .json(&json!({ "amount": amount }))
            .send()
    };

    let too_much = problem(refund(total + 1).await.unwrap()).await;
    let partial = order_of(refund(1_000).await.unwrap()).await;
    let rest_plus_one = problem(refund(total - 1_000 + 1).await.unwrap()).await;
    let rest = order_of(refund(total - 1_000).await.unwrap()).await;

    assert_eq!(too_much["status"], 409);
    assert_eq!(too_much["code"], "refund_exceeds_captured");
    assert_eq!(partial.refunded, 1_000);
    assert_eq!(partial.status.0.as_str(), "paid");
    assert_eq!(rest_plus_one["code"], "refund_exceeds_captured");
    assert_eq!(rest.refunded, total);
    assert_eq!(rest.status.0.as_str(), "refunded");
}

#[tokio::test]
async fn an_illegal_transition_is_a_409_naming_both_states() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "T-1", 10_000).await;
    let id = paid.id.as_str();
    let set = |status: &'static str| {
        app.client
            .put(app.url(&format!("/api/v1/orders/{id}/status")))
            .json(&json!({ "status": status }))
            .send()
    };

    let delivered = order_of(set("delivered").await.unwrap()).await;
    let back = problem(set("shipped").await.unwrap()).await;

    assert_eq!(delivered.status.0.as_str(), "delivered");
    assert_eq!(back["status"], 409);
    assert_eq!(back["code"], "illegal_transition");
    assert_eq!(
        back["detail"],
        "an order cannot go from `delivered` to `shipped`"
    );
}

#[tokio::test]
async fn an_unpaid_order_expires_when_its_time_to_pay_has_passed() {
    // Ten minutes to pay: within the admin's 15-minute access token.
    let app = test_app()
        .env(&[("BAZAAR_ORDER_PAY_WITHIN_SECS", "600")])
        .spawn()
        .await;
    let product = product_with_stock(&app, "X-1", 1_000, 3).await;
    let placed = place_order(&app, json!([{ "product_id": product, "quantity": 2 }])).await;
    let id = placed.id.as_str();
    let checkout = |app: &TestApp| {
        app.client
            .post(app.url(&format!("/api/v1/orders/{id}/payments")))
            .json(&json!({}))
            .send()
    };

    app.advance(std::time::Duration::from_secs(590)).await;
    assert_eq!(checkout(&app).await.unwrap().status(), 200, "still payable");
    app.advance(std::time::Duration::from_secs(11)).await;
    let late = problem(checkout(&app).await.unwrap()).await;

    assert_eq!(late["code"], "illegal_transition");
    let expired = order_of(app.get(&format!("/api/v1/orders/{id}")).await).await;
    assert_eq!(expired.status.0.as_str(), "expired");
    assert_eq!(
        stock_of(&app, &product).await,
        Some(3),
        "its stock went back"
    );
}

#[tokio::test]
async fn cancelling_an_unpaid_order_releases_its_stock() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "C-1", 1_000, 2).await;
    let placed = place_order(&app, json!([{ "product_id": product, "quantity": 2 }])).await;
    let id = placed.id.as_str();

    let cancelled = order_of(
        app.post_json(&format!("/api/v1/orders/{id}/actions/cancel"), &json!({}))
            .await,
    )
    .await;
    let again = problem(
        app.post_json(&format!("/api/v1/orders/{id}/actions/cancel"), &json!({}))
            .await,
    )
    .await;

    assert_eq!(cancelled.status.0.as_str(), "cancelled");
    assert_eq!(again["code"], "illegal_transition");
    assert_eq!(stock_of(&app, &product).await, Some(2));
}

/// A well-formed `payment.captured` event for a Razorpay order nobody has.
fn captured_event() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "entity": "event", "account_id": "acc_Test", "event": "payment.captured",
        "contains": ["payment"],
        "payload": { "payment": { "entity": {
            "id": "pay_Test1", "entity": "payment", "amount": 1000, "currency": "INR",
            "status": "captured", "order_id": "order_Nobody", "method": "upi", "captured": true,
            "amount_refunded": 0, "notes": [], "created_at": 1767225600
        }}},
        "created_at": 1767225600
    }))
    .unwrap()
}

async fn deliver(app: &TestApp, body: Vec<u8>, signature: Option<&str>) -> reqwest::Response {
    let mut request = app
        .anonymous
        .post(app.url("/api/v1/webhooks/razorpay"))
        .header("content-type", "application/json")
        .header("x-razorpay-event-id", "evt_Test1")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-razorpay-signature", signature);
    }
    request.send().await.expect("request sent")
}

#[tokio::test]
async fn webhooks_with_a_bad_signature_are_refused_and_nothing_is_stored() {
    let app = test_app().spawn().await;
    let secret = SecretString::from(FAKE_RAZORPAY_WEBHOOK_SECRET.to_owned());
    let body = captured_event();
    let good = webhook_signature(&secret, &body);
    // The same event re-serialised (pretty-printed) is different bytes.
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    let wrong = webhook_signature(&SecretString::from("another-secret".to_owned()), &body);
    let huge = vec![b' '; 1024 * 1024 + 1];

    let cases = [
        ("no signature", deliver(&app, body.clone(), None).await),
        (
            "wrong secret",
            deliver(&app, body.clone(), Some(&wrong)).await,
        ),
        (
            "re-serialised body",
            deliver(&app, reserialised, Some(&good)).await,
        ),
        ("empty body", deliver(&app, Vec::new(), Some(&good)).await),
        ("1 MB body", deliver(&app, huge, Some(&good)).await),
    ];

    for (what, response) in cases {
        let status = response.status().as_u16();
        assert!(
            status == 401 || (what == "1 MB body" && status == 413),
            "{what}: {status}"
        );
    }
    let stored = json_of(app.get("/api/v1/admin/webhooks").await).await;
    assert_eq!(stored["total"], 0);
    // The good signature over the exact bytes is accepted (and, with no order
    // to apply to, stored and acknowledged), once.
    let accepted = deliver(&app, body.clone(), Some(&good)).await;
    assert_eq!(accepted.status(), 200);
    let again: Value = deliver(&app, body, Some(&good)).await.json().await.unwrap();
    assert_eq!(again["status"], "duplicate");
    let stored = json_of(app.get("/api/v1/admin/webhooks").await).await;
    assert_eq!(stored["total"], 1);
    assert_eq!(stored["items"][0]["deliveries"], 2);
}

/// The outbox messages about order `id`, as the admin view lists them.
async fn notices_of(app: &TestApp, id: &str) -> Vec<Value> {
    let page = json_of(app.get("/api/v1/admin/outbox?limit=100").await).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["dedupe_key"].as_str().unwrap().starts_with(id))
        .cloned()
        .collect()
}

#[tokio::test]
async fn paying_enqueues_the_confirmation_and_receipt_once_and_the_worker_delivers_them() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "N-1", 10_000).await;
    let id = paid.id.as_str();
    let rzp_order = paid.razorpay_order_id.as_deref().unwrap();

    // The fake's webhooks arrive again: the same change, so no new notices.
    json_of(
        app.post_json(
            &format!("/api/v1/dev/payments/{rzp_order}/capture"),
            &json!({}),
        )
        .await,
    )
    .await;

    let mut kinds: Vec<String> = notices_of(&app, id)
        .await
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["order_confirmation", "payment_receipt"]);
    // The worker of this server delivers them to the fake SMS provider.
    let delivered = async {
        loop {
            let states: Vec<Value> = notices_of(&app, id)
                .await
                .iter()
                .map(|m| m["state"].clone())
                .collect();
            if states.iter().all(|s| s == "delivered") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), delivered)
        .await
        .expect("the outbox worker delivered both notices");
}

#[tokio::test]
async fn a_retried_order_with_its_idempotency_key_is_placed_once() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "I-1", 1_000, 5).await;
    let body = json!({ "items": [{ "product_id": product, "quantity": 2 }] });
    let place = |key: &'static str| {
        app.client
            .post(app.url("/api/v1/orders"))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };

    let first = place("order-attempt-1").await.unwrap();
    let retry = place("order-attempt-1").await.unwrap();

    assert_eq!(
        (first.status().as_u16(), retry.status().as_u16()),
        (201, 201)
    );
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (first, retry): (Value, Value) = (first.json().await.unwrap(), retry.json().await.unwrap());
    assert_eq!(first["id"], retry["id"]);
    let stock = stock_of(&app, &product).await;
    assert_eq!(stock, Some(3), "the stock was reserved once");
    let orders = json_of(app.get("/api/v1/orders").await).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1);
}

/// The ambiguous failure: the first attempt stored its order, but its kept
/// answer never was (a timeout after the write, or a crash and the in-flight
/// record expired). The retry runs again and finds that order.
#[tokio::test]
async fn a_retry_whose_answer_was_lost_finds_the_order_instead_of_placing_another() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "L-1", 1_000, 5).await;
    let body = json!({ "items": [{ "product_id": product, "quantity": 2 }] });
    let place = |key: &'static str, body: Value| {
        app.client
            .post(app.url("/api/v1/orders"))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let me = json_of(app.get("/api/v1/users/me").await).await;
    let admin = me["id"].as_str().unwrap();

    let first = place("lost-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    app.lose_kept_answer(Some(admin), "createOrder", "lost-1")
        .await;
    let retry = place("lost-1", body.clone()).await.unwrap();

    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let location = retry.headers()["location"].to_str().unwrap().to_owned();
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(
        retry["id"], first["id"],
        "the retry answers the first order"
    );
    assert!(location.ends_with(first["id"].as_str().unwrap()));
    let orders = json_of(app.get("/api/v1/orders").await).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "one order");
    let stock = stock_of(&app, &product).await;
    assert_eq!(stock, Some(3), "the stock was reserved once");

    // The key on another order, its kept answer lost too, is still refused.
    app.lose_kept_answer(Some(admin), "createOrder", "lost-1")
        .await;
    let other = json!({ "items": [{ "product_id": product, "quantity": 1 }] });
    let reused = place("lost-1", other).await.unwrap();
    assert_eq!(reused.status(), 422);
    assert_eq!(problem(reused).await["code"], "idempotency_key_reused");
    let orders = json_of(app.get("/api/v1/orders").await).await;
    assert_eq!(
        orders["items"].as_array().unwrap().len(),
        1,
        "still one order"
    );
}

#[tokio::test]
async fn an_admin_can_apply_a_stored_event_again_and_nothing_changes_twice() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "A-1", 10_000).await;
    let events = json_of(
        app.get("/api/v1/admin/webhooks?event=payment.captured")
            .await,
    )
    .await;
    let event_id = events["items"][0]["event_id"].as_str().unwrap();

    let reapplied = json_of(
        app.post_json(
            &format!("/api/v1/admin/webhooks/{event_id}/actions/reapply"),
            &json!({}),
        )
        .await,
    )
    .await;

    assert_eq!(reapplied["outcome"], "no change");
    let id = paid.id.as_str();
    let after = order_of(app.get(&format!("/api/v1/orders/{id}")).await).await;
    assert_eq!(after.version, paid.version);
    assert_eq!(after.ledger.len(), 1);
}

#[tokio::test]
async fn the_sales_summary_counts_a_paid_order_and_its_refund() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "Y-1", 10_000).await;
    let id = paid.id.as_str();
    json_of(
        app.post_json(
            &format!("/api/v1/orders/{id}/actions/refund"),
            &json!({ "amount": 2_000 }),
        )
        .await,
    )
    .await;

    let summary = json_of(app.get("/api/v1/analytics/summary").await).await;

    let total = paid.total;
    assert_eq!(summary["net_revenue"], total - 2_000);
    let paid_count = summary["orders_by_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "paid")
        .unwrap()["orders"]
        .clone();
    assert_eq!(paid_count, 1);
    assert_eq!(summary["top_products"][0]["units"], 2);
    assert_eq!(summary["payment_success_rate"], 1.0);
    // `from` after `to` is an empty range, not an error (the contract cannot relate the two).
    let empty = json_of(
        app.get("/api/v1/analytics/summary?from=2100-12-01&to=2000-11-01")
            .await,
    )
    .await;
    assert_eq!(empty["net_revenue"], 0, "{empty}");
    assert_eq!(empty["checkouts"], 0, "{empty}");
    assert_eq!(empty["top_products"], json!([]), "{empty}");
}

#[tokio::test]
async fn a_customer_sees_only_their_own_orders() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "V-1", 10_000).await;
    let id = paid.id.as_str();
    let pair = super::auth::signed_up_customer(&app, "+919812300077").await;
    let customer = crate::kit::bearer_client(&pair.access_token);

    let theirs = customer
        .get(app.url(&format!("/api/v1/orders/{id}")))
        .send()
        .await
        .unwrap();
    let list: Value = customer
        .get(app.url("/api/v1/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refund = customer
        .post(app.url(&format!("/api/v1/orders/{id}/actions/refund")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(theirs.status(), 404);
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    assert_eq!(refund.status(), 403);
}

#[tokio::test]
async fn redelivered_webhooks_pay_an_order_once_and_write_its_notices_once() {
    let app = test_app().spawn().await;

    let paid = paid_order(&app, "M-1", 10_000).await;
    let id = paid.id.as_str();
    let rzp_order = paid.razorpay_order_id.as_deref().unwrap();
    // Razorpay delivers everything again.
    let again = order_of(
        app.post_json(
            &format!("/api/v1/dev/payments/{rzp_order}/capture"),
            &json!({}),
        )
        .await,
    )
    .await;

    assert_eq!(paid.status.0.as_str(), "paid");
    assert_eq!(
        again.version, paid.version,
        "the redelivery changed nothing"
    );
    assert_eq!(again.ledger.len(), 1);
    let mut kinds: Vec<String> = notices_of(&app, id)
        .await
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["order_confirmation", "payment_receipt"]);
    let events = json_of(app.get("/api/v1/admin/webhooks").await).await;
    assert_eq!(events["total"], 3);
    assert!(events["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["deliveries"] == 2));
}

#[tokio::test]
async fn staff_cancelling_a_paid_order_refunds_it_releases_its_stock_and_tells_the_customer() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "K-1", 10_000).await;
    let id = paid.id.as_str();
    let product = paid.items[0].product_id.as_str();

    let cancelled = order_of(
        app.post_json(&format!("/api/v1/orders/{id}/actions/cancel"), &json!({}))
            .await,
    )
    .await;

    assert_eq!(cancelled.status.0.as_str(), "cancelled");
    assert_eq!(cancelled.refunded, paid.total);
    assert_eq!(cancelled.refundable, 0);
    let stock = stock_of(&app, product).await;
    assert_eq!(stock, Some(5));
    let kinds: Vec<Value> = notices_of(&app, id)
        .await
        .iter()
        .map(|m| m["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("cancellation")), "{kinds:?}");
}

#[tokio::test]
async fn a_full_refund_before_shipping_puts_the_stock_back() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "F-1", 10_000).await;
    let id = paid.id.as_str();
    let product = paid.items[0].product_id.as_str();

    let refunded = order_of(
        app.post_json(&format!("/api/v1/orders/{id}/actions/refund"), &json!({}))
            .await,
    )
    .await;

    assert_eq!(refunded.status.0.as_str(), "refunded");
    let stock = stock_of(&app, product).await;
    assert_eq!(stock, Some(5));
}

#[tokio::test]
async fn orders_below_one_rupee_or_over_the_quantity_limit_are_refused() {
    let app = test_app().spawn().await;
    let cheap = product_with_stock(&app, "Q-1", 50, 10).await;
    let plenty = product_with_stock(&app, "Q-2", 1_000, 5_000).await;

    let tiny = problem(order(&app, json!([{ "product_id": cheap, "quantity": 1 }])).await).await;
    // The default allows 10 units of one product per order.
    let split = problem(
        order(
            &app,
            json!([{ "product_id": plenty, "quantity": 6 }, { "product_id": plenty, "quantity": 5 }]),
        )
        .await,
    )
    .await;
    let eleven =
        problem(order(&app, json!([{ "product_id": plenty, "quantity": 11 }])).await).await;
    let ten = order(&app, json!([{ "product_id": plenty, "quantity": 10 }])).await;

    assert_eq!(tiny["status"], 422);
    assert_eq!(tiny["errors"][0]["code"], "below_minimum");
    assert_eq!(split["status"], 422);
    assert_eq!(split["errors"][0]["field"], "items[1].quantity");
    assert_eq!(eleven["status"], 422);
    assert_eq!(eleven["errors"][0]["field"], "items[0].quantity");
    assert_eq!(eleven["errors"][0]["code"], "out_of_range");
    assert_eq!(ten.status(), 201);
    assert_eq!(
        stock_of(&app, &cheap).await,
        Some(10),
        "nothing stayed reserved"
    );
}

fn etag_of(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_order_read_answers_its_etag_and_304_while_it_is_unchanged() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "E-1", 1_000, 3).await;
    let placed =
        json_of(order(&app, json!([{ "product_id": product, "quantity": 1 }])).await).await;
    let id = placed["id"].as_str().unwrap();
    let path = format!("/api/v1/orders/{id}");

    let read = app.get(&path).await;
    let tag = etag_of(&read);
    let unchanged = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    let cancelled = app
        .post_json(&format!("{path}/actions/cancel"), &json!({}))
        .await;
    let new_tag = etag_of(&cancelled);
    let changed = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();

    assert_eq!(read.status(), 200);
    assert_eq!(tag, format!("\"v{}\"", placed["version"]));
    assert_eq!(unchanged.status(), 304);
    assert_eq!(etag_of(&unchanged), tag);
    assert_ne!(new_tag, tag);
    assert_eq!(changed.status(), 200);
    assert_eq!(etag_of(&changed), new_tag);
}

#[tokio::test]
async fn a_stale_if_match_on_an_order_answers_412_and_changes_nothing() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "E-2", 1_000, 3).await;
    let placed =
        json_of(order(&app, json!([{ "product_id": product, "quantity": 1 }])).await).await;
    let id = placed["id"].as_str().unwrap();
    let path = format!("/api/v1/orders/{id}");
    let stale = "\"v0\"";
    let cancel = |tag: String| {
        app.client
            .post(app.url(&format!("{path}/actions/cancel")))
            .header("if-match", tag)
            .json(&json!({}))
            .send()
    };

    let refused = cancel(stale.to_owned()).await.unwrap();
    let status = refused.status();
    let body = problem(refused).await;
    let after = json_of(app.get(&path).await).await;
    let current = etag_of(&app.get(&path).await);
    let accepted = cancel(current).await.unwrap();

    assert_eq!(status, 412);
    assert_eq!(body["code"], "precondition_failed");
    assert_eq!(after["status"], "pending_payment");
    assert_eq!(after["version"], placed["version"]);
    assert_eq!(accepted.status(), 200);
    assert_eq!(json_of(accepted).await["status"], "cancelled");
}

#[tokio::test]
async fn staff_status_changes_and_refunds_honour_if_match() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "E-3", 10_000).await;
    let id = paid.id.clone();
    let path = format!("/api/v1/orders/{id}");
    let stale = "\"v0\"";
    let paid_ledger = poem_openapi::types::ToJSON::to_json(&paid.ledger).unwrap();

    let status_refused = app
        .client
        .put(app.url(&format!("{path}/status")))
        .header("if-match", stale)
        .json(&json!({ "status": "fulfilled" }))
        .send()
        .await
        .unwrap();
    let refund_refused = app
        .client
        .post(app.url(&format!("{path}/actions/refund")))
        .header("if-match", stale)
        .json(&json!({ "amount": 1_000 }))
        .send()
        .await
        .unwrap();
    let unchanged = json_of(app.get(&path).await).await;
    let current = etag_of(&app.get(&path).await);
    let refunded = app
        .client
        .post(app.url(&format!("{path}/actions/refund")))
        .header("if-match", &current)
        .json(&json!({ "amount": 1_000 }))
        .send()
        .await
        .unwrap();
    let after_refund = etag_of(&refunded);
    let refunded_body = json_of(refunded).await;
    let fulfilled = app
        .client
        .put(app.url(&format!("{path}/status")))
        .header("if-match", &after_refund)
        .json(&json!({ "status": "fulfilled" }))
        .send()
        .await
        .unwrap();

    assert_eq!(status_refused.status(), 412);
    assert_eq!(problem(status_refused).await["code"], "precondition_failed");
    assert_eq!(refund_refused.status(), 412);
    assert_eq!(problem(refund_refused).await["code"], "precondition_failed");
    assert_eq!(unchanged["status"], paid.status.0.as_str());
    assert_eq!(unchanged["version"], paid.version);
    assert_eq!(unchanged["ledger"], paid_ledger);
    assert_ne!(refunded_body["ledger"], paid_ledger);
    assert_eq!(fulfilled.status(), 200);
    assert_eq!(json_of(fulfilled).await["status"], "fulfilled");
}

#[tokio::test]
async fn malformed_order_and_provider_ids_get_400_naming_the_parameter() {
    let app = test_app().spawn().await;

    let order = problem(app.get("/api/v1/orders/not-an-id").await).await;
    let cancel = problem(
        app.post_json("/api/v1/orders/not-an-id/actions/cancel", &json!({}))
            .await,
    )
    .await;
    let user_orders = problem(app.get("/api/v1/users/not-an-id/orders").await).await;
    let capture = problem(
        app.post_json("/api/v1/dev/payments/pay_123/capture", &json!({}))
            .await,
    )
    .await;
    let unknown = problem(app.get("/api/v1/orders/6650c0ffee0000000000c001").await).await;

    for (problem, name) in [
        (&order, "id"),
        (&cancel, "id"),
        (&user_orders, "id"),
        (&capture, "razorpay_order_id"),
    ] {
        assert_eq!(problem["status"], 400, "{problem}");
        assert_eq!(problem["code"], "invalid_parameter");
        assert_eq!(problem["errors"][0]["field"], name);
    }
    assert_eq!(unknown["status"], 404);
}
