//! Checkout from the cart through HTTP: the order carries exactly the charges the
//! cart showed, every blocker is answered at once, a moved total is a 409, the
//! coupon is redeemed once per order and given back on cancellation, and cash on
//! delivery follows the address's zone.

use futures::future::join_all;
use serde_json::{json, Value};

use super::files::customer;
use super::fulfilment::customer as verified_customer;
use super::orders::product_with_stock;
use super::test_app;
use crate::kit::{problem_fields as fields, Expect, TestApp};
use bazaar::http::cart::CartBody;
use bazaar::http::orders::body::OrderBody;

const CHECKOUT: &str = "/api/v1/cart/checkout";

async fn put(app: &TestApp, client: &reqwest::Client, product: &str, quantity: i64) -> CartBody {
    client
        .put(app.url(&format!("/api/v1/cart/items/{product}")))
        .json(&json!({ "product_id": product, "quantity": quantity }))
        .expect(200)
        .await
}

/// Saves a Bengaluru address (Karnataka, GST state 29) for `client`; answers its id.
async fn address(app: &TestApp, client: &reqwest::Client) -> String {
    let saved: Value = client
        .post(app.url("/api/v1/users/me/addresses"))
        .json(&json!({
            "name": "Asha Rao", "phone": "98123 45678", "line1": "12, 4th Cross",
            "landmark": "Opposite the metro station", "city": "Bengaluru", "pincode": "560038",
        }))
        .expect(201)
        .await;
    saved["id"].as_str().unwrap().to_owned()
}

async fn coupon(app: &TestApp, code: &str, total_limit: i64) {
    app.post(
        "/api/v1/admin/coupons",
        &json!({
            "code": code,
            "discount": { "kind": "percent", "percent_bp": 1000, "max_paise": 8000 },
            "min_order_paise": 60000,
            "total_limit": total_limit,
        }),
    )
    .expect_status(201)
    .await;
}

async fn uses(app: &TestApp, code: &str) -> i64 {
    let body: Value = app
        .client
        .get(app.url(&format!("/api/v1/admin/coupons/{code}")))
        .expect(200)
        .await;
    body["uses"].as_i64().unwrap()
}

async fn stock(app: &TestApp, product: &str) -> Value {
    let body: Value = app
        .get(&format!("/api/v1/products/{product}"))
        .await
        .json()
        .await
        .unwrap();
    body["stock"].clone()
}

#[tokio::test]
async fn checkout_places_the_cart_with_the_charges_it_showed_and_empties_it() {
    let app = test_app().spawn().await;
    let book = product_with_stock(&app, "CO-1", 50_000, 9).await;
    coupon(&app, "READ-10", 5).await;
    let (shopper, _) = verified_customer(&app, "98123 50001").await;
    let to = address(&app, &shopper).await;
    put(&app, &shopper, &book, 2).await;
    shopper
        .put(app.url("/api/v1/cart/coupon"))
        .json(&json!({ "code": "READ-10" }))
        .expect_status(200)
        .await;
    let shown: CartBody = shopper
        .get(app.url(&format!("/api/v1/cart?address_id={to}")))
        .expect(200)
        .await;
    assert!(shown.ready_for_checkout, "{:?}", shown.blockers);

    let body = json!({
        "address_id": to, "payment_method": "razorpay",
        "expected_total": shown.total, "notes": "Ring twice",
    });
    let order: OrderBody = shopper
        .post(app.url(CHECKOUT))
        .header("Idempotency-Key", "checkout-1")
        .json(&body)
        .expect(201)
        .await;
    // ₹1,000 of books, ₹80 off (10% held to the cap), free shipping from ₹499, 18% GST.
    assert_eq!(
        (order.subtotal, order.discount, order.shipping, order.tax),
        (100_000, 8_000, 0, 16_560)
    );
    assert_eq!(order.total, shown.total);
    assert_eq!(order.total, 100_000 - 8_000 + 16_560);
    assert_eq!(order.coupon_code.as_deref(), Some("READ-10"));
    assert_eq!(order.place_of_supply.as_deref(), Some("29"));
    assert_eq!(order.status.0.as_str(), "pending_payment");
    let shipped_to = order.address.clone().expect("the address");
    assert_eq!(
        (shipped_to.state.as_str(), shipped_to.postal_code.as_str()),
        ("Karnataka", "560038")
    );
    assert_eq!(
        shipped_to.landmark.as_deref(),
        Some("Opposite the metro station")
    );
    assert_eq!(order.notes.as_deref(), Some("Ring twice"));
    assert_eq!(stock(&app, &book).await, 7);
    assert_eq!(uses(&app, "READ-10").await, 1);
    let emptied: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(emptied.lines.is_empty() && emptied.coupon.is_none());

    // A retry with the key finds the order, though the cart is empty now.
    let again = shopper
        .post(app.url(CHECKOUT))
        .header("Idempotency-Key", "checkout-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], order.id.as_str());
    assert_eq!(
        (stock(&app, &book).await, uses(&app, "READ-10").await),
        (json!(7), 1)
    );

    // Cancelled, the order gives back its stock and its coupon use.
    shopper
        .post(app.url(&format!("/api/v1/orders/{}/actions/cancel", order.id)))
        .expect_status(200)
        .await;
    assert_eq!(
        (stock(&app, &book).await, uses(&app, "READ-10").await),
        (json!(9), 0)
    );
}

#[tokio::test]
async fn every_blocker_is_answered_at_once_and_a_moved_total_is_a_conflict() {
    let app = test_app().spawn().await;
    let scarce = product_with_stock(&app, "CO-2", 30_000, 1).await;
    let (shopper, _) = verified_customer(&app, "98123 50002").await;
    let to = address(&app, &shopper).await;
    let checkout = |body: Value| shopper.post(app.url(CHECKOUT)).json(&body);

    let empty = checkout(json!({ "address_id": to, "payment_method": "razorpay" }))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(fields(&empty), [("cart".into(), "empty".into())]);

    // More than the stock, and no zone for Karnataka.
    put(&app, &shopper, &scarce, 3).await;
    app.post(
        "/api/v1/admin/shipping-zones",
        &json!({
            "name": "Delhi", "states": ["07"], "fee_paise": 0, "cod": { "offered": true },
            "estimate": { "min_days": 1, "max_days": 2 },
        }),
    )
    .expect_status(201)
    .await;
    let fixable = put(&app, &shopper, &scarce, 2).await;
    assert_eq!(fixable.lines.len(), 1);
    let blocked = checkout(json!({ "address_id": to, "payment_method": "cod" }))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(
        fields(&blocked),
        [
            ("cart.lines[0]".into(), "insufficient_stock".into()),
            ("address_id".into(), "no_zone".into()),
        ]
    );
    // Bad fields are named before anything is read.
    let malformed = checkout(json!({ "address_id": "nope", "payment_method": "barter" }))
        .expect_problem(422, "validation_failed")
        .await;
    let named: Vec<String> = fields(&malformed).into_iter().map(|(f, _)| f).collect();
    assert!(named.contains(&"address_id".to_owned()), "{malformed}");
    let elsewhere = checkout(json!({
        "address_id": "6650c0ffee0000000000ad99", "payment_method": "razorpay",
    }))
    .expect_problem(422, "validation_failed")
    .await;
    assert_eq!(
        fields(&elsewhere),
        [("address_id".into(), "not_found".into())]
    );

    // Fixed: one unit, delivered by a zone for Karnataka; the price moves before checkout.
    put(&app, &shopper, &scarce, 1).await;
    app.post(
        "/api/v1/admin/shipping-zones",
        &json!({
            "name": "Karnataka", "states": ["29"], "fee_paise": 4000,
            "cod": { "offered": false }, "estimate": { "min_days": 1, "max_days": 3 },
        }),
    )
    .expect_status(201)
    .await;
    let shown: CartBody = shopper
        .get(app.url(&format!("/api/v1/cart?address_id={to}")))
        .expect(200)
        .await;
    assert_eq!(shown.shipping, 4_000);
    app.client
        .patch(app.url(&format!("/api/v1/products/{scarce}")))
        .json(&json!({ "price": 35_000 }))
        .expect_status(200)
        .await;
    let moved = checkout(json!({
        "address_id": to, "payment_method": "razorpay", "expected_total": shown.total,
    }))
    .expect_problem(409, "price_changed")
    .await;
    assert!(
        moved["detail"].as_str().unwrap().contains("46020"),
        "{moved}"
    );
    assert_eq!(stock(&app, &scarce).await, 1, "nothing was reserved");

    // Cash is not taken in this zone; by Razorpay the new total is placed.
    let no_cash = checkout(json!({ "address_id": to, "payment_method": "cod" }))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(
        fields(&no_cash),
        [(
            "payment_method".into(),
            "cod_unavailable_for_destination".into()
        )]
    );
    let order: OrderBody = checkout(json!({
        "address_id": to, "payment_method": "razorpay", "expected_total": 46_020,
    }))
    .expect(201)
    .await;
    // ₹350 + ₹40 shipping, 18% GST on both.
    assert_eq!(
        (order.shipping, order.tax, order.total),
        (4_000, 7_020, 46_020)
    );
}

#[tokio::test]
async fn cash_on_delivery_from_the_cart_is_confirmed_by_the_code_sent_to_the_phone() {
    let app = test_app().spawn().await;
    let lamp = product_with_stock(&app, "CO-3", 20_000, 5).await;
    let (shopper, phone) = verified_customer(&app, "98123 50003").await;
    let to = address(&app, &shopper).await;
    put(&app, &shopper, &lamp, 1).await;

    // The default zone takes cash and charges ₹49 below ₹499.
    let order: OrderBody = shopper
        .post(app.url(CHECKOUT))
        .json(&json!({ "address_id": to, "payment_method": "cod" }))
        .expect(201)
        .await;
    assert_eq!(order.payment_method.0.as_str(), "cod");
    assert_eq!((order.shipping, order.total), (4_900, 24_900 + 4_482));
    let code = super::auth::latest_code(&app, &phone).await;
    let confirmed: OrderBody = shopper
        .post(app.url(&format!("/api/v1/orders/{}/actions/confirm-cod", order.id)))
        .json(&json!({ "code": code }))
        .expect(200)
        .await;
    assert_eq!(confirmed.status.0.as_str(), "confirmed");
}

#[tokio::test]
async fn fifty_checkouts_against_ten_coupon_uses_place_exactly_ten_orders_with_it() {
    // Fifty sign-ups from one address: the per-IP limits are not what is tested here.
    let app = test_app()
        .env(&[
            ("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "0"),
            ("BAZAAR_RATE_LIMIT_OTP_PER_HOUR", "0"),
        ])
        .spawn()
        .await;
    let mug = product_with_stock(&app, "CO-4", 70_000, 100).await;
    coupon(&app, "LAST-10", 10).await;
    let shoppers = join_all((0..50).map(|i| {
        let app = &app;
        let mug = mug.clone();
        async move {
            let client = customer(app, &format!("98124 {:05}", 60_000 + i)).await;
            let to = address(app, &client).await;
            put(app, &client, &mug, 1).await;
            client
                .put(app.url("/api/v1/cart/coupon"))
                .json(&json!({ "code": "LAST-10" }))
                .expect_status(200)
                .await;
            (client, to)
        }
    }))
    .await;

    let url = app.url(CHECKOUT);
    let url = &url;
    let answers = join_all(shoppers.iter().map(|(client, to)| async move {
        let response = client
            .post(url)
            .json(&json!({ "address_id": to, "payment_method": "razorpay" }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    }))
    .await;
    let placed = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 422)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((placed, refused.len()), (10, 40), "{answers:?}");
    for body in refused {
        assert_eq!(
            fields(body),
            [("coupon_code".into(), "exhausted".into())],
            "{body}"
        );
    }
    assert_eq!(uses(&app, "LAST-10").await, 10);
    // The refused checkouts gave their units back.
    assert_eq!(stock(&app, &mug).await, 90);
}
