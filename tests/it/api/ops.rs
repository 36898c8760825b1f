//! Health, metrics, the served contract and Swagger UI.

use serde_json::Value;

use super::{test_app, SET};
use crate::kit::product_json;

#[tokio::test]
async fn liveness_and_readiness_answer_and_name_the_backends() {
    let app = test_app().spawn().await;
    assert_eq!(
        app.get("/health/live").await.json::<Value>().await.unwrap()["status"],
        "ok"
    );
    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let (storage, key_value) = SET.backend_names();
    assert_eq!(ready["checks"][0]["backend"], storage);
    assert_eq!(ready["checks"][1]["backend"], key_value);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = test_app().spawn().await;
    let a = app.create_product(product_json("M-1")).await;
    let b = app.create_product(product_json("M-2")).await;
    for p in [&a, &b] {
        app.get(&format!("/api/v1/products/{}", p.id)).await;
    }
    app.get("/no/such/route").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total")
                && l.contains("method=\"GET\"")
                && l.contains("status=\"200\"")
                && l.contains("/api/v1/products/")
        })
        .unwrap_or_else(|| panic!("no product GET counter in:\n{text}"));
    assert!(
        line.ends_with(" 2"),
        "both reads share one templated series: {line}"
    );
    for p in [&a, &b] {
        assert!(
            !text.contains(p.id.as_str()),
            "raw ids must not become labels"
        );
    }
    assert!(text.contains("route=\"unmatched\""));
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("method=\"POST\"") && text.contains("status=\"201\""));
}

#[tokio::test]
async fn the_contract_is_served_as_json_and_yaml() {
    let app = test_app().spawn().await;
    let json: Value = app.get("/openapi.json").await.json().await.unwrap();
    let expected: Value = serde_json::from_str(&bazaar::startup::contract(false)).unwrap();
    assert_eq!(json, expected);
    let yaml = app.get("/openapi.yaml").await.text().await.unwrap();
    assert_eq!(yaml, bazaar::startup::contract(true));
}

#[tokio::test]
async fn swagger_ui_is_served_and_points_at_the_contract() {
    let app = test_app().spawn().await;
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/index.html");
    let index = app.get("/docs/index.html").await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("swagger-ui"));
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    assert!(
        init.contains("\"persistAuthorization\": true")
            || init.contains("persistAuthorization\":true"),
        "{init}"
    );
    assert_eq!(app.get("/docs/swagger-ui-bundle.js").await.status(), 200);
    assert_eq!(app.get("/docs/nothing.js").await.status(), 404);
}
