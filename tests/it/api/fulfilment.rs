//! Fulfilment and cash on delivery through HTTP: packing, shipping with a carrier,
//! delivery, returns (within the window, restocked or not) and refunds, each a step of
//! the one state machine with its notice in the outbox and its audit event; and the COD
//! lifecycle: the ceiling, the code sent to the phone, confirmation, expiry, collection
//! and the cash refund staff record.

use std::time::Duration;

use serde_json::{json, Value};

use super::auth::{latest_code, signed_up_customer};
use super::orders::{paid_order, product_with_stock};
use super::test_app;
use crate::kit::{bearer_client, problem, Expect, TestApp};
use bazaar::http::orders::body::OrderBody;
use bazaar::http::products::ProductBody;

/// How long the OTP sending cooldown lasts (the default setting).
const OTP_COOLDOWN: Duration = Duration::from_secs(31);

/// A customer with a verified phone who may be sent a code now: their client and phone.
pub(super) async fn customer(app: &TestApp, phone: &str) -> (reqwest::Client, String) {
    let pair = signed_up_customer(app, phone).await;
    let client = bearer_client(&pair.access_token);
    let me: Value = client
        .get(app.url("/api/v1/users/me"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    // The sign-up code's cooldown passes before the COD code is asked for.
    app.advance(OTP_COOLDOWN).await;
    (client, me["phone"].as_str().unwrap().to_owned())
}

fn order_path(id: &str, action: &str) -> String {
    format!("/api/v1/orders/{id}/{action}")
}

/// `setOrderStatus` as the admin.
async fn set_status(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&order_path(id, "status")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A staff action (`POST /orders/{id}/actions/{action}`) as the admin.
async fn staff(app: &TestApp, id: &str, action: &str, body: Value) -> reqwest::Response {
    app.post(&order_path(id, &format!("actions/{action}")), &body)
        .send()
        .await
        .unwrap()
}

async fn units_left(app: &TestApp, product: &str) -> Option<u32> {
    let body: ProductBody = app
        .get(&format!("/api/v1/products/{product}"))
        .await
        .expect(200)
        .await;
    body.stock
}

/// The kinds of the outbox messages written about `order`, in the order written.
async fn notice_kinds(app: &TestApp, order: &str) -> Vec<String> {
    let page: Value = app
        .get("/api/v1/admin/outbox?limit=100")
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    let mut kinds: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["dedupe_key"].as_str().unwrap().starts_with(order))
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The audit events of `kind` about `order`.
async fn audit_events(app: &TestApp, kind: &str, order: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!(
            "/api/v1/audit-events?kind={kind}&order_id={order}"
        ))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn admin_id(app: &TestApp) -> String {
    let me: Value = app
        .get("/api/v1/users/me")
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    me["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_paid_order_is_packed_shipped_delivered_returned_and_refunded_each_with_notice_and_audit()
{
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "F-1", 10_000).await;
    let id = paid.id.as_str();
    let product = paid.items[0].product_id.clone();
    let stock_before = units_left(&app, &product).await;

    let packed: OrderBody = set_status(&app, id, json!({"status": "packed"}))
        .await
        .expect(200)
        .await;
    let shipped: OrderBody = set_status(
        &app,
        id,
        json!({"status": "shipped", "shipment": {"carrier": " Delhivery ", "tracking_number": "DLV123"}}),
    )
    .await
    .expect(200)
    .await;
    let delivered: OrderBody = set_status(&app, id, json!({"status": "delivered"}))
        .await
        .expect(200)
        .await;
    let requested: OrderBody = staff(
        &app,
        id,
        "request-return",
        json!({"reason": "a size too small"}),
    )
    .await
    .expect(200)
    .await;
    let returned: OrderBody = staff(&app, id, "receive-return", json!({"restock": true}))
        .await
        .expect(200)
        .await;
    let refunded: OrderBody = staff(&app, id, "refund", json!({})).await.expect(200).await;

    assert_eq!(packed.status.0.as_str(), "packed");
    let shipment = shipped.shipment.expect("the shipment is kept");
    assert_eq!(
        (shipment.carrier.as_str(), shipment.tracking_number.as_str()),
        ("Delhivery", "DLV123")
    );
    assert!(delivered.delivered_at.is_some());
    assert_eq!(requested.status.0.as_str(), "return_requested");
    assert_eq!(requested.return_request.unwrap().reason, "a size too small");
    assert_eq!(returned.status.0.as_str(), "returned");
    assert_eq!(returned.return_request.unwrap().restocked, Some(true));
    assert_eq!(
        units_left(&app, &product).await,
        stock_before.map(|s| s + 2),
        "the returned units are back on sale"
    );
    assert_eq!(refunded.status.0.as_str(), "refunded");
    assert_eq!(
        notice_kinds(&app, id).await,
        [
            "order_confirmation",
            "order_delivered",
            "order_packed",
            "order_shipped",
            "payment_receipt",
            "refund",
            "return_received",
            "return_requested",
        ]
    );
    let steps = audit_events(&app, "order_status_changed", id).await;
    assert_eq!(steps.len(), 5, "{steps:?}");
    let admin = admin_id(&app).await;
    assert!(steps.iter().all(|e| e["actor_id"] == admin.as_str()));
    assert!(steps.iter().any(|e| e["detail"] == "shipped → delivered"));
    assert!(steps
        .iter()
        .any(|e| e["detail"] == "packed → shipped by Delhivery (DLV123)"));
}

#[tokio::test]
async fn fulfilled_stays_the_released_name_of_packed_and_steps_only_go_forward() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "F-2", 10_000).await;
    let id = paid.id.as_str();

    let fulfilled: OrderBody = set_status(&app, id, json!({"status": "fulfilled"}))
        .await
        .expect(200)
        .await;
    let repacked = problem(set_status(&app, id, json!({"status": "packed"})).await).await;
    let shipment_on_delivery = problem(
        set_status(
            &app,
            id,
            json!({"status": "delivered", "shipment": {"carrier": "x", "tracking_number": "y"}}),
        )
        .await,
    )
    .await;
    let early_return =
        problem(staff(&app, id, "request-return", json!({"reason": "no"})).await).await;

    assert_eq!(fulfilled.status.0.as_str(), "fulfilled");
    assert_eq!(repacked["code"], "illegal_transition");
    assert_eq!(
        repacked["detail"],
        "an order cannot go from `fulfilled` to `packed`"
    );
    assert_eq!(shipment_on_delivery["status"], 422);
    assert_eq!(shipment_on_delivery["errors"][0]["field"], "shipment");
    assert_eq!(
        early_return["detail"],
        "an order cannot go from `fulfilled` to `return_requested`"
    );
}

#[tokio::test]
async fn customers_cannot_take_staff_steps_and_return_only_their_own_order_within_the_window() {
    let app = test_app()
        .env(&[("BAZAAR_ORDER_RETURN_WINDOW_DAYS", "0")])
        .spawn()
        .await;
    let (client, _) = customer(&app, "98123 40001").await;
    let product = product_with_stock(&app, "F-3", 10_000, 5).await;
    let mine: OrderBody = client
        .post(app.url("/api/v1/orders"))
        .json(&json!({"items": [{"product_id": product, "quantity": 1}]}))
        .expect(201)
        .await;
    let admins = paid_order(&app, "F-4", 10_000).await;

    let pack = client
        .put(app.url(&order_path(&mine.id, "status")))
        .json(&json!({"status": "packed"}))
        .send()
        .await
        .unwrap();
    let receive = client
        .post(app.url(&order_path(&mine.id, "actions/receive-return")))
        .json(&json!({"restock": false}))
        .send()
        .await
        .unwrap();
    let others = client
        .post(app.url(&order_path(&admins.id, "actions/request-return")))
        .json(&json!({"reason": "not mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pack.status(), 403);
    assert_eq!(receive.status(), 403);
    assert_eq!(others.status(), 404, "another's order is not found");

    // With a window of zero days, a return is refused a second after delivery.
    set_status(&app, &admins.id, json!({"status": "delivered"}))
        .await
        .expect_status(200)
        .await;
    app.advance(Duration::from_secs(1)).await;
    let late = problem(
        staff(
            &app,
            &admins.id,
            "request-return",
            json!({"reason": "late"}),
        )
        .await,
    )
    .await;
    assert_eq!(late["status"], 409);
    assert_eq!(late["code"], "illegal_transition");
}

/// Where COD orders go: the default zone takes cash there.
fn cod_address() -> Value {
    json!({
        "name": "Asha Rao", "line1": "12, 4th Cross", "city": "Bengaluru",
        "state": "Karnataka", "postal_code": "560038",
    })
}

/// A COD order `client` places for one unit of `product`; fails unless 201.
async fn cod_order(app: &TestApp, client: &reqwest::Client, product: &str) -> OrderBody {
    client
        .post(app.url("/api/v1/orders"))
        .json(&json!({
            "items": [{"product_id": product, "quantity": 1}],
            "payment_method": "cod",
            "address": cod_address(),
        }))
        .expect(201)
        .await
}

#[tokio::test]
async fn a_cod_order_goes_from_code_to_cash_to_return_to_a_recorded_refund() {
    let app = test_app().spawn().await;
    let (client, phone) = customer(&app, "98123 40002").await;
    let product = product_with_stock(&app, "C-1", 10_000, 5).await;

    let placed = cod_order(&app, &client, &product).await;
    let id = placed.id.as_str();
    assert_eq!(
        (placed.status.0.as_str(), placed.payment_method.0.as_str()),
        ("pending_payment", "cod")
    );
    assert_eq!(units_left(&app, &product).await, Some(4));
    let code = latest_code(&app, &phone).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let confirm = |code: &str| {
        client
            .post(app.url(&order_path(id, "actions/confirm-cod")))
            .json(&json!({ "code": code }))
            .send()
    };
    assert_eq!(
        problem(confirm(wrong).await.unwrap()).await["code"],
        "invalid_otp"
    );
    let online = client
        .post(app.url(&order_path(id, "payments")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(online).await["code"],
        "conflict",
        "no Razorpay for COD"
    );

    let confirmed: OrderBody = confirm(&code).await.unwrap().expect(200).await;
    assert_eq!(confirmed.status.0.as_str(), "confirmed");
    assert_eq!(confirmed.captured, 0, "confirmed is not paid");
    let early = problem(staff(&app, id, "collect-cod", json!({})).await).await;
    assert_eq!(early["code"], "illegal_transition");

    set_status(&app, id, json!({"status": "packed"}))
        .await
        .expect_status(200)
        .await;
    set_status(
        &app,
        id,
        json!({"status": "shipped", "shipment": {"carrier": "Ekart", "tracking_number": "EK9"}}),
    )
    .await
    .expect_status(200)
    .await;
    let collected: OrderBody = staff(&app, id, "collect-cod", json!({"reference": "EK-REM-1"}))
        .await
        .expect(200)
        .await;
    let again: OrderBody = staff(&app, id, "collect-cod", json!({}))
        .await
        .expect(200)
        .await;
    assert_eq!(collected.captured, collected.total);
    assert_eq!(again.ledger.len(), 1, "collected once");
    assert_eq!(again.version, collected.version);
    let cash = collected.ledger[0].offline.as_ref().expect("a cash entry");
    assert_eq!(cash.method.0.as_str(), "cash");

    set_status(&app, id, json!({"status": "delivered"}))
        .await
        .expect_status(200)
        .await;
    let requested: OrderBody = client
        .post(app.url(&order_path(id, "actions/request-return")))
        .json(&json!({"reason": "changed my mind"}))
        .expect(200)
        .await;
    assert_eq!(requested.status.0.as_str(), "return_requested");
    staff(&app, id, "receive-return", json!({"restock": false}))
        .await
        .expect_status(200)
        .await;
    assert_eq!(units_left(&app, &product).await, Some(4), "not restocked");
    let by_razorpay = problem(staff(&app, id, "refund", json!({})).await).await;
    assert_eq!(by_razorpay["code"], "conflict");

    let record = || {
        app.post(
            &order_path(id, "actions/record-cod-refund"),
            &json!({"method": "upi", "reference": "UTR 412345678901"}),
        )
        .header("Idempotency-Key", "cod-refund-1")
        .send()
    };
    let refunded: OrderBody = record().await.unwrap().expect(200).await;
    let replayed: OrderBody = record().await.unwrap().expect(200).await;

    assert_eq!(refunded.status.0.as_str(), "refunded");
    assert_eq!(refunded.refunded, refunded.total);
    assert_eq!(replayed.ledger.len(), 2, "one capture, one refund");
    let refund = &refunded.ledger[1];
    let offline = refund.offline.as_ref().unwrap();
    assert_eq!(
        (offline.method.0.as_str(), offline.reference.as_deref()),
        ("upi", Some("UTR 412345678901"))
    );
    let admin = admin_id(&app).await;
    let collection = audit_events(&app, "cod_collected", id).await;
    assert_eq!(collection.len(), 1);
    assert_eq!(collection[0]["actor_id"], admin.as_str());
    assert_eq!(collection[0]["amount_paise"], refunded.total);
    assert_eq!(audit_events(&app, "order_refunded", id).await.len(), 1);
    assert_eq!(
        notice_kinds(&app, id).await,
        [
            "order_confirmation",
            "order_delivered",
            "order_packed",
            "order_shipped",
            "payment_receipt",
            "refund",
            "return_received",
            "return_requested",
        ]
    );
}

#[tokio::test]
async fn cod_is_refused_above_the_ceiling_naming_payment_method_and_reserves_nothing() {
    let app = test_app()
        .env(&[("BAZAAR_COD_MAX_ORDER_PAISE", "10000")])
        .spawn()
        .await;
    let (client, _) = customer(&app, "98123 40003").await;
    let product = product_with_stock(&app, "C-2", 10_000, 5).await;

    let above = client
        .post(app.url("/api/v1/orders"))
        .json(&json!({
            "items": [{"product_id": product, "quantity": 1}],
            "payment_method": "cod",
            "address": cod_address(),
        }))
        .send()
        .await
        .unwrap();

    let body = problem(above).await;
    assert_eq!(body["status"], 422);
    assert_eq!(body["errors"][0]["field"], "payment_method");
    assert_eq!(body["errors"][0]["code"], "cod_above_limit");
    assert_eq!(units_left(&app, &product).await, Some(5));
}

#[tokio::test]
async fn an_unconfirmed_cod_order_expires_and_gives_its_stock_back() {
    let app = test_app()
        .env(&[("BAZAAR_ORDER_PAY_WITHIN_SECS", "600")])
        .spawn()
        .await;
    let (client, phone) = customer(&app, "98123 40004").await;
    let product = product_with_stock(&app, "C-3", 10_000, 2).await;
    let placed = cod_order(&app, &client, &product).await;
    let code = latest_code(&app, &phone).await;

    app.advance(Duration::from_secs(601)).await;
    let late = client
        .post(app.url(&order_path(&placed.id, "actions/confirm-cod")))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();

    assert_eq!(problem(late).await["code"], "illegal_transition");
    let order: OrderBody = client
        .get(app.url(&format!("/api/v1/orders/{}", placed.id)))
        .expect(200)
        .await;
    assert_eq!(order.status.0.as_str(), "expired");
    assert_eq!(units_left(&app, &product).await, Some(2));
}

#[tokio::test]
async fn a_customer_may_cancel_a_confirmed_cod_order_before_it_is_packed() {
    let app = test_app().spawn().await;
    let (client, phone) = customer(&app, "98123 40005").await;
    let product = product_with_stock(&app, "C-4", 10_000, 2).await;
    let placed = cod_order(&app, &client, &product).await;
    let code = latest_code(&app, &phone).await;
    client
        .post(app.url(&order_path(&placed.id, "actions/confirm-cod")))
        .json(&json!({ "code": code }))
        .expect_status(200)
        .await;

    let cancelled: OrderBody = client
        .post(app.url(&order_path(&placed.id, "actions/cancel")))
        .json(&json!({}))
        .expect(200)
        .await;

    assert_eq!(cancelled.status.0.as_str(), "cancelled");
    assert_eq!(units_left(&app, &product).await, Some(2));
}
