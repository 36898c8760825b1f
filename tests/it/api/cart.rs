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
    assert_eq!(cart.tax_lines.len(), 1);
    assert_eq!(cart.tax_lines[0].rate_bp, 1800);
    assert_eq!(cart.tax, 24_255); // 18% of ₹1,347.50
    assert_eq!(cart.total, 134_750 + 24_255);
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
