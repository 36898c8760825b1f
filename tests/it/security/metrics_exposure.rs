//! Metrics exposure: `/metrics` names every route with its traffic and error rates. In
//! production nobody on the API listener reads it without the metrics token, and with a
//! metrics listener of its own it is only there.

use super::prod::{random_secret, Production};
use crate::kit::problem;
use crate::kit::process::free_port;

#[tokio::test]
async fn production_serves_no_metrics_on_the_api_listener_without_a_token() {
    let app = Production::start("security-metrics-closed").await;
    let client = reqwest::Client::new();
    let anonymous = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 404);
    assert_eq!(problem(anonymous).await["code"], "not_found");
    // Nor to a signed-in admin: an access token is not the metrics credential.
    let admin = client
        .get(app.url("/metrics"))
        .bearer_auth(app.admin_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 404);
    assert!(app.app.log().contains("no metrics are served"));
}

#[tokio::test]
async fn production_serves_metrics_on_the_api_listener_only_with_the_metrics_token() {
    let token = random_secret(32);
    let app = Production::start_with(
        "security-metrics-token",
        &[("BAZAAR_METRICS_TOKEN", &token)],
    )
    .await;
    let client = reqwest::Client::new();
    let get = |bearer: Option<String>| {
        let mut request = client.get(app.url("/metrics"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    let refused = [
        None,
        Some(random_secret(32)),
        Some(format!("{}x", &token[..token.len() - 1])),
        Some(app.admin_token().await),
    ];
    for bearer in refused {
        let response = get(bearer.clone()).await.unwrap();
        assert_eq!(response.status(), 401, "{bearer:?}");
        assert_eq!(problem(response).await["code"], "unauthorized");
    }
    let allowed = get(Some(token.clone())).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(allowed
        .text()
        .await
        .unwrap()
        .contains("http_requests_total"));
    assert!(!app.app.log().contains(&token), "the token is never logged");
}

#[tokio::test]
async fn production_with_a_metrics_listener_serves_metrics_there_and_not_on_the_api_listener() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let app = Production::start_with(
        "security-metrics-listener",
        &[("BAZAAR_METRICS_ADDR", &addr)],
    )
    .await;
    let client = reqwest::Client::new();
    let api = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(problem(api).await["code"], "not_found");

    let own = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert!(own.text().await.unwrap().contains("http_requests_total"));
    // The metrics listener serves nothing else: not the API, not the docs.
    for path in ["/api/v1/products", "/health/ready", "/docs"] {
        let other = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404, "{path}");
        assert_eq!(problem(other).await["code"], "not_found");
    }
}
