//! Conventions every endpoint shares: problem documents, request ids, limits,
//! headers, CORS, compression, timeouts.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bazaar::domain::hold::{HoldId, StockHold};
use bazaar::domain::ids::ProductId;
use bazaar::domain::product::Product;
use bazaar::domain::product_query::{ProductPage, ProductQuery};
use bazaar::store::{ProductRepository, StoreError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::test_app;
use crate::kit::{problem, product_json};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = test_app().spawn().await;
    let missing = problem(app.get("/api/v1/nothing-here").await).await;
    assert_eq!(
        (missing["status"].as_u64(), missing["code"].as_str()),
        (Some(404), Some("not_found"))
    );
    assert_eq!(missing["instance"], "/api/v1/nothing-here");
    let wrong = app
        .client
        .delete(app.url("/api/v1/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    // RFC 9110: a 405 lists the methods the resource has.
    assert_eq!(wrong.headers()["allow"], "GET, HEAD, POST");
    assert_eq!(problem(wrong).await["code"], "method_not_allowed");
}

/// The `Allow` of a 405 is that of the route the router chose: `/products/batch` is its own
/// resource, not a product with the id `batch`; a product's path has its own methods.
#[tokio::test]
async fn a_405_allows_the_methods_of_the_route_it_matched() {
    let app = test_app().spawn().await;
    for (method, path, allow) in [
        ("GET", "/api/v1/products/batch", "POST, PATCH, DELETE"),
        (
            "TRACE",
            "/api/v1/products/0123456789abcdef01234567",
            "GET, HEAD, PUT, PATCH, DELETE",
        ),
        ("PUT", "/health/live", "GET, HEAD"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let p = problem(response).await;
        assert_eq!(p["code"], "method_not_allowed", "{method} {path}");
    }
}

#[tokio::test]
async fn malformed_json_invalid_utf8_and_empty_bodies_are_400() {
    let app = test_app().spawn().await;
    let send = |body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/products"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        b"{\"sku\": ".to_vec(),
        b"{\"sku\": \"\xff\xfe\"}".to_vec(),
        Vec::new(),
        b"[1,2]".to_vec(),
    ] {
        let response = send(body.clone()).await.unwrap();
        let status = response.status().as_u16();
        let p = problem(response).await;
        assert!(matches!(status, 400 | 422), "{body:?}: {p}");
        assert!(
            matches!(
                p["code"].as_str(),
                Some("malformed_body" | "validation_failed")
            ),
            "{p}"
        );
    }
    let p = problem(send(b"{\"sku\": ".to_vec()).await.unwrap()).await;
    assert_eq!(
        (p["status"].as_u64(), p["code"].as_str()),
        (Some(400), Some("malformed_body"))
    );
}

#[tokio::test]
async fn a_body_of_the_wrong_content_type_is_415() {
    let app = test_app().spawn().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = app
            .client
            .post(app.url("/api/v1/products"))
            .header("content-type", content_type)
            .body(product_json("CT-1").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        assert_eq!(problem(response).await["code"], "unsupported_media_type");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_whether_sized_or_chunked() {
    let app = test_app().spawn().await;
    let big = vec![b' '; 5 * 1024 * 1024];
    let sized = app
        .client
        .post(app.url("/api/v1/products"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sized.status(), 413);
    assert_eq!(problem(sized).await["code"], "payload_too_large");

    let chunks = futures::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = app
        .client
        .post(app.url("/api/v1/products"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_others_are_replaced() {
    let app = test_app().spawn().await;
    let echoed = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "checkout-42.a_b:c")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "checkout-42.a_b:c");
    let replaced = app
        .client
        .get(app.url("/api/v1/nope"))
        .header("x-request-id", "bad id <script>")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(problem(replaced).await["request_id"], id.as_str());
    let generated = app.get("/health/live").await;
    assert!(generated.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = test_app().spawn().await;
    let response = app.get("/api/v1/products").await;
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
}

#[tokio::test]
async fn cors_allows_listed_origins_only() {
    let app = test_app()
        .env(&[("BAZAAR_CORS_ORIGINS", "https://shop.example.in")])
        .spawn()
        .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/products"))
        .header("origin", "https://shop.example.in")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example.in"
    );

    // Error responses carry CORS headers too, or the browser hides them.
    let missing = app
        .client
        .get(app.url("/api/v1/products/zz"))
        .header("origin", "https://shop.example.in")
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.headers()["access-control-allow-origin"],
        "https://shop.example.in"
    );
    assert!(missing.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));

    let foreign = app
        .client
        .get(app.url("/api/v1/products"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(problem(foreign).await["code"], "forbidden");

    // Same-origin requests (Swagger UI's "Try it out") are not cross-origin.
    let host = app.address.trim_start_matches("http://").to_owned();
    let same = app
        .client
        .get(app.url("/api/v1/products"))
        .header("origin", format!("http://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = test_app().spawn().await;
    for i in 0..20 {
        app.create_product(product_json(&format!("GZ-{i}"))).await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/products?limit=20"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

/// A repository whose reads of one product wait until the test lets them finish
/// ([`SlowProducts::finish_reads`]), so a test knows a request is in flight
/// ([`SlowProducts::read_started`]) without guessing how long it takes.
#[derive(Clone)]
struct SlowProducts {
    started: Arc<tokio::sync::Notify>,
    finish: Arc<tokio::sync::Semaphore>,
}

impl Default for SlowProducts {
    fn default() -> Self {
        Self {
            started: Arc::default(),
            finish: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }
}

impl SlowProducts {
    /// Waits until a read has begun.
    async fn read_started(&self) {
        self.started.notified().await;
    }

    /// Lets every read, waiting or to come, finish.
    fn finish_reads(&self) {
        self.finish
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

#[async_trait]
impl ProductRepository for SlowProducts {
    async fn insert(&self, _: &Product) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get(&self, _: &ProductId) -> Result<Option<Product>, StoreError> {
        self.started.notify_one();
        let _finished = self.finish.acquire().await;
        Ok(None)
    }
    async fn update(&self, _: &Product, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    async fn delete(&self, _: &ProductId, _: Option<u64>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn list(&self, _: &ProductQuery) -> Result<ProductPage, StoreError> {
        Ok(ProductPage {
            items: vec![],
            has_next: false,
            total: None,
        })
    }
    async fn facets(
        &self,
        _: &bazaar::domain::product_query::ProductFilter,
        _: bazaar::domain::facets::FacetSet,
    ) -> Result<bazaar::domain::facets::Facets, StoreError> {
        Ok(Default::default())
    }
    async fn reserve(
        &self,
        _: &ProductId,
        _: &bazaar::domain::ids::VariantId,
        _: u32,
        _: &HoldId,
        _: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        Err(StoreError::NotFound)
    }
    async fn drop_hold(&self, _: &ProductId, _: &HoldId) -> Result<(), StoreError> {
        Ok(())
    }
    async fn release_hold(
        &self,
        _: &ProductId,
        _: &HoldId,
        _: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn holds_before(
        &self,
        _: chrono::DateTime<chrono::Utc>,
        _: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        Ok(vec![])
    }
    async fn release(
        &self,
        _: &ProductId,
        _: &bazaar::domain::ids::VariantId,
        _: u32,
        _: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        Err(StoreError::NotFound)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The app on this set's backends, but with `products` as its product store.
async fn app_with_slow_products(
    products: &SlowProducts,
    overrides: &[(&str, &str)],
) -> crate::kit::TestApp {
    let products = products.clone();
    test_app()
        .env(overrides)
        .with_backends(move |b| b.products = Arc::new(products))
        .spawn()
        .await
}

#[tokio::test]
async fn a_request_over_the_timeout_gets_a_503_problem_with_retry_after() {
    // The read never finishes: any answer is the timeout's.
    let products = SlowProducts::default();
    let app = app_with_slow_products(&products, &[("BAZAAR_REQUEST_TIMEOUT_MS", "200")]).await;
    let response = app.get("/api/v1/products/0123456789abcdef01234567").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body = problem(response).await;
    assert_eq!(
        (body["code"].as_str(), body["retryable"].as_bool()),
        (Some("timeout"), Some(true))
    );
}

/// A client with a connection of its own, as a load balancer's health check has.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn shutdown_turns_readiness_down_first_and_cuts_no_in_flight_request() {
    // Long enough that the checks below fit in it on a busy machine.
    let delay = Duration::from_secs(2);
    let products = SlowProducts::default();
    let mut app = app_with_slow_products(
        &products,
        &[
            ("BAZAAR_SHUTDOWN_DELAY_MS", "2000"),
            ("BAZAAR_SHUTDOWN_TIMEOUT_MS", "30000"),
            ("BAZAAR_REQUEST_TIMEOUT_MS", "30000"),
        ],
    )
    .await;
    // A read that is still running when the listener closes.
    let url = app.url("/api/v1/products/0123456789abcdef01234567");
    let client = app.client.clone();
    let in_flight =
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) });
    products.read_started().await;

    let began = std::time::Instant::now();
    app.begin_shutdown();
    let ready = fresh_client()
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "readiness turns down at once");
    assert_eq!(ready.headers()["retry-after"], "1");
    assert_eq!(problem(ready).await["code"], "shutting_down");
    let live = fresh_client()
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        live.status(),
        200,
        "new requests are still served during the delay"
    );

    // Once the listener has closed, the read in flight may finish.
    let address = app.url("/health/live");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fresh_client().get(&address).send().await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        began.elapsed() >= delay,
        "the listener stays open for the delay"
    );
    products.finish_reads();
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        404,
        "the slow read completed with its real answer"
    );
    app.shut_down().await;
    assert!(
        fresh_client().get(address).send().await.is_err(),
        "nothing listens afterwards"
    );
}

#[tokio::test]
async fn an_invalid_json_value_in_an_array_names_its_index() {
    let app = test_app().spawn().await;
    let mut body = product_json("IDX-1");
    body["tags"] = json!(["ok", 7]);
    let p: Value = problem(app.post_json("/api/v1/products", &body).await).await;
    assert_eq!(p["errors"][0]["field"], "tags[1]");
}

/// A body is held to its schema in the contract, not only to what serde checks: a `null`
/// where the schema is not nullable and an array for an object are 400 (the body does not
/// match the schema); on sign-in, a value outside a declared limit is 422 naming the field.
#[tokio::test]
async fn a_body_is_held_to_its_schema_nulls_types_and_limits() {
    let app = test_app().spawn().await;
    let mut body = product_json("NUL-1");
    body["images"] = Value::Null;
    let p = problem(app.post_json("/api/v1/products", &body).await).await;
    assert_eq!(
        (p["status"].as_u64(), p["code"].as_str()),
        (Some(400), Some("malformed_body"))
    );
    assert_eq!(p["errors"][0]["field"], "images");

    // serde reads a struct from an array too; every field of a profile patch is optional.
    let p = problem(
        app.client
            .patch(app.url("/api/v1/users/me"))
            .json(&json!([null, null]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (p["status"].as_u64(), p["code"].as_str()),
        (Some(400), Some("malformed_body"))
    );
    assert_eq!(p["errors"][0]["field"], "body");

    // Limits: a device name over its maxLength (checked before the password is) and a
    // negative batch version.
    let long = json!({"identifier": "+919812345678", "password": "x", "device": "d".repeat(201)});
    let p = problem(app.post_json("/api/v1/auth/login", &long).await).await;
    assert_eq!(
        (p["status"].as_u64(), p["code"].as_str()),
        (Some(422), Some("validation_failed"))
    );
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (Some("device"), Some("too_long"))
    );

    let negative = json!({"items": [{"id": "0123456789abcdef01234567", "version": -1}]});
    let response = app
        .client
        .delete(app.url("/api/v1/products/batch"))
        .json(&negative)
        .send()
        .await
        .unwrap();
    let p = problem(response).await;
    assert_eq!(p["status"], 400);
    assert_eq!(p["errors"][0]["field"], "items[0].version");

    // Roles are checked at parsing too: more than the three there are is refused, not
    // read as a set.
    let me: Value = app.get("/api/v1/users/me").await.json().await.unwrap();
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/users/{}/roles",
            me["id"].as_str().unwrap()
        )))
        .json(&json!({"roles": ["admin", "admin", "admin", "admin"]}))
        .send()
        .await
        .unwrap();
    let p = problem(response).await;
    assert_eq!(p["status"], 422);
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (Some("roles"), Some("too_many"))
    );

    // A nullable field takes null: a product's description is removed by `null` in a patch.
    let created = app.create_product(product_json("NUL-2")).await;
    let id = created.id.as_str();
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/products/{id}")))
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Fields with a fixed set of values are enums in the contract, and a value outside it
/// does not match the schema: 400.
#[tokio::test]
async fn a_value_outside_a_fields_enum_is_400() {
    let app = test_app().spawn().await;
    for (path, body, field) in [
        (
            "/api/v1/auth/otp/verify",
            json!({"phone": "+919812345678", "purpose": "reset_password", "code": "042917"}),
            "purpose",
        ),
        (
            "/api/v1/auth/otp/verify",
            json!({"phone": "+919812345678", "purpose": "other", "code": "042917"}),
            "purpose",
        ),
    ] {
        let p = problem(app.post_json(path, &body).await).await;
        assert_eq!(
            (p["status"].as_u64(), p["code"].as_str()),
            (Some(400), Some("malformed_body")),
            "{body}"
        );
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
}
