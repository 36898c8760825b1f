//! `/api/v1/files` end to end: the browser's side is played by reqwest, uploading to the
//! presigned URLs of the development store (served by the app itself) or of a real
//! S3-compatible server (SeaweedFS, started by `make test`).

use std::sync::Arc;

use bazaar::startup::Backends;
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::s3::{FakeObjectStore, S3Client, S3Settings};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::auth::signed_up_customer;
use crate::helpers::{bearer_client, env_url, problem, settings, spawn_app_with, TestApp};

const FILES: &str = "/api/v1/files";

/// An app on the development store, keeping uploads in `dir`.
async fn app_with_local_store(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> TestApp {
    let path = dir.path().to_str().expect("a UTF-8 temp path").to_owned();
    let mut overrides = vec![("BAZAAR_FILES_DIR", path.as_str())];
    overrides.extend_from_slice(extra);
    spawn_app_with(settings(&overrides), Backends::in_memory()).await
}

async fn customer(app: &TestApp, phone: &str) -> reqwest::Client {
    let pair = signed_up_customer(app, phone).await;
    bearer_client(pair["access_token"].as_str().expect("an access token"))
}

/// Announces an upload; returns the answer's body, panicking unless 201.
async fn announce(
    app: &TestApp,
    client: &reqwest::Client,
    content_type: &str,
    size: usize,
) -> Value {
    let response = client
        .post(app.url(FILES))
        .json(&json!({ "content_type": content_type, "size": size }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{FILES}/{}", body["file"]["id"].as_str().unwrap()).as_str())
    );
    body
}

/// Plays the browser: sends `bytes` with the presigned request, as `docs/files.md` shows.
async fn upload(request: &Value, bytes: Vec<u8>) -> reqwest::Response {
    assert_eq!(request["method"], "PUT");
    let mut put = reqwest::Client::new().put(request["url"].as_str().unwrap());
    for (name, value) in request["headers"].as_object().unwrap() {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    put.body(bytes).send().await.unwrap()
}

async fn complete(app: &TestApp, client: &reqwest::Client, id: &str) -> reqwest::Response {
    client
        .post(app.url(&format!("{FILES}/{id}/complete")))
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, client: &reqwest::Client, id: &str) -> reqwest::Response {
    client
        .get(app.url(&format!("{FILES}/{id}")))
        .send()
        .await
        .unwrap()
}

fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(size, 7);
    bytes
}

/// Regular files under `dir`, at any depth.
fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        stored_files(&path)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Announce → upload → complete → get → download → delete, against whatever store `app`
/// uses.
async fn the_whole_flow(app: &TestApp, client: &reqwest::Client) {
    let bytes = png(3000);
    let announced = announce(app, client, "image/png", bytes.len()).await;
    let id = announced["file"]["id"].as_str().unwrap().to_owned();
    assert_eq!(announced["file"]["status"], "pending");
    assert_eq!(announced["upload"]["headers"]["Content-Type"], "image/png");
    assert!(announced["upload"]["expires_at"].is_string());

    let pending: Value = get(app, client, &id).await.json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    assert!(pending.get("download").is_none(), "{pending}");

    let uploaded = upload(&announced["upload"], bytes.clone()).await;
    assert!(uploaded.status().is_success(), "{}", uploaded.status());

    let completed = complete(app, client, &id).await;
    assert_eq!(completed.status(), 200);
    let completed: Value = completed.json().await.unwrap();
    assert_eq!(completed["status"], "complete");
    assert!(completed["completed_at"].is_string());
    // Idempotent: completing again answers the same file.
    let again: Value = complete(app, client, &id).await.json().await.unwrap();
    assert_eq!(again["completed_at"], completed["completed_at"]);

    let file: Value = get(app, client, &id).await.json().await.unwrap();
    assert_eq!(file["size"], 3000);
    assert_eq!(file["download"]["method"], "GET");
    let download_url = file["download"]["url"].as_str().unwrap().to_owned();
    let downloaded = reqwest::get(&download_url).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        downloaded.headers()["content-type"].to_str().unwrap(),
        "image/png"
    );
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    let deleted = client
        .delete(app.url(&format!("{FILES}/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        problem(get(app, client, &id).await).await["code"],
        "not_found"
    );
    let gone = reqwest::get(&download_url).await.unwrap();
    assert_eq!(gone.status(), 404, "the bytes are deleted with the file");
}

#[tokio::test]
async fn a_customer_uploads_through_the_dev_store_downloads_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let client = customer(&app, "98123 40001").await;
    the_whole_flow(&app, &client).await;
    assert_eq!(stored_files(dir.path()), 0);
}

#[tokio::test]
async fn declarations_outside_the_policy_are_refused_with_422() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let client = customer(&app, "98123 40002").await;
    let cases = [
        (
            json!({"content_type": "image/png", "size": 0}),
            "size",
            "must_be_positive",
        ),
        (
            json!({"content_type": "image/png", "size": 100 << 20}),
            "size",
            "too_large",
        ),
        (
            json!({"content_type": "text/html", "size": 10}),
            "content_type",
            "not_allowed",
        ),
        (
            json!({"content_type": "image/png; charset=utf-8", "size": 10}),
            "content_type",
            "invalid_format",
        ),
    ];
    for (body, field, code) in cases {
        let response = client
            .post(app.url(FILES))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["code"], "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    let unknown = client
        .post(app.url(FILES))
        .json(&json!({"content_type": "image/png", "size": 10, "key": "../x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let anonymous = app
        .anonymous
        .post(app.url(FILES))
        .json(&json!({"content_type": "image/png", "size": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(anonymous).await["code"], "unauthorized");
}

#[tokio::test]
async fn completing_an_upload_that_never_happened_is_upload_missing() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let client = customer(&app, "98123 40003").await;
    let announced = announce(&app, &client, "application/pdf", 100).await;
    let id = announced["file"]["id"].as_str().unwrap();

    let response = complete(&app, &client, id).await;
    assert_eq!(response.status(), 409);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "upload_missing");
    assert_eq!(problem["retryable"], false);
    let file: Value = get(&app, &client, id).await.json().await.unwrap();
    assert_eq!(file["status"], "pending");
}

#[tokio::test]
async fn an_upload_of_another_size_is_deleted_and_refused_as_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let client = customer(&app, "98123 40004").await;
    let announced = announce(&app, &client, "image/png", 1000).await;
    let id = announced["file"]["id"].as_str().unwrap();
    assert!(upload(&announced["upload"], png(400))
        .await
        .status()
        .is_success());
    assert_eq!(stored_files(dir.path()), 2, "the object and its type");

    let response = complete(&app, &client, id).await;
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "upload_mismatch");
    assert_eq!(problem["errors"][0]["field"], "size");
    assert_eq!(problem["errors"][0]["code"], "size_mismatch");
    assert_eq!(stored_files(dir.path()), 0, "the wrong object is deleted");

    // The file stays pending: the right bytes, sent again, complete it.
    assert!(upload(&announced["upload"], png(1000))
        .await
        .status()
        .is_success());
    assert_eq!(complete(&app, &client, id).await.status(), 200);
}

#[tokio::test]
async fn other_customers_get_404_and_admins_reach_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let owner = customer(&app, "98123 40005").await;
    let stranger = customer(&app, "98123 40006").await;
    let announced = announce(&app, &owner, "image/webp", 10).await;
    let id = announced["file"]["id"].as_str().unwrap();
    assert!(upload(&announced["upload"], vec![1; 10])
        .await
        .status()
        .is_success());

    for response in [
        get(&app, &stranger, id).await,
        complete(&app, &stranger, id).await,
        stranger
            .delete(app.url(&format!("{FILES}/{id}")))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(problem(response).await["code"], "not_found");
    }
    assert_eq!(
        problem(get(&app, &owner, "not-an-id").await).await["code"],
        "invalid_parameter"
    );

    // `app.client` is the admin.
    assert_eq!(complete(&app, &app.client, id).await.status(), 200);
    let seen: Value = get(&app, &app.client, id).await.json().await.unwrap();
    assert_eq!(seen["status"], "complete");
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
    assert_eq!(stored_files(dir.path()), 0);
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
    assert_eq!(stored_files(dir.path()), 0);
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
    assert_eq!(stored_files(dir.path()), 0);
}

#[tokio::test]
async fn with_another_object_store_the_dev_routes_do_not_exist() {
    let mut backends = Backends::in_memory();
    backends.objects = Some(Arc::new(FakeObjectStore::new()));
    let app = spawn_app_with(settings(&[]), backends).await;
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

/// The S3 server `make test` provides (SeaweedFS), under a fresh key prefix per run.
fn real_s3() -> S3Client {
    let var = |name: &str| env_url(name);
    S3Client::new(S3Settings {
        endpoint: var("BAZAAR_TEST_S3_URL"),
        region: std::env::var("BAZAAR_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        bucket: var("BAZAAR_TEST_S3_BUCKET"),
        access_key_id: var("BAZAAR_TEST_S3_ACCESS_KEY"),
        secret_access_key: SecretString::from(var("BAZAAR_TEST_S3_SECRET_KEY")),
        path_style: true,
        timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .expect("the BAZAAR_TEST_S3_* settings are valid")
}

#[tokio::test]
async fn the_whole_flow_works_against_a_real_s3_server() {
    let mut backends = Backends::in_memory();
    backends.objects = Some(Arc::new(real_s3()));
    let app = spawn_app_with(settings(&[]), backends).await;
    let client = customer(&app, "98123 40009").await;

    let missing = announce(&app, &client, "image/png", 10).await;
    let response = complete(&app, &client, missing["file"]["id"].as_str().unwrap()).await;
    assert_eq!(problem(response).await["code"], "upload_missing");

    let announced = announce(&app, &client, "image/png", 10).await;
    let wrong_type = reqwest::Client::new()
        .put(announced["upload"]["url"].as_str().unwrap())
        .header("content-type", "image/gif")
        .body(vec![0; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_type.status(),
        403,
        "S3 checks the signed Content-Type"
    );

    the_whole_flow(&app, &client).await;
}

/// A product may show only complete uploads; its images are served publicly through
/// a redirect that names the product, so the file's owner-only route stays private.
#[tokio::test]
async fn products_show_only_complete_uploads_and_serve_them_by_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_local_store(&dir, &[]).await;
    let admin = &app.client;
    let bytes = png(1200);
    let done = announce(&app, admin, "image/png", bytes.len()).await;
    let done_id = done["file"]["id"].as_str().unwrap().to_owned();
    assert!(upload(&done["upload"], bytes.clone())
        .await
        .status()
        .is_success());
    assert_eq!(complete(&app, admin, &done_id).await.status(), 200);
    let pending = announce(&app, admin, "image/png", 10).await;
    let pending_id = pending["file"]["id"].as_str().unwrap().to_owned();

    let mut body = crate::helpers::product_json("IMG-1");
    body["images"] = json!([pending_id, "0123456789abcdef01234567"]);
    let refused = app.post_json("/api/v1/products", &body).await;
    assert_eq!(refused.status(), 422);
    let refused = problem(refused).await;
    let codes: Vec<(&str, &str)> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("images[0]", "file_not_complete"),
            ("images[1]", "file_not_found")
        ]
    );

    body["images"] = json!([done_id]);
    let product = app.create_product(body).await;
    assert_eq!(product["images"], json!([done_id]));
    let product_id = product["id"].as_str().unwrap();

    // Anyone may fetch it, by following the redirect.
    let image = format!("/api/v1/products/{product_id}/images/{done_id}");
    let redirect = app.anonymous.get(app.url(&image)).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    assert_eq!(redirect.headers()["cache-control"], "public, max-age=60");
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let fetched = reqwest::get(&location).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
    let not_its_image = format!("/api/v1/products/{product_id}/images/{pending_id}");
    assert_eq!(
        app.anonymous
            .get(app.url(&not_its_image))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Editing something else never re-checks images added before.
    let deleted = admin
        .delete(app.url(&format!("{FILES}/{done_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let patched = admin
        .patch(app.url(&format!("/api/v1/products/{product_id}")))
        .json(&json!({ "price": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        app.anonymous
            .get(app.url(&image))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
