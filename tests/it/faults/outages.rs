//! Backends that go away while the service runs: requests answer 503 problems
//! with `Retry-After` (never hang or 500), readiness turns 503, and everything
//! recovers by itself when the backend returns. Each test runs its own private
//! Redis or MongoDB-wire server so it can stop and restart it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bazaar::app::idempotency::{
    Begin, Fingerprint, IdempotencyKey, IdempotencySettings, IdempotencyStore, Scope,
    StoredResponse,
};
use bazaar::http::auth::TokenPair;
use bazaar::kv::redis::RedisKv;
use bazaar::kv::{KeyValueStore, KvError};
use bazaar::state::Backends;
use bazaar::store::mongo::{self, MongoProducts};
use serde_json::Value;

use crate::kit::process::{
    durable_redis_server, eventually, free_port, mongo_server, redis_server, wait_for_port,
};
use crate::kit::{
    bearer_client, parse, problem, product_json, TestApp, ADMIN_PASSWORD, ADMIN_PHONE,
};

async fn status(app: &TestApp, path: &str) -> u16 {
    app.get(path).await.status().as_u16()
}

#[tokio::test]
async fn losing_redis_turns_writes_and_readiness_to_503_and_recovers() {
    let port = free_port();
    let mut redis = redis_server(port);
    wait_for_port(port).await;
    let app = TestApp::builder()
        .redis_kv(&format!("redis://127.0.0.1:{port}"), "resilience:")
        .spawn()
        .await;
    let created = app.create_product(product_json("RES-1")).await;
    let path = format!("/api/v1/products/{}", created.id);

    redis.stop();

    // Authenticated requests need the session store: 503, quickly.
    let started = Instant::now();
    let write = app
        .post_json("/api/v1/products", &product_json("RES-2"))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang while Redis is down"
    );
    assert_eq!(write.status(), 503);
    assert!(write.headers().contains_key("retry-after"));
    let body = problem(write).await;
    assert_eq!(
        (body["code"].as_str(), body["retryable"].as_bool()),
        (Some("backend_unavailable"), Some(true))
    );
    // Signing in needs Redis too (sessions, and the auth rate limit fails closed).
    let login = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"identifier": ADMIN_PHONE, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let ready = problem(ready).await;
    assert_eq!(ready["errors"][0]["field"], "key_value", "{ready}");
    // Public reads need no Redis: the default rate limit lets them through.
    assert_eq!(
        app.anonymous
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // This Redis keeps nothing on disk, so the sessions it held are gone: the
    // service must reconnect by itself and sign-ins work again.
    let _redis = redis_server(port);
    eventually("readiness recovering", || async {
        status(&app, "/health/ready").await == 200
    })
    .await;
    let address = app.address.clone();
    eventually("sign-in and writes recovering", || async {
        let Ok(response) = app
            .anonymous
            .post(format!("{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"identifier": ADMIN_PHONE, "password": ADMIN_PASSWORD}))
            .send()
            .await
        else {
            return false;
        };
        if response.status() != 200 {
            return false;
        }
        let pair: TokenPair = parse(response).await;
        let admin = bearer_client(&pair.access_token);
        admin
            .post(format!("{address}/api/v1/products"))
            .json(&product_json("RES-2"))
            .send()
            .await
            .unwrap()
            .status()
            == 201
    })
    .await;
}

#[tokio::test]
async fn losing_mongodb_turns_requests_and_readiness_to_503_and_recovers() {
    let port = free_port();
    let mut server = mongo_server(port);
    wait_for_port(port).await;
    let url = format!("mongodb://127.0.0.1:{port}");
    let db = mongo::connect(&url, "bazaar", Duration::from_millis(500))
        .await
        .unwrap();
    let products = MongoProducts::new(&db).await.unwrap();
    let backends = Backends {
        products: Arc::new(products),
        ..Backends::in_memory()
    };
    let app = TestApp::builder()
        .env(&[("BAZAAR_BACKEND_TIMEOUT_MS", "500")])
        .backends(backends)
        .spawn()
        .await;
    app.create_product(product_json("MRES-1")).await;

    server.stop();

    for response in [
        app.get("/api/v1/products").await,
        app.post_json("/api/v1/products", &product_json("MRES-2"))
            .await,
    ] {
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(problem(response).await["code"], "backend_unavailable");
    }
    let ready = problem(app.get("/health/ready").await).await;
    assert_eq!(ready["errors"][0]["field"], "database", "{ready}");
    assert_eq!(ready["status"], 503);

    // An in-memory server comes back empty; what matters is that the service
    // reconnects by itself and serves again.
    let _server = mongo_server(port);
    wait_for_port(port).await;
    eventually("readiness recovering", || async {
        status(&app, "/health/ready").await == 200
    })
    .await;
    eventually("writes recovering", || async {
        app.post_json("/api/v1/products", &product_json("MRES-2"))
            .await
            .status()
            == 201
    })
    .await;
    let list: Value = app.get("/api/v1/products").await.json().await.unwrap();
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["sku"] == "MRES-2"));
}

#[tokio::test]
async fn a_webhook_while_mongodb_is_down_answers_503_so_razorpay_delivers_it_again() {
    let port = free_port();
    let mut server = mongo_server(port);
    wait_for_port(port).await;
    let url = format!("mongodb://127.0.0.1:{port}");
    let db = mongo::connect(&url, "bazaar", Duration::from_millis(500))
        .await
        .unwrap();
    let backends = Backends {
        orders: Arc::new(bazaar::store::mongo::MongoOrders::new(&db).await.unwrap()),
        webhook_events: Arc::new(
            bazaar::store::mongo::MongoWebhookEvents::new(&db)
                .await
                .unwrap(),
        ),
        ..Backends::in_memory()
    };
    let app = TestApp::builder()
        .env(&[("BAZAAR_BACKEND_TIMEOUT_MS", "500")])
        .backends(backends)
        .spawn()
        .await;
    let body = serde_json::to_vec(&serde_json::json!({
        "entity": "event", "account_id": "acc_Test", "event": "payment.failed",
        "contains": ["payment"],
        "payload": { "payment": { "entity": {
            "id": "pay_Down1", "entity": "payment", "amount": 1000, "currency": "INR",
            "status": "failed", "order_id": "order_Down1", "method": "upi", "captured": false,
            "amount_refunded": 0, "notes": {}, "created_at": 1767225600
        }}},
        "created_at": 1767225600
    }))
    .unwrap();
    let secret =
        secrecy::SecretString::from(bazaar::startup::FAKE_RAZORPAY_WEBHOOK_SECRET.to_owned());
    let signature = bazaar_adapters::razorpay::webhook_signature(&secret, &body);
    let deliver = || {
        app.anonymous
            .post(app.url("/api/v1/webhooks/razorpay"))
            .header("content-type", "application/json")
            .header("x-razorpay-signature", &signature)
            .header("x-razorpay-event-id", "evt_Down1")
            .body(body.clone())
            .send()
    };

    server.stop();
    let during = deliver().await.unwrap();

    assert_eq!(during.status(), 503);
    assert!(during.headers().contains_key("retry-after"));
    let _server = mongo_server(port);
    wait_for_port(port).await;
    eventually("the redelivery being accepted", || async {
        deliver().await.unwrap().status() == 200
    })
    .await;
}

/// An order created just as Redis went away: its answer could not be kept at
/// once. Freeing the key would let the client's retry create a second order;
/// instead the answer is kept when Redis returns, and the retry replays it.
#[tokio::test]
async fn an_answer_that_could_not_be_kept_during_a_redis_outage_is_kept_when_redis_returns() {
    let storage = tempfile::tempdir().unwrap();
    let dir = storage.path().to_str().unwrap().to_owned();
    let port = free_port();
    let mut redis = durable_redis_server(port, &dir);
    wait_for_port(port).await;
    let kv = RedisKv::connect(
        &format!("redis://127.0.0.1:{port}"),
        "keep:",
        Duration::from_millis(500),
    )
    .await
    .unwrap();
    let store = Arc::new(IdempotencyStore::new(
        Arc::new(kv),
        IdempotencySettings {
            ttl: Duration::from_secs(60),
            in_flight_ttl: Duration::from_secs(30),
        },
    ));
    let scope = Scope::user("user-1", "createOrder");
    let key = IdempotencyKey::parse("order-1").unwrap();
    let fingerprint = Fingerprint::of("POST", "/api/v1/orders", b"{}");
    let Begin::Proceed(ticket) = store.begin(&scope, &key, &fingerprint).await.unwrap() else {
        panic!("a new key proceeds");
    };
    let answer = StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/api/v1/orders/o1".into()),
        etag: None,
        body: b"{\"id\":\"o1\"}".to_vec(),
    };

    redis.stop();
    let kept = store.keep(ticket, answer.clone()).await;
    assert!(matches!(kept, Err(KvError::Unavailable(_))), "{kept:?}");
    let _redis = durable_redis_server(port, &dir);
    wait_for_port(port).await;

    eventually("the answer is kept once Redis is back", || async {
        matches!(
            store.begin(&scope, &key, &fingerprint).await,
            Ok(Begin::Replay(ref stored)) if *stored == answer
        )
    })
    .await;
}

/// While Redis stays away, every call answers `Unavailable` within a bound
/// set by the backend timeout, rather than waiting for Redis to return (the
/// connection manager alone leaves some calls waiting on its reconnect).
#[tokio::test]
async fn redis_calls_fail_within_the_backend_timeout_while_redis_stays_down() {
    let port = free_port();
    let mut redis = redis_server(port);
    wait_for_port(port).await;
    let kv = RedisKv::connect(
        &format!("redis://127.0.0.1:{port}"),
        "bounded:",
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    kv.set("k", b"v", None).await.unwrap();

    redis.stop();
    // The backend timeout plus a second of slack for a loaded machine. Without
    // the cap a call waited out the connection manager's reconnect attempts
    // and their back-off, about two seconds whatever the timeout.
    let bound = Duration::from_millis(1200);
    for round in 0..2 {
        let calls = [
            (
                "get",
                tokio::time::timeout(bound, kv.get("k"))
                    .await
                    .map(|r| r.map(drop)),
            ),
            (
                "set",
                tokio::time::timeout(bound, kv.set("k", b"w", None)).await,
            ),
            (
                "increment",
                tokio::time::timeout(bound, kv.increment("n", 1, Duration::from_secs(60)))
                    .await
                    .map(|r| r.map(drop)),
            ),
            ("ping", tokio::time::timeout(bound, kv.ping()).await),
        ];
        for (call, answered) in calls {
            let result =
                answered.unwrap_or_else(|_| panic!("{call} took over {bound:?} (round {round})"));
            assert!(
                matches!(result, Err(KvError::Unavailable(_))),
                "{call}: {result:?}"
            );
        }
    }
}
