//! Double capture: a second payment is captured for an order that is already paid (a customer
//! paying twice in two tabs, or an auto-captured retry). Bazaar keeps one capture per order:
//! any other is refunded automatically through Razorpay, once however often and by whichever
//! path it is reported (Razorpay's idempotency key is made from the payment id), and audited.

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_second_capture_on_a_paid_order_is_refunded_once_and_audited(backend: Backend) {
    let shop = Shop::open(backend, "double-capture", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let first = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "authorized");
    let (paid, _) = shop.verify(&rzp_order, first["id"].as_str().unwrap()).await;
    let second = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");

    let (hook, _, _) = shop.deliver("payment.captured", "payment", &second).await;
    let (redelivered, _, _) = shop.deliver("payment.captured", "payment", &second).await;
    let (verified, answered) = shop
        .verify(&rzp_order, second["id"].as_str().unwrap())
        .await;

    assert_eq!(
        (paid, hook, redelivered, verified),
        (200, 200, 200, 200),
        "{answered}"
    );
    let refunds = shop.razorpay.refunds();
    assert_eq!(refunds.len(), 1, "refunded once: {refunds:?}");
    assert_eq!(refunds[0]["payment_id"], second["id"]);
    assert_eq!(refunds[0]["amount"], TOTAL);
    let now = shop.order(id).await;
    assert_eq!(now["status"], "paid", "{now}");
    assert_eq!(
        now["payment_id"], first["id"],
        "the first payment keeps the order"
    );
    assert_eq!(now["captured"], 2 * TOTAL);
    assert_eq!(now["refunded"], TOTAL);
    assert_eq!(
        now["refundable"], TOTAL,
        "what is left is the order's own payment"
    );
    let audited = shop.audit("capture_refunded").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0]["detail"]
        .as_str()
        .unwrap()
        .contains(second["id"].as_str().unwrap()));
}
on_both_backends!(a_second_capture_on_a_paid_order_is_refunded_once_and_audited);

async fn a_mismatched_capture_is_refunded_once_the_right_payment_pays_the_order(backend: Backend) {
    let shop = Shop::open(backend, "double-mismatch", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let odd = shop.razorpay.pay(&rzp_order, 100, "INR", "captured");
    let right = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");

    shop.deliver("payment.captured", "payment", &odd).await;
    let (status, paid) = shop.verify(&rzp_order, right["id"].as_str().unwrap()).await;

    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "paid");
    let refunds = shop.razorpay.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["payment_id"], odd["id"]);
    let now = shop.order(order["id"].as_str().unwrap()).await;
    assert_eq!(now["refundable"], TOTAL);
    assert_eq!(
        now["flags"][0]["reason"], "payment_mismatch",
        "the odd one stays on record"
    );
}
on_both_backends!(a_mismatched_capture_is_refunded_once_the_right_payment_pays_the_order);

#[tokio::test]
async fn in_production_a_second_capture_on_a_paid_order_is_refunded_once() {
    let shop = Shop::open(Backend::Production, "double-capture-prod", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let first = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");
    let second = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");

    shop.deliver("payment.captured", "payment", &first).await;
    shop.deliver("payment.captured", "payment", &second).await;
    shop.deliver("order.paid", "payment", &second).await;

    let refunds = shop.razorpay.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["payment_id"], second["id"]);
    let now = shop.order(order["id"].as_str().unwrap()).await;
    assert_eq!(now["status"], "paid");
    assert_eq!(now["refundable"], TOTAL);
    assert_eq!(shop.audit("capture_refunded").await.len(), 1);
}
