//! Query floods: thousands of query pairs in one request. Duplicate keys were found by
//! comparing every key with every other (5,000 keys: 0.2 s of CPU in a debug build), before
//! the rate limiter. Now the pairs are counted first, capped at 100, and duplicates found in
//! one pass.

use bazaar::http::pipeline::MAX_QUERY_PAIRS;

use crate::kit::{problem, TestApp};

fn keys(n: usize) -> String {
    (0..n)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn five_thousand_query_keys_are_refused_400_before_the_rate_limit_counts_them() {
    let app = TestApp::builder()
        .env(&[("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "3")])
        .spawn()
        .await;
    let flood = format!("/api/v1/products?{}", keys(5_000));
    for _ in 0..5 {
        let response = app.anonymous.get(app.url(&flood)).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(!response.headers().contains_key("ratelimit-remaining"));
        let body = problem(response).await;
        assert_eq!(body["code"], "too_many_query_parameters", "{body}");
    }
    // Counted before anything is decoded: a bad pair at the end changes nothing.
    let response = app
        .anonymous
        .get(app.url(&format!("{flood}&bad=%ff")))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await["code"], "too_many_query_parameters");
    // None of them spent the budget: the first ordinary request has all of it but one.
    let ordinary = app
        .anonymous
        .get(app.url("/api/v1/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(ordinary.status(), 200);
    assert_eq!(ordinary.headers()["ratelimit-remaining"], "2");
}

#[tokio::test]
async fn a_hundred_query_pairs_are_accepted_and_one_more_is_refused() {
    let app = TestApp::builder().spawn().await;
    let at_cap = format!("/api/v1/products?limit=5&{}", keys(MAX_QUERY_PAIRS - 1));
    let response = app.anonymous.get(app.url(&at_cap)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let over = format!("/api/v1/products?limit=5&{}", keys(MAX_QUERY_PAIRS));
    let response = app.anonymous.get(app.url(&over)).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(problem(response).await["code"], "too_many_query_parameters");
}

#[tokio::test]
async fn duplicate_query_keys_are_still_refused_wherever_they_are() {
    let app = TestApp::builder().spawn().await;
    for query in [
        "limit=5&limit=6".to_owned(),
        format!("limit=5&{}&limit=6", keys(90)),
        format!("{}&k0=again", keys(MAX_QUERY_PAIRS - 1)),
    ] {
        let response = app
            .anonymous
            .get(app.url(&format!("/api/v1/products?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body = problem(response).await;
        assert_eq!(body["code"], "duplicate_query_parameter", "{body}");
    }
}
