//! Order notices through HTTP: which channels a customer's preferences open (SMS, email,
//! WhatsApp), in which language, and the payment receipt that goes out whatever they say.
//! What was "sent" is read from the fakes' record (`GET /api/v1/dev/messages`) and the
//! admin's outbox list.

use std::time::Duration;

use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, product_json, Expect, TestApp};
use bazaar::http::orders::body::OrderBody;
use bazaar::http::orders::payments::CheckoutBody;

/// The app with a worker that looks for due notices every 100 ms.
async fn app() -> TestApp {
    test_app()
        .env(&[("BAZAAR_OUTBOX_POLL_MS", "100")])
        .spawn()
        .await
}

/// A customer signed up with `phone` (verified) and the given preferences; their client
/// and phone in E.164.
async fn customer(app: &TestApp, phone: &str, preferences: Value) -> (reqwest::Client, String) {
    let pair = signed_up_customer(app, phone).await;
    let client = bearer_client(&pair.access_token);
    let me: Value = client
        .get(app.url("/api/v1/users/me"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    client
        .put(app.url("/api/v1/users/me/preferences"))
        .json(&preferences)
        .expect_status(200)
        .await;
    (client, me["phone"].as_str().unwrap().to_owned())
}

/// An order `client` places and pays (the fake Razorpay captures it): its confirmation and
/// receipt are written to the outbox.
async fn paid_order(app: &TestApp, client: &reqwest::Client, sku: &str) -> String {
    let mut product = product_json(sku);
    product["price"] = json!(49_950);
    product["stock"] = json!(5);
    let product = app.create_product(product).await.id;
    let placed: OrderBody = client
        .post(app.url("/api/v1/orders"))
        .json(&json!({ "items": [{ "product_id": product, "quantity": 1 }] }))
        .expect(201)
        .await;
    let checkout: CheckoutBody = client
        .post(app.url(&format!("/api/v1/orders/{}/payments", placed.id)))
        .json(&json!({}))
        .expect(200)
        .await;
    let paid: OrderBody = app
        .post(
            &format!(
                "/api/v1/dev/payments/{}/capture",
                checkout.razorpay_order_id
            ),
            &json!({}),
        )
        .expect(200)
        .await;
    assert_eq!(paid.status.0.as_str(), "paid");
    paid.id
}

/// `(kind, channel, state)` of the outbox messages about `order`, once none is pending.
async fn settled_notices(app: &TestApp, order: &str) -> Vec<(String, String, String)> {
    let read = async {
        loop {
            let page: Value = app
                .get("/api/v1/admin/outbox?limit=100")
                .await
                .expect_status(200)
                .await
                .json()
                .await
                .unwrap();
            let mut notices: Vec<(String, String, String)> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["dedupe_key"].as_str().unwrap().starts_with(order))
                .map(|m| {
                    let field = |name: &str| m[name].as_str().unwrap().to_owned();
                    (field("kind"), field("channel"), field("state"))
                })
                .collect();
            if notices.iter().all(|(_, _, state)| state != "pending") {
                notices.sort();
                return notices;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the worker settles the notices")
}

/// The notices the fakes sent to `to` (phone or email), as `(channel, purpose, data)`.
async fn notices_sent_to(app: &TestApp, to: &str) -> Vec<(String, String, Value)> {
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == to && m["code"].is_null() && m["channel"] != "voice")
        .map(|m| {
            let data = m["data"]
                .as_str()
                .map(|d| serde_json::from_str(d).unwrap())
                .unwrap_or(Value::Null);
            (
                m["channel"].as_str().unwrap().to_owned(),
                m["purpose"].as_str().unwrap().to_owned(),
                data,
            )
        })
        .collect()
}

fn triple(kind: &str, channel: &str, state: &str) -> (String, String, String) {
    (kind.to_owned(), channel.to_owned(), state.to_owned())
}

#[tokio::test]
async fn a_customer_with_whatsapp_on_in_hindi_gets_the_hindi_whatsapp_templates_and_no_sms() {
    let app = app().await;
    let (client, phone) = customer(
        &app,
        "98123 40001",
        json!({"language": "hi", "sms": false, "email": true, "whatsapp": true}),
    )
    .await;

    let order = paid_order(&app, &client, "WA-1").await;

    assert_eq!(
        settled_notices(&app, &order).await,
        [
            triple("order_confirmation", "whatsapp", "delivered"),
            triple("payment_receipt", "whatsapp", "delivered"),
        ],
        "no SMS (turned off), no email (none given)"
    );
    let mut sent = notices_sent_to(&app, &phone).await;
    sent.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(sent.len(), 2, "{sent:?}");
    for ((channel, purpose, data), kind) in
        sent.iter().zip(["order_confirmation", "payment_receipt"])
    {
        assert_eq!((channel.as_str(), purpose.as_str()), ("whatsapp", kind));
        assert_eq!(data["template"], format!("bazaar_{kind}"));
        assert_eq!(data["language"], "hi", "{data}");
        assert_eq!(
            data["body"],
            json!(["Customer", order, "₹589.42"]),
            "{data}"
        );
    }
}

#[tokio::test]
async fn a_language_without_its_own_whatsapp_template_gets_the_english_one() {
    let app = app().await;
    let (client, phone) = customer(
        &app,
        "98123 40002",
        json!({"language": "ta", "sms": false, "email": false, "whatsapp": true}),
    )
    .await;

    let order = paid_order(&app, &client, "WA-2").await;

    settled_notices(&app, &order).await;
    let languages: Vec<Value> = notices_sent_to(&app, &phone)
        .await
        .into_iter()
        .map(|(channel, _, data)| {
            assert_eq!(channel, "whatsapp");
            data["language"].clone()
        })
        .collect();
    assert_eq!(languages, [json!("en"), json!("en")]);
}

#[tokio::test]
async fn an_email_notice_is_written_only_for_a_customer_with_an_email_and_held_back_while_unverified(
) {
    let app = app().await;
    let (client, phone) = customer(
        &app,
        "98123 40003",
        json!({"language": "en", "sms": true, "email": true, "whatsapp": false}),
    )
    .await;

    let first = paid_order(&app, &client, "EM-1").await;
    assert_eq!(
        settled_notices(&app, &first).await,
        [
            triple("order_confirmation", "sms", "delivered"),
            triple("payment_receipt", "sms", "delivered"),
        ],
        "no email without an address, and no WhatsApp without the opt-in"
    );

    client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({"email": "ravi@example.in"}))
        .expect_status(200)
        .await;
    let second = paid_order(&app, &client, "EM-2").await;
    assert_eq!(
        settled_notices(&app, &second).await,
        [
            triple("order_confirmation", "email", "skipped"),
            triple("order_confirmation", "sms", "delivered"),
            triple("payment_receipt", "email", "skipped"),
            triple("payment_receipt", "sms", "delivered"),
        ],
        "an unverified address is recorded, not sent to"
    );
    assert!(notices_sent_to(&app, "ravi@example.in").await.is_empty());
    let channels: Vec<String> = notices_sent_to(&app, &phone)
        .await
        .into_iter()
        .map(|(channel, _, _)| channel)
        .collect();
    assert_eq!(channels, ["sms"; 4]);
}

#[tokio::test]
async fn a_payment_receipt_reaches_a_customer_who_turned_every_channel_off() {
    let app = app().await;
    let (client, phone) = customer(
        &app,
        "98123 40004",
        json!({"language": "hi", "sms": false, "email": false, "whatsapp": false}),
    )
    .await;

    let order = paid_order(&app, &client, "TX-1").await;

    assert_eq!(
        settled_notices(&app, &order).await,
        [triple("payment_receipt", "sms", "delivered")],
        "the confirmation follows the preferences; the receipt is transactional"
    );
    let sent = notices_sent_to(&app, &phone).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].0.as_str(), sent[0].1.as_str()),
        ("sms", "payment_receipt")
    );
    assert_eq!(
        sent[0].2["language"], "hi",
        "the flow gets the language too"
    );
}

#[tokio::test]
async fn turning_whatsapp_off_stops_whatsapp_notices() {
    let app = app().await;
    let (client, phone) = customer(
        &app,
        "98123 40005",
        json!({"language": "en", "sms": true, "email": false, "whatsapp": true}),
    )
    .await;
    client
        .put(app.url("/api/v1/users/me/preferences"))
        .json(&json!({"language": "en", "sms": true, "email": false, "whatsapp": false}))
        .expect_status(200)
        .await;

    let order = paid_order(&app, &client, "WA-3").await;

    settled_notices(&app, &order).await;
    let channels: Vec<String> = notices_sent_to(&app, &phone)
        .await
        .into_iter()
        .map(|(channel, _, _)| channel)
        .collect();
    assert_eq!(channels, ["sms", "sms"]);
}
