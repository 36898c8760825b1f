//! Refund overflow: Razorpay reports, correctly signed, a `refund.processed` larger than what
//! was captured. The ledger must never show more refunded than taken: such a refund is flagged
//! for staff (and audited), not recorded, and the order stays paid. A refund reported before
//! its capture is checked against what Razorpay says was captured, not refused for arriving
//! first; a refund of a payment of another order counts for nothing here.

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_refund_event_larger_than_the_capture_is_flagged_and_not_recorded(backend: Backend) {
    let shop = Shop::open(backend, "refund-overflow", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let payment = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");
    shop.deliver("payment.captured", "payment", &payment).await;
    let too_much = shop
        .razorpay
        .refund_entity(&payment, TOTAL + 1, "processed");

    let (status, ack, event_id) = shop.deliver("refund.processed", "refund", &too_much).await;
    let (again, _, _) = shop.deliver("refund.processed", "refund", &too_much).await;

    assert_eq!((status, again), (200, 200), "{ack}");
    let now = shop.order(id).await;
    assert_eq!(now["status"], "paid", "{now}");
    assert_eq!(now["refunded"], 0);
    assert_eq!(now["refundable"], TOTAL);
    assert_eq!(
        now["ledger"].as_array().unwrap().len(),
        1,
        "only the capture"
    );
    let flags = now["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["reason"], "refund_exceeds_capture");
    assert_eq!(flags[0]["subject"], too_much["id"]);
    let stored = shop.stored_event(&event_id).await.unwrap();
    assert!(stored["outcome"].as_str().unwrap().starts_with("flagged:"));
    assert_eq!(shop.audit("payment_flagged").await.len(), 1);
    // Staff list it among the flagged orders.
    let (_, flagged) = shop
        .send(shop.staff.get(shop.url("/api/v1/orders?flagged=true")))
        .await;
    let listed: Vec<&str> = flagged["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [id]);
}
on_both_backends!(a_refund_event_larger_than_the_capture_is_flagged_and_not_recorded);

async fn a_refund_reported_before_its_capture_is_checked_against_what_razorpay_captured(
    backend: Backend,
) {
    let shop = Shop::open(backend, "refund-first", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    // Captured at Razorpay; its webhook has not arrived when the refund's does.
    let payment = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");
    let part = shop.razorpay.refund_entity(&payment, 500, "processed");
    // A refund of another order's payment, claiming this order in its notes.
    let (_, other_rzp) = shop.order_in_checkout().await;
    let elsewhere = shop.razorpay.pay(&other_rzp, TOTAL, "INR", "captured");
    let mut stray = shop.razorpay.refund_entity(&elsewhere, 100, "processed");
    stray["notes"] = serde_json::json!({"order_id": id});

    let (first, _, _) = shop.deliver("refund.processed", "refund", &part).await;
    let (second, _, _) = shop.deliver("refund.processed", "refund", &stray).await;
    let (late, _, _) = shop.deliver("payment.captured", "payment", &payment).await;

    assert_eq!((first, second, late), (200, 200, 200));
    let now = shop.order(id).await;
    assert_eq!(now["status"], "paid", "{now}");
    assert_eq!(now["captured"], TOTAL);
    assert_eq!(now["refunded"], 500, "the refund that fits is recorded");
    let flags = now["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["subject"], stray["id"]);
}
on_both_backends!(a_refund_reported_before_its_capture_is_checked_against_what_razorpay_captured);

#[tokio::test]
async fn in_production_a_refund_larger_than_the_capture_is_flagged_not_recorded() {
    let shop = Shop::open(Backend::Production, "refund-overflow-prod", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let payment = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");
    shop.deliver("payment.captured", "payment", &payment).await;
    let too_much = shop
        .razorpay
        .refund_entity(&payment, 2 * TOTAL, "processed");

    let (status, _, _) = shop.deliver("refund.processed", "refund", &too_much).await;

    assert_eq!(status, 200);
    let now = shop.order(order["id"].as_str().unwrap()).await;
    assert_eq!(now["status"], "paid");
    assert_eq!(now["refunded"], 0);
    assert_eq!(now["flags"][0]["reason"], "refund_exceeds_capture");
}
