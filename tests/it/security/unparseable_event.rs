//! Unparseable event: a webhook whose signature verifies but that Bazaar cannot read (not
//! JSON, or a payment event without its payment, or one whose payment lacks its amount). It
//! used to be answered 400 and dropped, so Razorpay retried it for a day and the news was lost.
//! Every verified event is stored: such an event is kept unapplied, where staff list it and can
//! apply it again, and acknowledged with 200 `unparseable`.

use serde_json::json;

use super::shop::{on_both_backends, Backend, Shop, TOTAL};

async fn a_signed_event_bazaar_cannot_read_is_stored_for_staff_and_acknowledged(backend: Backend) {
    let shop = Shop::open(backend, "unparseable", &[]).await;
    let (_, rzp_order) = shop.order_in_checkout().await;
    let mut payment = shop.razorpay.pay(&rzp_order, TOTAL, "INR", "captured");
    payment.as_object_mut().unwrap().remove("amount");
    let no_amount = serde_json::to_vec(&json!({
        "entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": payment}}, "created_at": 1_767_225_600,
    }))
    .unwrap();
    let no_payment = br#"{"entity":"event","event":"order.paid","payload":{}}"#;
    let not_json = b"\x00\xffnot json at all";

    let missing = shop.deliver_raw(&no_amount, Some("evt_NoAmount01")).await;
    let redelivered = shop.deliver_raw(&no_amount, Some("evt_NoAmount01")).await;
    let empty = shop.deliver_raw(no_payment, Some("evt_NoPayment01")).await;
    let garbage = shop.deliver_raw(not_json, None).await;

    for (status, ack) in [&missing, &redelivered, &empty, &garbage] {
        assert_eq!(
            (*status, ack["status"].as_str()),
            (200, Some("unparseable")),
            "{ack}"
        );
    }
    let stored = shop.stored_event("evt_NoAmount01").await.expect("stored");
    assert_eq!(stored["event"], "payment.captured");
    assert_eq!(stored["deliveries"], 2);
    assert!(stored.get("applied_at").is_none(), "{stored}");
    let outcome = stored["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("unparseable:") && outcome.contains("amount"),
        "{outcome}"
    );
    assert_eq!(stored["payload"], String::from_utf8(no_amount).unwrap());
    let lacking = shop.stored_event("evt_NoPayment01").await.expect("stored");
    assert!(lacking["outcome"].as_str().unwrap().contains("no payment"));
    // Without an event id, the body's digest is its id: stored once, and listed.
    let (_, all) = shop
        .send(
            shop.staff
                .get(shop.url("/api/v1/admin/webhooks?event=unknown")),
        )
        .await;
    assert_eq!(all["total"], 1, "{all}");
    assert!(all["items"][0]["event_id"]
        .as_str()
        .unwrap()
        .starts_with("body_"));
    // Reapplying what still cannot be read is refused and changes nothing.
    let (reapply, problem) = shop
        .send(
            shop.staff
                .post(shop.url("/api/v1/admin/webhooks/evt_NoAmount01/actions/reapply")),
        )
        .await;
    assert_eq!(
        (reapply, problem["code"].as_str()),
        (409, Some("conflict")),
        "{problem}"
    );
    assert_eq!(shop.stored_event("evt_NoAmount01").await.unwrap(), stored);
}
on_both_backends!(a_signed_event_bazaar_cannot_read_is_stored_for_staff_and_acknowledged);

async fn an_unsigned_or_missigned_body_is_still_refused_and_not_stored(backend: Backend) {
    let shop = Shop::open(backend, "unparseable-unsigned", &[]).await;

    let (status, problem) = shop
        .send(
            shop.staff
                .post(shop.url("/api/v1/webhooks/razorpay"))
                .header("content-type", "application/json")
                .header("x-razorpay-signature", "00".repeat(32))
                .header("x-razorpay-event-id", "evt_Forged01")
                .body("not json"),
        )
        .await;

    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_signature"))
    );
    assert!(shop.stored_event("evt_Forged01").await.is_none());
}
on_both_backends!(an_unsigned_or_missigned_body_is_still_refused_and_not_stored);

#[tokio::test]
async fn in_production_a_signed_event_bazaar_cannot_read_is_stored_for_staff() {
    let shop = Shop::open(Backend::Production, "unparseable-prod", &[]).await;

    let (status, ack) = shop
        .deliver_raw(
            br#"{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_X"}}}}"#,
            Some("evt_ProdBad01"),
        )
        .await;

    assert_eq!((status, ack["status"].as_str()), (200, Some("unparseable")));
    let stored = shop.stored_event("evt_ProdBad01").await.expect("stored");
    assert!(stored["outcome"]
        .as_str()
        .unwrap()
        .starts_with("unparseable:"));
}
