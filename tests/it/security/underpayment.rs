//! Underpayment: Razorpay reports, correctly signed, a payment of 1 paisa for an order of ₹118
//! (a webhook's `payment.captured`, or the payment `verifyPayment` asks Razorpay about). Only
//! a capture of exactly the order's total in its currency pays it: the paisa is recorded, the
//! order becomes `payment_mismatch` (stock still held, flagged for staff, audited), and an
//! authorised payment of another amount is never captured.

use serde_json::json;

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_one_paisa_capture_reported_by_webhook_does_not_pay_an_order_of_118_rupees(
    backend: Backend,
) {
    let shop = Shop::open(backend, "underpaid-webhook", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let paisa = shop.razorpay.pay(&rzp_order, 1, "INR", "captured");

    let (status, ack, event_id) = shop.deliver("payment.captured", "payment", &paisa).await;
    let (again, _, _) = shop.deliver("order.paid", "payment", &paisa).await;

    assert_eq!((status, again), (200, 200), "{ack}");
    let now = shop.order(id).await;
    assert_eq!(now["status"], "payment_mismatch", "{now}");
    assert_eq!(now["captured"], 1, "the paisa is recorded, not lost");
    assert_eq!(now["ledger"].as_array().unwrap().len(), 1);
    assert_eq!(now["ledger"][0]["amount"], 1);
    assert_eq!(now["flags"].as_array().unwrap().len(), 1, "flagged once");
    assert_eq!(now["flags"][0]["reason"], "payment_mismatch");
    assert_eq!(now["flags"][0]["subject"], paisa["id"]);
    let stored = shop.stored_event(&event_id).await.expect("stored");
    assert!(
        stored["outcome"].as_str().unwrap().starts_with("flagged:"),
        "{stored}"
    );
    let audited = shop.audit("payment_flagged").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0]["detail"].as_str().unwrap().contains(id));
    // Not paid, so it cannot be shipped.
    let (ship, problem) = shop
        .send(
            shop.staff
                .put(shop.url(&format!("/api/v1/orders/{id}/status")))
                .json(&json!({"status": "shipped"})),
        )
        .await;
    assert_eq!(
        (ship, problem["code"].as_str()),
        (409, Some("illegal_transition"))
    );
}
on_both_backends!(a_one_paisa_capture_reported_by_webhook_does_not_pay_an_order_of_118_rupees);

async fn verify_never_captures_an_authorised_payment_of_one_paisa(backend: Backend) {
    let shop = Shop::open(backend, "underpaid-verify", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let paisa = shop.razorpay.pay(&rzp_order, 1, "INR", "authorized");

    let (status, answered) = shop.verify(&rzp_order, paisa["id"].as_str().unwrap()).await;

    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "pending_payment");
    assert_eq!(answered["captured"], 0);
    assert_eq!(answered["flags"][0]["reason"], "payment_mismatch");
    assert!(
        shop.razorpay.captures().is_empty(),
        "nothing was captured: {:?}",
        shop.razorpay.captures()
    );
    // The real payment that follows is captured for the order's total, and pays it.
    let full = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "authorized");
    let (status, paid) = shop.verify(&rzp_order, full["id"].as_str().unwrap()).await;
    assert_eq!(
        (status, paid["status"].as_str()),
        (200, Some("paid")),
        "{paid}"
    );
    let captures = shop.razorpay.captures();
    assert_eq!(captures.len(), 1, "{captures:?}");
    assert_eq!(captures[0].0, full["id"].as_str().unwrap());
    assert_eq!(captures[0].1, json!({"amount": TOTAL, "currency": "INR"}));
    assert_eq!(shop.order(id).await["captured"], TOTAL);
}
on_both_backends!(verify_never_captures_an_authorised_payment_of_one_paisa);

async fn a_captured_paisa_reported_by_verify_leaves_the_order_unpaid_until_staff_cancel_and_refund_it(
    backend: Backend,
) {
    let shop = Shop::open(backend, "underpaid-cancel", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let product = order["items"][0]["product_id"].as_str().unwrap();
    let paisa = shop.razorpay.pay(&rzp_order, 1, "INR", "captured");

    let (status, answered) = shop.verify(&rzp_order, paisa["id"].as_str().unwrap()).await;
    let held = shop.stock(product).await;
    let (customer_cancel, _) = shop
        .send(
            shop.customer
                .post(shop.url(&format!("/api/v1/orders/{id}/actions/cancel"))),
        )
        .await;
    let (staff_cancel, cancelled) = shop
        .send(
            shop.staff
                .post(shop.url(&format!("/api/v1/orders/{id}/actions/cancel"))),
        )
        .await;

    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "payment_mismatch");
    assert_eq!(held, 4, "the unit stays reserved while staff decide");
    assert_eq!(customer_cancel, 409, "a customer cannot cancel it away");
    assert_eq!(staff_cancel, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refunded"], 1, "the paisa went back");
    assert_eq!(shop.razorpay.refunds().len(), 1);
    assert_eq!(shop.stock(product).await, 5);
}
on_both_backends!(
    a_captured_paisa_reported_by_verify_leaves_the_order_unpaid_until_staff_cancel_and_refund_it
);

#[tokio::test]
async fn in_production_a_one_paisa_payment_pays_nothing_by_webhook_or_by_verify() {
    let shop = Shop::open(Backend::Production, "underpaid-prod", &[]).await;
    let (by_webhook, rzp_a) = shop.order_in_checkout().await;
    let (by_verify, rzp_b) = shop.order_in_checkout().await;
    let captured = shop.razorpay.pay(&rzp_a, 1, "INR", "captured");
    let authorised = shop.razorpay.pay(&rzp_b, 1, "INR", "authorized");

    let (hook, _, _) = shop.deliver("payment.captured", "payment", &captured).await;
    let (verify, answered) = shop
        .verify(&rzp_b, authorised["id"].as_str().unwrap())
        .await;

    assert_eq!((hook, verify), (200, 200), "{answered}");
    let a = shop.order(by_webhook["id"].as_str().unwrap()).await;
    let b = shop.order(by_verify["id"].as_str().unwrap()).await;
    assert_eq!(a["status"], "payment_mismatch");
    assert_eq!(a["flags"][0]["reason"], "payment_mismatch");
    assert_eq!(b["status"], "pending_payment");
    assert_eq!(b["flags"][0]["reason"], "payment_mismatch");
    assert!(shop.razorpay.captures().is_empty());
    assert_eq!(shop.audit("payment_flagged").await.len(), 2);
}
