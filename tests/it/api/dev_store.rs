//! The development object store's own routes (`/dev/uploads`, see `files::local`): their
//! signature checks, their size limit, and their absence when another store is configured.
//! That store exists only without S3, so these tests run on the in-memory set only; the
//! upload flow itself runs on both sets in `files.rs`.

use std::sync::Arc;

use bazaar_adapters::s3::FakeObjectStore;

use super::files::{announce, customer, png, upload};
use super::test_app;
use crate::kit::{files_under, problem, TestApp};

/// An app on the development store, keeping uploads in `dir`.
async fn app_with_local_store(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> TestApp {
    let path = dir.path().to_str().expect("a UTF-8 temp path").to_owned();
    let mut overrides = vec![("BAZAAR_FILES_DIR", path.as_str())];
    overrides.extend_from_slice(extra);
    let app = test_app().env(&overrides).prepare().await;
    assert!(app.backends.objects.is_none(), "the development store");
    app.spawn().await
}

#[tokio::test]
async fn a_tampered_or_misused_dev_upload_url_is_refused_with_403() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let client = customer(&app, "98123 40007").await;
    let announced = announce(&app, &client, "image/png", 10).await;
    let url = announced["upload"]["url"].as_str().unwrap();
    let put_as = |url: String, content_type: &'static str, if_none_match: Option<&'static str>| async move {
        let mut put = reqwest::Client::new()
            .put(url)
            .header("content-type", content_type);
        if let Some(condition) = if_none_match {
            put = put.header("if-none-match", condition);
        }
        put.body(vec![0; 10]).send().await.unwrap()
    };
    let put = |url: String, content_type: &'static str| put_as(url, content_type, Some("*"));

    let (base, _) = url.split_once("&signature=").unwrap();
    let forged = format!("{base}&signature={}", "0".repeat(64));
    let later = url.replacen("expires=", "expires=9", 1);
    let elsewhere = url.replacen("/uploads/", "/uploads/x", 1);
    for (what, response) in [
        ("a forged signature", put(forged, "image/png").await),
        ("a pushed-back expiry", put(later, "image/png").await),
        ("another key", put(elsewhere, "image/png").await),
        (
            "another Content-Type",
            put(url.to_owned(), "image/gif").await,
        ),
        ("no signature", put(base.to_owned(), "image/png").await),
        (
            "no If-None-Match",
            put_as(url.to_owned(), "image/png", None).await,
        ),
        (
            "another If-None-Match",
            put_as(url.to_owned(), "image/png", Some("\"abc\"")).await,
        ),
    ] {
        assert_eq!(response.status(), 403, "{what}");
        assert_eq!(problem(response).await["code"], "forbidden", "{what}");
    }
    assert_eq!(files_under(dir.path()).len(), 0);
    assert!(put(url.to_owned(), "image/png").await.status().is_success());
}

#[tokio::test]
async fn a_dev_upload_url_stops_working_when_its_validity_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[("BAZAAR_FILES_UPLOAD_URL_TTL_SECS", "300")]).await;
    let client = customer(&app, "98123 40009").await;
    let announced = announce(&app, &client, "image/png", 10).await;

    app.advance(std::time::Duration::from_secs(301)).await;
    let late = upload(&announced["upload"], png(10)).await;

    assert_eq!(late.status(), 403);
    assert_eq!(
        problem(late).await["detail"],
        "the URL has expired; ask the API for a new one"
    );
    assert_eq!(files_under(dir.path()).len(), 0);
}

#[tokio::test]
async fn a_dev_upload_over_the_size_limit_is_refused_with_413() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[("BAZAAR_FILES_MAX_BYTES", "2048")]).await;
    let client = customer(&app, "98123 40008").await;
    let announced = announce(&app, &client, "image/png", 2048).await;
    let response = upload(&announced["upload"], png(5000)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["code"], "payload_too_large");
    assert_eq!(files_under(dir.path()).len(), 0);
}

#[tokio::test]
async fn with_another_object_store_the_dev_routes_do_not_exist() {
    let app = test_app()
        .with_backends(|b| b.objects = Some(Arc::new(FakeObjectStore::new())))
        .spawn()
        .await;
    let response = app
        .anonymous
        .put(app.url("/dev/uploads/uploads/a/b?expires=1&signature=00"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let announced = announce(&app, &app.client, "image/png", 10).await;
    assert!(announced["upload"]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://fake-s3.invalid/bucket/uploads/"));
}
