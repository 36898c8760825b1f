//! `/api/v1/files` end to end: the browser's side is played by reqwest, uploading to the
//! presigned URLs of the set's object store: the development store (served by the app
//! itself) on the in-memory set, a real S3-compatible server (SeaweedFS, started by
//! `make test`) on the real set.

use bazaar_adapters::s3::{ObjectStore, S3Client};
use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::{test_app, SET};
use crate::kit::{bearer_client, problem, test_bucket, BackendSet, Expect, TestApp};
use bazaar::http::files::FileBody;

const FILES: &str = "/api/v1/files";

/// Where the set's app keeps uploaded bytes, for tests that check what is stored.
enum Store {
    /// The development store, in a directory of this app's own.
    Dev(tempfile::TempDir),
    /// The test S3 bucket.
    S3(Box<S3Client>),
}

impl Store {
    /// Whether anything of the object that `upload` (a presigned request) names is stored:
    /// on the development store, the object or the content type kept beside it.
    async fn holds(&self, upload: &Value) -> bool {
        let key = object_key(upload);
        match self {
            Self::Dev(dir) => std::fs::read_dir(dir.path().join(parent_of(&key)))
                .map(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.path().to_string_lossy().contains(key.as_str()))
                })
                .unwrap_or(false),
            Self::S3(s3) => s3.head(&key).await.expect("S3 answers HEAD").is_some(),
        }
    }
}

/// The object key a presigned request names: the last three segments of its path,
/// `uploads/{owner}/{file id}`, on the development store and on S3 alike.
fn object_key(upload: &Value) -> String {
    let url = reqwest::Url::parse(upload["url"].as_str().expect("a URL")).expect("a valid URL");
    let segments: Vec<&str> = url.path_segments().expect("a path").collect();
    assert!(segments.len() >= 3, "{url}");
    let key = segments[segments.len() - 3..].join("/");
    assert!(key.starts_with("uploads/"), "{url}");
    key
}

fn parent_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// The app on the set's backends with `extra` settings, and where it keeps uploads.
async fn app_with_store(extra: &[(&str, &str)]) -> (TestApp, Store) {
    match SET {
        BackendSet::Memory => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().to_str().expect("a UTF-8 temp path").to_owned();
            let mut overrides = vec![("BAZAAR_FILES_DIR", path.as_str())];
            overrides.extend_from_slice(extra);
            (test_app().env(&overrides).spawn().await, Store::Dev(dir))
        }
        BackendSet::Real => (
            test_app().env(extra).spawn().await,
            Store::S3(Box::new(test_bucket())),
        ),
    }
}

pub(super) async fn customer(app: &TestApp, phone: &str) -> reqwest::Client {
    let pair = signed_up_customer(app, phone).await;
    bearer_client(&pair.access_token)
}

/// Announces an upload; returns the answer's body, panicking unless 201.
pub(super) async fn announce(
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
pub(super) async fn upload(request: &Value, bytes: Vec<u8>) -> reqwest::Response {
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

pub(super) fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(size, 7);
    bytes
}

/// Announce → upload → complete → get → download → delete, against whatever store `app`
/// uses; answers the presigned upload request.
async fn the_whole_flow(app: &TestApp, client: &reqwest::Client) -> Value {
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

    let completed: FileBody = complete(app, client, &id).await.expect(200).await;
    assert_eq!(completed.status.0.as_str(), "complete");
    assert!(completed.completed_at.is_some());
    // Idempotent: completing again answers the same file.
    let again: FileBody = complete(app, client, &id).await.expect(200).await;
    assert_eq!(again.completed_at, completed.completed_at);

    let file: FileBody = get(app, client, &id).await.expect(200).await;
    assert_eq!(file.size, 3000);
    let download = file.download.expect("a complete file's download");
    assert_eq!(download.method, "GET");
    let download_url = download.url;
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
    announced["upload"].clone()
}

#[tokio::test]
async fn a_customer_uploads_downloads_and_deletes() {
    let (app, store) = app_with_store(&[]).await;
    let client = customer(&app, "98123 40001").await;
    let upload = the_whole_flow(&app, &client).await;
    assert!(!store.holds(&upload).await, "nothing of the file is left");
}

#[tokio::test]
async fn declarations_outside_the_policy_are_refused_with_422() {
    let (app, _store) = app_with_store(&[]).await;
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
    let (app, _store) = app_with_store(&[]).await;
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
    let (app, store) = app_with_store(&[]).await;
    let client = customer(&app, "98123 40004").await;
    let announced = announce(&app, &client, "image/png", 1000).await;
    let id = announced["file"]["id"].as_str().unwrap();
    assert!(upload(&announced["upload"], png(400))
        .await
        .status()
        .is_success());
    assert!(store.holds(&announced["upload"]).await);

    let response = complete(&app, &client, id).await;
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "upload_mismatch");
    assert_eq!(problem["errors"][0]["field"], "size");
    assert_eq!(problem["errors"][0]["code"], "size_mismatch");
    assert!(
        !store.holds(&announced["upload"]).await,
        "the wrong object is deleted"
    );

    // The file stays pending: the right bytes, sent again, complete it.
    assert!(upload(&announced["upload"], png(1000))
        .await
        .status()
        .is_success());
    assert_eq!(complete(&app, &client, id).await.status(), 200);
}

#[tokio::test]
async fn other_customers_get_404_and_admins_reach_every_file() {
    let (app, _store) = app_with_store(&[]).await;
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
async fn the_store_refuses_an_upload_of_another_content_type_than_was_signed() {
    let (app, store) = app_with_store(&[]).await;
    let client = customer(&app, "98123 40009").await;
    let announced = announce(&app, &client, "image/png", 10).await;

    let wrong_type = reqwest::Client::new()
        .put(announced["upload"]["url"].as_str().unwrap())
        .header("content-type", "image/gif")
        .header("if-none-match", "*")
        .body(vec![0; 10])
        .send()
        .await
        .unwrap();

    assert_eq!(
        wrong_type.status(),
        403,
        "the signed Content-Type is checked"
    );
    assert!(!store.holds(&announced["upload"]).await);
    let response = complete(&app, &client, announced["file"]["id"].as_str().unwrap()).await;
    assert_eq!(problem(response).await["code"], "upload_missing");
}

/// A product may show only complete uploads; its images are served publicly through
/// a redirect that names the product, so the file's owner-only route stays private.
#[tokio::test]
async fn products_show_only_complete_uploads_and_serve_them_by_redirect() {
    let (app, _store) = app_with_store(&[]).await;
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

    let mut body = crate::kit::product_json("IMG-1");
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
    assert_eq!(json!(product.images), json!([done_id]));
    let product_id = product.id.as_str();

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
