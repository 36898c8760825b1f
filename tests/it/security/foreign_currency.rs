//! Foreign currency: Razorpay reports, correctly signed, a payment of 11800 in US dollars for an
//! order of ₹118 (11800 paise). The number matches, the money does not: the capture is recorded
//! in its own currency (never counted as paise), the order is `payment_mismatch` and flagged,
//! an authorised payment in dollars is never captured, and staff cancelling refunds it in
//! dollars.

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_capture_of_the_right_number_of_dollars_does_not_pay_an_order_in_rupees(
    backend: Backend,
) {
    let shop = Shop::open(backend, "usd-webhook", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let id = order["id"].as_str().unwrap();
    let dollars = shop.razorpay.pay(&rzp_order, TOTAL, "USD", "captured");

    let (status, ack, _) = shop.deliver("payment.captured", "payment", &dollars).await;

    assert_eq!(status, 200, "{ack}");
    let now = shop.order(id).await;
    assert_eq!(now["status"], "payment_mismatch", "{now}");
    assert_eq!(now["captured"], 0, "dollars are not counted as paise");
    assert_eq!(now["ledger"][0]["currency"], "USD");
    assert_eq!(now["ledger"][0]["amount"], TOTAL);
    assert_eq!(now["flags"][0]["reason"], "payment_mismatch");
    assert!(now["flags"][0]["detail"].as_str().unwrap().contains("USD"));
    // Staff cancel: the dollars go back, in dollars.
    let (cancel, cancelled) = shop
        .send(
            shop.staff
                .post(shop.url(&format!("/api/v1/orders/{id}/actions/cancel"))),
        )
        .await;
    assert_eq!(
        (cancel, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let refunds = shop.razorpay.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["payment_id"], dollars["id"]);
    assert_eq!(refunds[0]["currency"], "USD");
    assert_eq!(refunds[0]["amount"], TOTAL);
    let ledger = cancelled["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    assert_eq!(ledger[1]["kind"], "refund");
    assert_eq!(ledger[1]["currency"], "USD");
}
on_both_backends!(a_capture_of_the_right_number_of_dollars_does_not_pay_an_order_in_rupees);

async fn verify_never_captures_an_authorised_payment_in_dollars(backend: Backend) {
    let shop = Shop::open(backend, "usd-verify", &[]).await;
    let (_, rzp_order) = shop.order_in_checkout().await;
    let dollars = shop.razorpay.pay(&rzp_order, TOTAL, "USD", "authorized");

    let (status, answered) = shop
        .verify(&rzp_order, dollars["id"].as_str().unwrap())
        .await;

    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "pending_payment");
    assert_eq!(answered["flags"][0]["reason"], "payment_mismatch");
    assert!(shop.razorpay.captures().is_empty());
    assert_eq!(shop.audit("payment_flagged").await.len(), 1);
}
on_both_backends!(verify_never_captures_an_authorised_payment_in_dollars);

#[tokio::test]
async fn in_production_a_capture_in_dollars_does_not_pay_an_order_in_rupees() {
    let shop = Shop::open(Backend::Production, "usd-prod", &[]).await;
    let (order, rzp_order) = shop.order_in_checkout().await;
    let dollars = shop.razorpay.pay(&rzp_order, TOTAL, "USD", "captured");

    let (status, _, _) = shop.deliver("payment.captured", "payment", &dollars).await;
    let (verify, answered) = shop
        .verify(&rzp_order, dollars["id"].as_str().unwrap())
        .await;

    assert_eq!((status, verify), (200, 200), "{answered}");
    let now = shop.order(order["id"].as_str().unwrap()).await;
    assert_eq!(now["status"], "payment_mismatch");
    assert_eq!(now["captured"], 0);
    assert_eq!(now["ledger"].as_array().unwrap().len(), 1, "recorded once");
}
