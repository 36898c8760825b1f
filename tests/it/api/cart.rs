//! The cart through HTTP: a customer's and a guest's, priced by the function that
//! places orders, merged at sign-in.

use serde_json::{json, Value};

use super::files::customer;
use super::orders::product_with_stock;
use super::test_app;
use crate::kit::{Expect, TestApp};
use bazaar::http::cart::{CartBody, GuestCartBody, MergedBody};

fn item(app: &TestApp, product: &str) -> String {
    app.url(&format!("/api/v1/cart/items/{product}"))
}

async fn put(app: &TestApp, client: &reqwest::Client, product: &str, quantity: i64) -> CartBody {
    client
        .put(item(app, product))
        .json(&json!({ "product_id": product, "quantity": quantity }))
        .expect(200)
        .await
}

async fn guest(app: &TestApp) -> (reqwest::Client, String) {
    let issued: GuestCartBody = app
        .anonymous
        .post(app.url("/api/v1/guest-carts"))
        .expect(201)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-cart-token",
        issued.cart_token.parse().expect("a header value"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client");
    (client, issued.cart_token)
}

#[tokio::test]
async fn a_cart_shows_current_prices_and_totals_with_gst_and_reserves_nothing() {
    let app = test_app().spawn().await;
    let kurta = product_with_stock(&app, "CART-1", 49_900, 5).await;
    let mug = product_with_stock(&app, "CART-2", 34_950, 5).await;
    let shopper = customer(&app, "+919800000101").await;

    let empty: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(empty.lines.is_empty());
    assert_eq!((empty.total, empty.version), (0, 0));
    assert!(!empty.ready_for_checkout);

    put(&app, &shopper, &kurta, 2).await;
    let cart = put(&app, &shopper, &mug, 1).await;
    assert_eq!(cart.subtotal, 2 * 49_900 + 34_950);
    // No address yet: priced as delivered in the seller's state, CGST and SGST at 9% each,
    // rounded per line: 9% of ₹998.00 is 89.82, of ₹349.50 is 31.455 → 31.46.
    let heads: Vec<(&str, u32, i64)> = cart
        .tax_lines
        .iter()
        .map(|t| (t.name.as_str(), t.rate_bp, t.amount))
        .collect();
    assert_eq!(heads, [("CGST", 900, 12_128), ("SGST", 900, 12_128)]);
    assert_eq!(cart.tax, 24_256);
    assert_eq!(cart.total, 134_750 + 24_256);
    assert_eq!(cart.version, 2);
    assert!(cart.ready_for_checkout, "{:?}", cart.blockers);

    // Putting the same item again sets its quantity: a retry changes nothing.
    let again = put(&app, &shopper, &mug, 1).await;
    assert_eq!(again.subtotal, cart.subtotal);
    assert_eq!(again.lines.len(), 2);

    // Nothing is reserved: the stock is as it was.
    let product: Value = app
        .get(&format!("/api/v1/products/{kurta}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product["stock"], 5);

    // A price change shows at once.
    app.client
        .patch(app.url(&format!("/api/v1/products/{kurta}")))
        .json(&json!({ "price": 59_900 }))
        .expect_status(200)
        .await;
    let repriced: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert_eq!(repriced.lines[0].unit_price, Some(59_900));
    assert_eq!(repriced.subtotal, 2 * 59_900 + 34_950);
}

#[tokio::test]
async fn lines_say_when_stock_runs_short_or_the_product_is_gone_and_block_checkout() {
    let app = test_app().spawn().await;
    let scarce = product_with_stock(&app, "CART-3", 10_000, 2).await;
    let doomed = product_with_stock(&app, "CART-4", 10_000, 2).await;
    let shopper = customer(&app, "+919800000102").await;
    put(&app, &shopper, &scarce, 3).await;
    let cart = put(&app, &shopper, &doomed, 1).await;
    assert_eq!(cart.lines[0].state.0.as_str(), "insufficient_stock");
    assert_eq!(cart.lines[0].available, Some(2));
    assert!(!cart.ready_for_checkout);

    app.client
        .delete(app.url(&format!("/api/v1/products/{doomed}")))
        .expect_status(204)
        .await;
    let cart: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert_eq!(cart.lines[1].state.0.as_str(), "unavailable");
    assert_eq!(
        (cart.lines[1].unit_price, cart.lines[1].line_total),
        (None, 0)
    );
    assert_eq!(cart.subtotal, 30_000);
    let blockers: Vec<(&str, &str)> = cart
        .blockers
        .iter()
        .map(|b| (b.field.as_str(), b.code.as_str()))
        .collect();
    assert_eq!(
        blockers,
        vec![
            ("cart.lines[0]", "insufficient_stock"),
            ("cart.lines[1]", "unavailable")
        ]
    );

    // Fixing both makes the cart ready.
    put(&app, &shopper, &scarce, 2).await;
    let cart: CartBody = shopper.delete(item(&app, &doomed)).expect(200).await;
    assert!(cart.ready_for_checkout, "{:?}", cart.blockers);
    assert_eq!(cart.lines.len(), 1);
}

#[tokio::test]
async fn bad_items_are_refused_naming_the_field_and_change_nothing() {
    let app = test_app().spawn().await;
    let product = product_with_stock(&app, "CART-5", 10_000, 5).await;
    let shopper = customer(&app, "+919800000103").await;
    put(&app, &shopper, &product, 1).await;

    let refused = |body: Value, path: String| {
        let shopper = shopper.clone();
        async move {
            shopper
                .put(path)
                .json(&body)
                .expect_problem(422, "validation_failed")
                .await
        }
    };
    let too_many = refused(
        json!({ "product_id": product, "quantity": 11 }),
        item(&app, &product),
    )
    .await;
    assert_eq!(too_many["errors"][0]["field"], "quantity");
    let unknown = "0123456789abcdef01234567";
    let missing = refused(
        json!({ "product_id": unknown, "quantity": 1 }),
        item(&app, unknown),
    )
    .await;
    assert_eq!(missing["errors"][0]["code"], "unknown_product");
    let wrong_variant = refused(
        json!({ "product_id": product, "quantity": 1 }),
        item(&app, unknown),
    )
    .await;
    assert_eq!(wrong_variant["errors"][0]["field"], "variant_id");
    shopper
        .delete(item(&app, unknown))
        .expect_problem(404, "not_found")
        .await;

    let cart: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert_eq!((cart.lines.len(), cart.lines[0].quantity), (1, 1));
}

#[tokio::test]
async fn a_guest_cart_lives_under_its_token_and_merges_into_the_customers_at_sign_in() {
    let app = test_app().spawn().await;
    let a = product_with_stock(&app, "CART-6", 10_000, 9).await;
    let b = product_with_stock(&app, "CART-7", 20_000, 9).await;
    let (guest_client, token) = guest(&app).await;
    put(&app, &guest_client, &a, 3).await;
    let guest_cart = put(&app, &guest_client, &b, 1).await;
    assert!(guest_cart.expires_at.is_some());

    // Another guest's token sees its own (empty) cart, and no token is a 401.
    let (other, _) = guest(&app).await;
    let theirs: CartBody = other.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(theirs.lines.is_empty());
    app.anonymous
        .get(app.url("/api/v1/cart"))
        .expect_problem(401, "unauthorized")
        .await;
    app.anonymous
        .get(app.url("/api/v1/cart"))
        .header("x-cart-token", "ct_forged")
        .expect_problem(401, "unauthorized")
        .await;

    let shopper = customer(&app, "+919800000104").await;
    put(&app, &shopper, &a, 1).await;
    let merged: MergedBody = shopper
        .post(app.url("/api/v1/cart/merge"))
        .json(&json!({ "cart_token": token }))
        .expect(200)
        .await;
    let lines: Vec<u32> = merged.cart.lines.iter().map(|l| l.quantity).collect();
    assert_eq!(lines, vec![3, 1], "the larger quantity of a, and b added");
    assert_eq!(merged.dropped_lines, 0);
    assert!(merged.cart.expires_at.is_none());

    // The guest cart is gone; merging it again adds nothing.
    let gone: CartBody = guest_client.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(gone.lines.is_empty());
    let again: MergedBody = shopper
        .post(app.url("/api/v1/cart/merge"))
        .json(&json!({ "cart_token": token }))
        .expect(200)
        .await;
    assert_eq!(again.cart.lines.len(), 2);
    assert_eq!(again.cart.version, merged.cart.version);
}

#[tokio::test]
async fn a_guest_cart_is_forgotten_thirty_days_after_its_last_change() {
    let app = test_app().spawn().await;
    let a = product_with_stock(&app, "CART-8", 10_000, 9).await;
    let (guest_client, _) = guest(&app).await;
    put(&app, &guest_client, &a, 1).await;
    app.advance(std::time::Duration::from_secs(29 * 86_400))
        .await;
    let kept: CartBody = guest_client.get(app.url("/api/v1/cart")).expect(200).await;
    assert_eq!(kept.lines.len(), 1);
    app.advance(std::time::Duration::from_secs(86_400 + 1))
        .await;
    let forgotten: CartBody = guest_client.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(forgotten.lines.is_empty());
}

#[tokio::test]
async fn clearing_empties_the_cart() {
    let app = test_app().spawn().await;
    let a = product_with_stock(&app, "CART-9", 10_000, 9).await;
    let shopper = customer(&app, "+919800000105").await;
    put(&app, &shopper, &a, 2).await;
    shopper
        .delete(app.url("/api/v1/cart"))
        .expect_status(204)
        .await;
    let cart: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    assert!(cart.lines.is_empty());
}

#[tokio::test]
async fn a_cart_priced_for_a_place_shows_shipping_and_whether_it_is_delivered_to() {
    // No zone stored: the settings' default zone (₹49, free from ₹499, COD) answers.
    let app = test_app().spawn().await;
    let cheap = product_with_stock(&app, "CART-10", 20_000, 9).await;
    let shopper = customer(&app, "+919800000106").await;
    put(&app, &shopper, &cheap, 1).await;

    let by_pin: CartBody = shopper
        .get(app.url("/api/v1/cart?pincode=560038"))
        .expect(200)
        .await;
    let delivery = by_pin.delivery.clone().expect("a delivery for the pincode");
    assert!(delivery.serviceable && delivery.cod_available);
    assert_eq!(by_pin.shipping, 4_900);
    // GST is on the goods and the shipping: 18% of ₹249.
    assert_eq!(by_pin.tax, 4_482);
    assert_eq!(by_pin.total, 20_000 + 4_900 + 4_482);
    assert!(by_pin.ready_for_checkout);
    // Bengaluru is in the seller's state (the sample seller's Karnataka): CGST + SGST.
    let heads = |cart: &CartBody| -> Vec<(String, u32)> {
        cart.tax_lines
            .iter()
            .map(|t| (t.name.clone(), t.rate_bp))
            .collect()
    };
    assert_eq!(heads(&by_pin), [("CGST".into(), 900), ("SGST".into(), 900)]);
    // Mumbai is another state: IGST at the full rate.
    let mumbai: CartBody = shopper
        .get(app.url("/api/v1/cart?pincode=400001"))
        .expect(200)
        .await;
    assert_eq!(heads(&mumbai), [("IGST".into(), 1800)]);
    assert_eq!(mumbai.tax, 4_482);

    // At ₹499 of goods shipping is free.
    put(&app, &shopper, &cheap, 3).await;
    let free: CartBody = shopper
        .get(app.url("/api/v1/cart?pincode=560038"))
        .expect(200)
        .await;
    assert_eq!(free.shipping, 0);
    // A pincode India Post does not list is not found, and says so.
    let nowhere = shopper
        .get(app.url("/api/v1/cart?pincode=999999"))
        .expect_problem(404, "not_found")
        .await;
    assert!(
        nowhere["detail"].as_str().unwrap().contains("999999"),
        "{nowhere}"
    );

    // A saved address prices the same way; someone else's is not found.
    let saved: Value = shopper
        .post(app.url("/api/v1/users/me/addresses"))
        .json(&json!({
            "name": "Asha Rao", "phone": "98123 45678", "line1": "12, 4th Cross",
            "city": "Bengaluru", "pincode": "560038",
        }))
        .expect(201)
        .await;
    let id = saved["id"].as_str().unwrap();
    let by_address: CartBody = shopper
        .get(app.url(&format!("/api/v1/cart?address_id={id}")))
        .expect(200)
        .await;
    assert_eq!(by_address.total, free.total);
    let other = customer(&app, "+919800000107").await;
    other
        .get(app.url(&format!("/api/v1/cart?address_id={id}")))
        .expect_problem(404, "not_found")
        .await;

    // Once staff store zones, a place none covers is not delivered to, saying why.
    app.post(
        "/api/v1/admin/shipping-zones",
        &json!({
            "name": "Karnataka", "states": ["29"], "fee_paise": 0,
            "cod": { "offered": false },
            "estimate": { "min_days": 1, "max_days": 3 },
        }),
    )
    .expect_status(201)
    .await;
    let far: CartBody = shopper
        .get(app.url("/api/v1/cart?pincode=110001"))
        .expect(200)
        .await;
    let delivery = far.delivery.expect("a delivery for the pincode");
    assert!(!delivery.serviceable);
    assert_eq!(delivery.reason.unwrap().code, "no_zone");
    assert!(!far.ready_for_checkout);
}

#[tokio::test]
async fn a_coupon_on_the_cart_takes_off_what_it_allows_and_a_bad_one_is_refused_saying_why() {
    let app = test_app().spawn().await;
    let book = product_with_stock(&app, "CART-11", 50_000, 9).await;
    app.post(
        "/api/v1/admin/coupons",
        &json!({
            "code": "read-10",
            "discount": { "kind": "percent", "percent_bp": 1000, "max_paise": 8000 },
            "min_order_paise": 60000,
            "total_limit": 5,
            "per_customer_limit": 1,
        }),
    )
    .expect_status(201)
    .await;
    let shopper = customer(&app, "+919800000108").await;
    put(&app, &shopper, &book, 1).await;

    // Below the minimum the coupon is refused, and the cart keeps none.
    let refused = shopper
        .put(app.url("/api/v1/cart/coupon"))
        .json(&json!({ "code": "READ-10" }))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(refused["errors"][0]["field"], "coupon_code");
    assert_eq!(refused["errors"][0]["code"], "minimum_not_met");
    let unknown = shopper
        .put(app.url("/api/v1/cart/coupon"))
        .json(&json!({ "code": "NOPE-99" }))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(unknown["errors"][0]["code"], "unknown");

    // With two books it applies: 10% of ₹1,000 is ₹100, held to the ₹80 cap.
    put(&app, &shopper, &book, 2).await;
    let cart: CartBody = shopper
        .put(app.url("/api/v1/cart/coupon"))
        .json(&json!({ "code": "read-10" }))
        .expect(200)
        .await;
    let coupon = cart.coupon.expect("the coupon");
    assert_eq!((coupon.code.as_str(), coupon.applied), ("READ-10", true));
    assert_eq!((cart.discount, coupon.discount), (8_000, 8_000));
    assert_eq!(cart.tax, 16_560); // 18% of ₹920
    assert_eq!(cart.total, 100_000 - 8_000 + 16_560);

    // Back under the minimum it stays on the cart but no longer applies, and says why.
    put(&app, &shopper, &book, 1).await;
    let cart: CartBody = shopper.get(app.url("/api/v1/cart")).expect(200).await;
    let coupon = cart.coupon.expect("the coupon");
    assert!(!coupon.applied);
    assert_eq!(coupon.reason.unwrap().code, "minimum_not_met");
    assert_eq!(cart.discount, 0);
    assert!(!cart.ready_for_checkout);

    let cart: CartBody = shopper
        .delete(app.url("/api/v1/cart/coupon"))
        .expect(200)
        .await;
    assert!(cart.coupon.is_none());
    assert!(cart.ready_for_checkout);
}
