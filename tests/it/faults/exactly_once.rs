//! Exactly once under ambiguous failures, on the real binary: the write
//! happens, the answer does not reach the client (the request times out after
//! the insert, or the process is killed), and the client retries with the same
//! `Idempotency-Key`. One order, one code.
//!
//! The write is held back with the MongoDB-wire server's `failCommand`
//! failpoint (`blockConnection`: the insert runs, late), and the code with a
//! slow MSG91 (wiremock answers after the request timeout): the same ambiguity
//! a slow network makes, on purpose.

use std::time::{Duration, Instant};

use bson::doc;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::kit::process::{free_port, msg91_env, wait_for_port, Bazaar, Server};
use crate::kit::{
    bearer_client, login, product_json, redis_url, unique, ADMIN_PASSWORD, ADMIN_PHONE,
};

/// Each request gets this long before it is answered 503 `timeout`; an
/// idempotency claim lives a second longer.
const REQUEST_TIMEOUT_MS: &str = "1000";

/// A MongoDB-wire server that takes `configureFailPoint`.
async fn failpoint_server() -> (Server, String) {
    let port = free_port();
    let server = Server::start(
        &crate::kit::env_url("BAZAAR_TEST_SECANTUSD"),
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
            ":memory:",
            "--log-level",
            "ERROR",
            "--enable-test-commands",
        ]
        .map(String::from),
    );
    wait_for_port(port).await;
    (server, format!("mongodb://127.0.0.1:{port}"))
}

/// Holds the next `insert` on the server for `ms` before it runs.
async fn delay_next_insert(mongodb_url: &str, ms: i32) {
    let client = mongodb::Client::with_uri_str(mongodb_url).await.unwrap();
    client
        .database("admin")
        .run_command(doc! {
            "configureFailPoint": "failCommand",
            "mode": { "times": 1 },
            "data": {
                "failCommands": ["insert"],
                "blockConnection": true,
                "blockTimeMS": ms,
            },
        })
        .await
        .unwrap();
}

async fn start(name: &str, mongodb_url: &str, extra: &[(&str, &str)]) -> Bazaar {
    let redis_url = redis_url();
    let prefix = format!("{}:", unique(name));
    let mut env = vec![
        ("BAZAAR_REDIS_URL", redis_url.as_str()),
        ("BAZAAR_REDIS_KEY_PREFIX", prefix.as_str()),
        ("BAZAAR_MONGODB_URL", mongodb_url),
        ("BAZAAR_REQUEST_TIMEOUT_MS", REQUEST_TIMEOUT_MS),
        ("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "0"),
    ];
    env.extend_from_slice(extra);
    Bazaar::start(name, &env).await
}

async fn admin(bazaar: &Bazaar) -> reqwest::Client {
    let anonymous = reqwest::Client::new();
    let token = login(&anonymous, &bazaar.url(""), ADMIN_PHONE, ADMIN_PASSWORD)
        .await
        .access_token;
    bearer_client(&token)
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A product with 10 units, and the body of an order for 2 of them.
async fn product_and_order(staff: &reqwest::Client, bazaar: &Bazaar, sku: &str) -> (String, Value) {
    let mut body = product_json(sku);
    body["stock"] = json!(10);
    let (status, product) = json(
        staff
            .post(bazaar.url("/api/v1/products"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let id = product["id"].as_str().unwrap().to_owned();
    let order = json!({ "items": [{ "product_id": id, "quantity": 2 }] });
    (id, order)
}

async fn place(
    staff: &reqwest::Client,
    bazaar: &Bazaar,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    staff
        .post(bazaar.url("/api/v1/orders"))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Sends the request again while its first attempt's claim is in flight
/// (409, `Retry-After`), as a client following the problem would; answers
/// the first other answer.
async fn retry_until_settled<F, Fut>(mut send: F) -> reqwest::Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = send().await;
        if response.status() != 409 || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every stored order, and the product's stock, as staff see them.
async fn orders_and_stock(
    staff: &reqwest::Client,
    bazaar: &Bazaar,
    product: &str,
) -> (Vec<Value>, i64) {
    let (_, orders) = json(
        staff
            .get(bazaar.url("/api/v1/orders"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, product) = json(
        staff
            .get(bazaar.url(&format!("/api/v1/products/{product}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    (
        orders["items"].as_array().unwrap().clone(),
        product["stock"].as_i64().unwrap(),
    )
}

/// Waits until the held-back insert has landed.
async fn wait_for_orders(staff: &reqwest::Client, bazaar: &Bazaar, product: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while orders_and_stock(staff, bazaar, product).await.0.len() < count {
        assert!(Instant::now() < deadline, "the order never landed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_order_whose_answer_timed_out_after_the_insert_is_placed_once() {
    let (mut mongo, mongodb_url) = failpoint_server().await;
    let bazaar = start("exactly-once-timeout", &mongodb_url, &[]).await;
    let staff = admin(&bazaar).await;
    let (product, order) = product_and_order(&staff, &bazaar, "EO-T").await;

    // The insert runs after the request has timed out: the client is told 503.
    delay_next_insert(&mongodb_url, 2_500).await;
    let (status, first) = json(place(&staff, &bazaar, "eo-timeout", &order).await).await;
    assert_eq!(status, 503, "{first}");
    wait_for_orders(&staff, &bazaar, &product, 1).await;

    let retry = retry_until_settled(|| place(&staff, &bazaar, "eo-timeout", &order)).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (status, retried) = json(retry).await;
    assert_eq!(status, 201, "{retried}");

    let (orders, stock) = orders_and_stock(&staff, &bazaar, &product).await;
    assert_eq!(orders.len(), 1, "one order: {orders:?}");
    assert_eq!(
        retried["id"], orders[0]["id"],
        "the retry answers that order"
    );
    assert_eq!(stock, 8, "its stock was taken once");
    mongo.stop();
}

#[tokio::test]
async fn an_order_whose_process_was_killed_after_the_insert_is_placed_once() {
    let (mut mongo, mongodb_url) = failpoint_server().await;
    let mut bazaar = start(
        "exactly-once-kill",
        &mongodb_url,
        // Long enough that the kill, not the timeout, ends the first attempt.
        &[("BAZAAR_REQUEST_TIMEOUT_MS", "10000")],
    )
    .await;
    let staff = admin(&bazaar).await;
    let (product, order) = product_and_order(&staff, &bazaar, "EO-K").await;

    delay_next_insert(&mongodb_url, 1_500).await;
    let first = {
        let (staff, url, order) = (staff.clone(), bazaar.url("/api/v1/orders"), order.clone());
        tokio::spawn(async move {
            staff
                .post(url)
                .header("Idempotency-Key", "eo-kill")
                .json(&order)
                .send()
                .await
        })
    };
    // The insert is on the wire, held by the server; the process dies.
    tokio::time::sleep(Duration::from_millis(500)).await;
    bazaar.kill();
    assert!(
        first.await.unwrap().is_err(),
        "the first attempt got no answer"
    );
    bazaar.restart().await;
    let staff = admin(&bazaar).await;
    wait_for_orders(&staff, &bazaar, &product, 1).await;

    // Its claim in Redis outlives the process until it expires (409 meanwhile).
    let retry = retry_until_settled(|| place(&staff, &bazaar, "eo-kill", &order)).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (status, retried) = json(retry).await;
    assert_eq!(status, 201, "{retried}");

    let (orders, stock) = orders_and_stock(&staff, &bazaar, &product).await;
    assert_eq!(orders.len(), 1, "one order: {orders:?}");
    assert_eq!(retried["id"], orders[0]["id"]);
    assert_eq!(stock, 8, "its stock was taken once");
    mongo.stop();
}

#[tokio::test]
async fn a_code_whose_answer_timed_out_after_sending_is_sent_once() {
    let (mut mongo, mongodb_url) = failpoint_server().await;
    let msg91 = MockServer::start().await;
    // MSG91 takes the code, and answers after the request has timed out.
    Mock::given(method("POST"))
        .and(path("/otp"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "success", "request_id": "eo-otp"}))
                .set_delay(Duration::from_millis(1_500)),
        )
        .mount(&msg91)
        .await;
    let mut env = msg91_env(&msg91.uri());
    // The cooldown is over by the time the retry runs: only the key stands
    // between the retry and a second code.
    env.push(("BAZAAR_OTP_COOLDOWN_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bazaar = start("exactly-once-otp", &mongodb_url, &env).await;
    let send = || {
        reqwest::Client::new()
            .post(bazaar.url("/api/v1/auth/otp/send"))
            .header("Idempotency-Key", "eo-otp")
            .json(&json!({"phone": ADMIN_PHONE, "purpose": "login"}))
            .send()
    };

    let (status, first) = json(send().await.unwrap()).await;
    assert_eq!(status, 503, "{first}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let retry = retry_until_settled(|| async { send().await.unwrap() }).await;

    assert_eq!(retry.status(), 202);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let sent = msg91.received_requests().await.unwrap();
    assert_eq!(
        sent.iter().filter(|r| r.url.path() == "/otp").count(),
        1,
        "one code"
    );
    mongo.stop();
}
