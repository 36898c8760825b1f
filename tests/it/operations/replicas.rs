//! Two `bazaar serve` processes against one MongoDB-wire server and one Redis, as
//! users run them behind a load balancer: whatever one replica does, the other
//! sees, and nothing happens twice because there are two.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bazaar::startup::FAKE_RAZORPAY_WEBHOOK_SECRET;
use bazaar_adapters::razorpay::webhook_signature;
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::kit::process::{msg91_env, Bazaar};
use crate::kit::{
    bearer_client, login, mongodb_url, product_json, redis_url, unique, ADMIN_PASSWORD, ADMIN_PHONE,
};

/// Replicas `a` and `b` of one deployment: their own database and key prefix,
/// shared by both. Started at once, as a rollout does.
async fn replicas(name: &str, extra: &[(&str, &str)]) -> (Bazaar, Bazaar) {
    let database = unique("replicas");
    let prefix = format!("{}:", unique("replicas"));
    let mongodb = mongodb_url();
    let redis = redis_url();
    let mut env = vec![
        ("BAZAAR_MONGODB_URL", mongodb.as_str()),
        ("BAZAAR_MONGODB_DATABASE", database.as_str()),
        ("BAZAAR_REDIS_URL", redis.as_str()),
        ("BAZAAR_REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    env.extend_from_slice(extra);
    let (a_name, b_name) = (format!("{name}-a"), format!("{name}-b"));
    tokio::join!(Bazaar::start(&a_name, &env), Bazaar::start(&b_name, &env))
}

/// A client with a fresh connection per request, so that nothing is pinned.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn admin(replica: &Bazaar) -> reqwest::Client {
    let pair = login(&client(), &replica.url(""), ADMIN_PHONE, ADMIN_PASSWORD).await;
    bearer_client(&pair.access_token)
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn post(client: &reqwest::Client, replica: &Bazaar, path: &str, body: &Value) -> Value {
    json_of(
        client
            .post(replica.url(path))
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_rate_limit_is_shared_by_every_replica() {
    let (a, b) = replicas(
        "rate-limit",
        &[("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "10")],
    )
    .await;
    let client = client();
    for i in 0..10 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let response = client
            .get(replica.url("/api/v1/products"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "request {i} is within the limit");
    }
    // Five requests on each: a per-replica limit of 10 would let both through.
    for replica in [&a, &b] {
        let response = client
            .get(replica.url("/api/v1/products"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            429,
            "the 11th request, on either replica"
        );
        assert!(response.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn logout_on_one_replica_ends_the_session_on_the_other_at_once() {
    let (a, b) = replicas("logout", &[]).await;
    let pair = login(&client(), &a.url(""), ADMIN_PHONE, ADMIN_PASSWORD).await;
    let user = bearer_client(&pair.access_token);
    // B has verified the token and cached the user.
    for _ in 0..2 {
        let me = user.get(b.url("/api/v1/users/me")).send().await.unwrap();
        assert_eq!(me.status(), 200);
    }

    let out = user
        .post(a.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);

    // No waiting: the very next request on B is refused.
    let me = user.get(b.url("/api/v1/users/me")).send().await.unwrap();
    assert_eq!(me.status(), 401, "the access token died with its session");
}

/// How long a test waits for another replica to see a write. The in-process
/// caches keep entries for a minute here, so only the invalidation notice can
/// make a write visible within this time.
const SEEN_WITHIN: Duration = Duration::from_secs(5);

async fn seen_on(
    replica: &Bazaar,
    client: &reqwest::Client,
    path: &str,
    pred: impl Fn(&Value) -> bool,
) {
    let began = Instant::now();
    loop {
        let body = json_of(client.get(replica.url(path)).send().await.unwrap()).await;
        if pred(&body) {
            return;
        }
        assert!(
            began.elapsed() < SEEN_WITHIN,
            "{path} on the other replica still answers {body} after {SEEN_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_write_on_one_replica_is_not_served_stale_by_the_other() {
    let (a, b) = replicas("invalidation", &[("BAZAAR_CACHE_L1_TTL_MS", "60000")]).await;
    let staff = admin(&a).await;
    let mut body = product_json("R-1");
    body["category"] = json!("toys");
    let product = post(&staff, &a, "/api/v1/products", &body).await;
    let id = product["id"].as_str().unwrap();
    let item = format!("/api/v1/products/{id}");
    let page = "/api/v1/products?category=toys";
    let anyone = client();
    // B caches the product and the list page (read twice: the second is a hit).
    for _ in 0..2 {
        assert_eq!(
            json_of(anyone.get(b.url(&item)).send().await.unwrap()).await["price"],
            49900
        );
        let listed = json_of(anyone.get(b.url(page)).send().await.unwrap()).await;
        assert_eq!(listed["items"][0]["price"], 49900);
    }

    let patched = staff
        .patch(a.url(&item))
        .json(&json!({"price": 12345}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    seen_on(&b, &anyone, &item, |p| p["price"] == 12345).await;
    seen_on(&b, &anyone, page, |l| l["items"][0]["price"] == 12345).await;

    // Users too: a rename on A shows on B's `/users/me`.
    assert_eq!(
        json_of(staff.get(b.url("/api/v1/users/me")).send().await.unwrap()).await["name"],
        "Administrator"
    );
    let renamed = staff
        .patch(a.url("/api/v1/users/me"))
        .json(&json!({"name": "Renamed Admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    seen_on(&b, &staff, "/api/v1/users/me", |me| {
        me["name"] == "Renamed Admin"
    })
    .await;
}

/// A signed `payment.captured` delivery for this Razorpay order.
fn captured(event_id: &str, rzp_order: &str, amount: i64) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&json!({
        "entity": "event", "account_id": "acc_Replicas", "event": "payment.captured",
        "contains": ["payment"],
        "payload": { "payment": { "entity": {
            "id": format!("pay_{event_id}"), "entity": "payment", "amount": amount,
            "currency": "INR", "status": "captured", "order_id": rzp_order, "method": "upi",
            "captured": true, "amount_refunded": 0, "notes": [], "created_at": 1767225600
        }}},
        "created_at": 1767225600
    }))
    .unwrap();
    let secret = SecretString::from(FAKE_RAZORPAY_WEBHOOK_SECRET.to_owned());
    let signature = webhook_signature(&secret, &body);
    (body, signature)
}

async fn deliver(replica: &Bazaar, event_id: &str, body: &[u8], signature: &str) -> u16 {
    client()
        .post(replica.url("/api/v1/webhooks/razorpay"))
        .header("content-type", "application/json")
        .header("x-razorpay-event-id", event_id)
        .header("x-razorpay-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_webhook_sent_to_both_replicas_is_applied_once_and_each_notice_is_delivered_once() {
    let msg91 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/flow/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "success", "message": "replica-test"})),
        )
        .mount(&msg91)
        .await;
    let mut env = msg91_env(&msg91.uri());
    // Both workers poll often, so both compete for every message.
    env.push(("BAZAAR_OUTBOX_POLL_MS", "100".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = replicas("webhooks", &env).await;
    let staff = admin(&a).await;
    let mut body = product_json("W-1");
    body["stock"] = json!(100);
    let product = post(&staff, &a, "/api/v1/products", &body).await;
    let product_id = product["id"].as_str().unwrap();

    const ORDERS: usize = 6;
    let mut orders = Vec::new();
    for i in 0..ORDERS {
        let replica = if i % 2 == 0 { &a } else { &b };
        let items = json!({"items": [{"product_id": product_id, "quantity": 1}]});
        let placed = post(&staff, replica, "/api/v1/orders", &items).await;
        let id = placed["id"].as_str().unwrap().to_owned();
        // Checkout on A: the development fake Razorpay lives in each process, so
        // a second one would hand out the same order ids (real Razorpay does not).
        let checkout = post(
            &staff,
            &a,
            &format!("/api/v1/orders/{id}/payments"),
            &json!({}),
        )
        .await;
        orders.push((
            id,
            checkout["razorpay_order_id"].as_str().unwrap().to_owned(),
            checkout["amount"].as_i64().unwrap(),
        ));
    }

    // Razorpay retries a slow delivery while the first is still running; a load
    // balancer may send the two to different replicas at the same moment.
    for (i, (_, rzp_order, amount)) in orders.iter().enumerate() {
        let event_id = format!("evt_Replicas{i}");
        let (body, signature) = captured(&event_id, rzp_order, *amount);
        let (on_a, on_b) = tokio::join!(
            deliver(&a, &event_id, &body, &signature),
            deliver(&b, &event_id, &body, &signature)
        );
        assert!(
            (200..300).contains(&on_a) && (200..300).contains(&on_b),
            "both deliveries are acknowledged: {on_a}, {on_b}"
        );
    }

    for (id, _, _) in &orders {
        let order = json_of(
            staff
                .get(b.url(&format!("/api/v1/orders/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(order["status"], "paid", "{order}");
        let ledger = order["ledger"].as_array().unwrap();
        assert_eq!(ledger.len(), 1, "one capture entry: {ledger:?}");
    }
    let events = json_of(
        staff
            .get(a.url("/api/v1/admin/webhooks?event=payment.captured&limit=100"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(events["total"], ORDERS, "each event stored once: {events}");

    // Every notice the payments enqueued is delivered, by one replica or the other, once.
    let outbox = "/api/v1/admin/outbox?limit=100";
    let began = Instant::now();
    let messages = loop {
        let page = json_of(staff.get(a.url(outbox)).send().await.unwrap()).await;
        let messages = page["items"].as_array().unwrap().clone();
        if !messages.is_empty() && messages.iter().all(|m| m["state"] == "delivered") {
            break messages;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the outbox was not delivered: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (id, _, _) in &orders {
        let notices = messages
            .iter()
            .filter(|m| m["dedupe_key"].as_str().unwrap().starts_with(id.as_str()))
            .count();
        assert!(notices > 0, "order {id} enqueued its notices");
    }
    let mut sent: BTreeMap<(String, String), usize> = BTreeMap::new();
    for request in msg91.received_requests().await.unwrap() {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let flow = body["flow_id"].as_str().unwrap().to_owned();
        let order = body["recipients"][0]["order_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *sent.entry((flow, order)).or_default() += 1;
    }
    assert!(
        sent.values().all(|&n| n == 1),
        "every SMS was sent once: {sent:?}"
    );
    assert_eq!(
        sent.values().sum::<usize>(),
        messages.len(),
        "one SMS per message: {sent:?}"
    );
}
