//! Stock hoarding: one customer places unpaid order after unpaid order until nothing is left
//! for anyone else (each holds its stock until it expires), or orders a thousand units in one.
//! A customer holds at most `BAZAAR_ORDER_UNPAID_MAX` (3) unpaid orders, enforced by the store
//! when the order is written (each takes one of the customer's slots under a unique key), so
//! parallel creates cannot pass it; and an order holds at most `BAZAAR_ORDER_PRODUCT_UNITS_MAX`
//! (10) units of one product.

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_customer_cannot_hold_more_than_three_unpaid_orders(backend: Backend) {
    let shop = Shop::open(backend, "hoarding", &[]).await;
    let product = shop.product(100).await;
    for _ in 0..3 {
        let (status, body) = shop.order_as(&shop.customer, &product, 2).await;
        assert_eq!(status, 201, "{body}");
    }

    let (fourth, problem) = shop.order_as(&shop.customer, &product, 2).await;

    assert_eq!(fourth, 409, "{problem}");
    assert_eq!(problem["code"], "too_many_unpaid_orders");
    assert_eq!(
        shop.stock(&product).await,
        94,
        "the refused order reserved nothing"
    );
    // Someone else still can; and staff are not capped.
    let other = shop.sign_up("+919876500002").await;
    assert_eq!(shop.order_as(&other, &product, 1).await.0, 201);
    for _ in 0..4 {
        assert_eq!(shop.order_as(&shop.staff, &product, 1).await.0, 201);
    }
    // Paying (or cancelling) one frees its place.
    let (_, mine) = shop
        .send(shop.customer.get(shop.url("/api/v1/orders")))
        .await;
    let oldest = mine["items"][2]["id"].as_str().unwrap().to_owned();
    let (status, checkout) = shop
        .send(
            shop.customer
                .post(shop.url(&format!("/api/v1/orders/{oldest}/payments"))),
        )
        .await;
    assert_eq!(status, 200, "{checkout}");
    let rzp_order = checkout["razorpay_order_id"].as_str().unwrap();
    let payment = shop.razorpay.pay(rzp_order, 2 * TOTAL, "INR", "captured");
    shop.deliver("payment.captured", "payment", &payment).await;
    assert_eq!(shop.order(&oldest).await["status"], "paid");
    assert_eq!(shop.order_as(&shop.customer, &product, 2).await.0, 201);
    assert_eq!(shop.order_as(&shop.customer, &product, 2).await.0, 409);
}
on_both_backends!(a_customer_cannot_hold_more_than_three_unpaid_orders);

async fn parallel_orders_of_one_customer_stop_exactly_at_the_cap(backend: Backend) {
    let shop = Shop::open(backend, "hoarding-parallel", &[]).await;
    let product = shop.product(100).await;

    let attempts = (0..12).map(|_| shop.order_as(&shop.customer, &product, 5));
    let results = futures::future::join_all(attempts).await;

    let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [201, 201, 201, 409, 409, 409, 409, 409, 409, 409, 409, 409]
    );
    assert!(results
        .iter()
        .filter(|(s, _)| *s == 409)
        .all(|(_, p)| p["code"] == "too_many_unpaid_orders"));
    assert_eq!(
        shop.stock(&product).await,
        85,
        "only the three orders hold stock"
    );
}
on_both_backends!(parallel_orders_of_one_customer_stop_exactly_at_the_cap);

async fn an_order_holds_at_most_ten_units_of_one_product(backend: Backend) {
    let shop = Shop::open(backend, "hoarding-units", &[]).await;
    let product = shop.product(100).await;

    let (eleven, problem) = shop.order_as(&shop.customer, &product, 11).await;
    let (ten, _) = shop.order_as(&shop.customer, &product, 10).await;

    assert_eq!(eleven, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "items[0].quantity");
    assert_eq!(problem["errors"][0]["code"], "out_of_range");
    assert_eq!(ten, 201);
    assert_eq!(shop.stock(&product).await, 90);
}
on_both_backends!(an_order_holds_at_most_ten_units_of_one_product);

#[tokio::test]
async fn in_production_parallel_orders_of_one_customer_stop_at_the_cap() {
    let shop = Shop::open(Backend::Production, "hoarding-prod", &[]).await;
    let product = shop.product(100).await;

    let attempts = (0..10).map(|_| shop.order_as(&shop.customer, &product, 10));
    let results = futures::future::join_all(attempts).await;
    let (too_many, problem) = shop.order_as(&shop.customer, &product, 11).await;

    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused = results
        .iter()
        .filter(|(s, p)| *s == 409 && p["code"] == "too_many_unpaid_orders")
        .count();
    assert_eq!((created, refused), (3, 7), "{results:?}");
    assert_eq!(shop.stock(&product).await, 70);
    assert_eq!(
        (too_many, problem["errors"][0]["field"].as_str()),
        (422, Some("items[0].quantity"))
    );
}
