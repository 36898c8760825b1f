//! The browser's and the staff's side of uploads, for the upload attacks' tests: sign up,
//! announce, `PUT` to the presigned URL, complete, attach to a product. Every helper takes the
//! server's base URL, so one test body runs against an in-process app (memory or MongoDB) and
//! against the production binary alike.

use reqwest::{Client, Response};
use serde_json::{json, Value};

use super::prod::CUSTOMER_PASSWORD;
use crate::kit::{bearer_client, env_url, login, ADMIN_PASSWORD, ADMIN_PHONE};

pub const FILES: &str = "/api/v1/files";

/// A PNG-looking body of `size` bytes; `fill` tells two bodies of one size apart.
pub fn png(size: usize, fill: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(size, fill);
    bytes
}

/// Registers a customer with `phone`, verifies the phone and signs in.
pub async fn sign_up(base: &str, phone: &str) -> Client {
    super::prod::register_verified(base, phone, CUSTOMER_PASSWORD).await;
    token_client(base, phone, CUSTOMER_PASSWORD).await
}

async fn token_client(base: &str, phone: &str, password: &str) -> Client {
    let tokens = login(&Client::new(), base, phone, password).await;
    bearer_client(&tokens.access_token)
}

/// The bootstrap admin.
pub async fn admin(base: &str) -> Client {
    token_client(base, ADMIN_PHONE, ADMIN_PASSWORD).await
}

/// A customer whom the admin made a catalog manager, signed in again.
pub async fn catalog_manager(base: &str, phone: &str) -> Client {
    let customer = sign_up(base, phone).await;
    let me: Value = customer
        .get(format!("{base}/api/v1/users/me"))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a user");
    let id = me["id"].as_str().expect("a user id");
    let promoted = admin(base)
        .await
        .put(format!("{base}/api/v1/users/{id}/roles"))
        .json(&json!({"roles": ["customer", "catalog_manager"]}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(promoted.status(), 200);
    token_client(base, phone, CUSTOMER_PASSWORD).await
}

/// `POST /api/v1/files` declaring a PNG of `size` bytes.
pub async fn announce(base: &str, client: &Client, size: usize) -> Response {
    client
        .post(format!("{base}{FILES}"))
        .json(&json!({"content_type": "image/png", "size": size}))
        .send()
        .await
        .expect("request sent")
}

/// Announces a PNG of `size` bytes; panics unless 201. Answers `{file, upload}`.
pub async fn announced(base: &str, client: &Client, size: usize) -> Value {
    let response = announce(base, client, size).await;
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, 201, "{body}");
    body
}

/// Sends `bytes` with the presigned request as a browser does, with `headers` instead of the
/// signed ones when given.
pub async fn put_with(
    upload: &Value,
    bytes: Vec<u8>,
    headers: Option<&[(&str, &str)]>,
) -> Response {
    assert_eq!(upload["method"], "PUT");
    let mut put = Client::new().put(upload["url"].as_str().expect("an upload URL"));
    match headers {
        Some(headers) => {
            for (name, value) in headers {
                put = put.header(*name, *value);
            }
        }
        None => {
            for (name, value) in upload["headers"].as_object().expect("headers") {
                put = put.header(name.as_str(), value.as_str().expect("a header value"));
            }
        }
    }
    put.body(bytes).send().await.expect("the store answers")
}

/// Sends `bytes` with the presigned request exactly as the API gave it.
pub async fn put(upload: &Value, bytes: Vec<u8>) -> Response {
    put_with(upload, bytes, None).await
}

pub async fn complete(base: &str, client: &Client, id: &str) -> Response {
    client
        .post(format!("{base}{FILES}/{id}/complete"))
        .send()
        .await
        .expect("request sent")
}

pub async fn get_file(base: &str, client: &Client, id: &str) -> Response {
    client
        .get(format!("{base}{FILES}/{id}"))
        .send()
        .await
        .expect("request sent")
}

/// Announces, uploads and completes `bytes` as a PNG; answers the file id and the upload
/// request (whose URL still works).
pub async fn uploaded(base: &str, client: &Client, bytes: Vec<u8>) -> (String, Value) {
    let announced = announced(base, client, bytes.len()).await;
    let id = announced["file"]["id"].as_str().expect("an id").to_owned();
    let sent = put(&announced["upload"], bytes).await;
    assert!(sent.status().is_success(), "upload: {}", sent.status());
    let completed = complete(base, client, &id).await;
    assert_eq!(completed.status(), 200, "complete");
    (id, announced["upload"].clone())
}

/// The bytes a complete file's download URL serves.
pub async fn downloaded(base: &str, client: &Client, id: &str) -> Vec<u8> {
    let file: Value = get_file(base, client, id)
        .await
        .json()
        .await
        .expect("a file");
    let url = file["download"]["url"].as_str().expect("a download URL");
    let response = reqwest::get(url).await.expect("the store answers");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("a body").to_vec()
}

/// The object key a path-style S3 upload URL names (`/{bucket}/{key}`).
pub fn s3_key(upload: &Value) -> String {
    let url = reqwest::Url::parse(upload["url"].as_str().expect("an upload URL")).expect("a URL");
    let bucket = env_url("BAZAAR_TEST_S3_BUCKET");
    url.path()
        .strip_prefix(&format!("/{bucket}/"))
        .expect("a path-style URL of the test bucket")
        .to_owned()
}
