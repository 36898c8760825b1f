//! One account cannot fill the bucket. Each user may hold at most `BAZAAR_FILES_QUOTA_COUNT`
//! files and `BAZAAR_FILES_QUOTA_BYTES` declared bytes outside the catalog (pending and
//! complete, not shown by a product); an announcement beyond either answers
//! `409 upload_quota_exceeded` and stores nothing. Concurrent announcements cannot slip past
//! it, and images a product shows leave their uploader's quota.

use reqwest::Client;
use serde_json::{json, Value};

use super::uploads::{announce, announced, catalog_manager, png, sign_up, uploaded, FILES};
use crate::kit::{problem, product_json, BackendSet, TestApp};

const QUOTA: [(&str, &str); 2] = [
    ("BAZAAR_FILES_QUOTA_COUNT", "3"),
    ("BAZAAR_FILES_QUOTA_BYTES", "1000"),
];

async fn on_memory() -> TestApp {
    TestApp::builder().env(&QUOTA).spawn().await
}

/// MongoDB (file records included), Redis and S3.
async fn on_mongodb() -> TestApp {
    TestApp::builder()
        .on(BackendSet::Real)
        .env(&QUOTA)
        .spawn()
        .await
}

async fn refused_over_quota(response: reqwest::Response) {
    assert_eq!(response.status(), 409);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "upload_quota_exceeded", "{problem}");
    assert_eq!(problem["retryable"], false);
}

/// With a quota of 3 files and 1000 bytes.
async fn the_quota_holds_by_count_and_by_bytes(base: &str) {
    let customer = sign_up(base, "+919812360001").await;
    let first = announced(base, &customer, 400).await;
    announced(base, &customer, 400).await;

    refused_over_quota(announce(base, &customer, 300).await).await;
    announced(base, &customer, 200).await;
    refused_over_quota(announce(base, &customer, 1).await).await;

    // The refused announcements stored nothing: with one file deleted, exactly its room is
    // free again.
    let id = first["file"]["id"].as_str().unwrap();
    let deleted = customer
        .delete(format!("{base}{FILES}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    refused_over_quota(announce(base, &customer, 401).await).await;
    announced(base, &customer, 400).await;

    // The quota is per user.
    let other = sign_up(base, "+919812360002").await;
    announced(base, &other, 1000).await;
}

#[tokio::test]
async fn announcements_beyond_the_quota_are_refused_and_store_nothing_on_memory() {
    let app = on_memory().await;
    the_quota_holds_by_count_and_by_bytes(&app.address).await;
}

#[tokio::test]
async fn announcements_beyond_the_quota_are_refused_and_store_nothing_on_mongodb() {
    let app = on_mongodb().await;
    the_quota_holds_by_count_and_by_bytes(&app.address).await;
}

/// Twelve announcements at once, then one at a time until refused: three stick in all.
async fn concurrent_announcements_never_exceed_the_quota(base: &str) {
    let customer = sign_up(base, "+919812360003").await;
    let attempts = (0..12).map(|_| announce(base, &customer, 10));
    let answers = futures::future::join_all(attempts).await;
    let mut accepted = 0;
    for answer in answers {
        match answer.status().as_u16() {
            201 => accepted += 1,
            _ => refused_over_quota(answer).await,
        }
    }
    // Each one that counts too many after storing its record takes it back, so a burst may
    // even leave none; never more than three.
    assert!(accepted <= 3, "{accepted} accepted at once");
    while announce(base, &customer, 10).await.status() == 201 {
        accepted += 1;
        assert!(accepted <= 3, "more than the quota were accepted");
    }
    assert_eq!(accepted, 3);
}

#[tokio::test]
async fn concurrent_announcements_never_exceed_the_quota_on_memory() {
    let app = on_memory().await;
    concurrent_announcements_never_exceed_the_quota(&app.address).await;
}

#[tokio::test]
async fn concurrent_announcements_never_exceed_the_quota_on_mongodb() {
    let app = on_mongodb().await;
    concurrent_announcements_never_exceed_the_quota(&app.address).await;
}

/// A catalog manager at the quota attaches one of the files to a product: it now belongs to
/// the catalog, and the manager may upload again.
async fn images_a_product_shows_leave_the_quota(base: &str, manager: &Client) {
    let (image, _) = uploaded(base, manager, png(500, 1)).await;
    announced(base, manager, 500).await;
    refused_over_quota(announce(base, manager, 1).await).await;

    let mut product = product_json("QUOTA-1");
    product["images"] = json!([image]);
    let created = manager
        .post(format!("{base}/api/v1/products"))
        .json(&product)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    let again: Value = announced(base, manager, 500).await;
    assert_eq!(again["file"]["status"], "pending");
}

#[tokio::test]
async fn images_a_product_shows_leave_their_uploaders_quota_on_memory() {
    let app = on_memory().await;
    let manager = catalog_manager(&app.address, "+919812360004").await;
    images_a_product_shows_leave_the_quota(&app.address, &manager).await;
}

#[tokio::test]
async fn images_a_product_shows_leave_their_uploaders_quota_on_mongodb() {
    let app = on_mongodb().await;
    let manager = catalog_manager(&app.address, "+919812360005").await;
    images_a_product_shows_leave_the_quota(&app.address, &manager).await;
}
