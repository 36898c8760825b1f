//! A completed upload's bytes are final. The presigned URL that created them stays valid for
//! minutes after `complete` checked them, and used to replace them (with bytes `complete`
//! never saw, under a product image already approved). Upload URLs are now signed with
//! `If-None-Match: *`, so the store creates the object once and refuses a second `PUT` (412);
//! leaving the header out breaks the signature (403). The development store behaves the same.
//!
//! Pending uploads nobody completed are removed, record and object, once their URL has been
//! expired for as long as it was valid.

use bazaar_adapters::s3::ObjectStore;
use reqwest::Client;
use serde_json::Value;

use super::prod::Production;
use super::uploads::{
    announced, complete, downloaded, get_file, png, put, put_with, s3_key, sign_up, uploaded,
};
use crate::kit::process::eventually;
use crate::kit::{files_under, problem, test_bucket, TestApp};

/// Uploads and completes a file, then tries to replace it with its own URL: with the signed
/// headers, and without the condition. Both fail and the bytes stay. Answers the refused
/// second `PUT` with the signed headers.
async fn the_url_cannot_replace_a_completed_upload(
    base: &str,
    client: &Client,
) -> reqwest::Response {
    let original = png(64, 1);
    // Same size and type: `complete` would accept these bytes, so only the store stands
    // between them and the file.
    let replacement = png(64, 2);
    let (id, upload) = uploaded(base, client, original.clone()).await;

    let again = put(&upload, replacement.clone()).await;
    let content_type = [("Content-Type", "image/png")];
    let unconditional = put_with(&upload, replacement, Some(&content_type)).await;

    assert_eq!(again.status(), 412, "a second PUT with the signed headers");
    assert_eq!(
        unconditional.status(),
        403,
        "a PUT that leaves out the signed If-None-Match"
    );
    assert_eq!(downloaded(base, client, &id).await, original);
    let file: Value = complete(base, client, &id).await.json().await.unwrap();
    assert_eq!(file["status"], "complete");
    assert_eq!(downloaded(base, client, &id).await, original);
    again
}

#[tokio::test]
async fn a_completed_upload_cannot_be_overwritten_with_its_still_valid_url_in_production() {
    let prod = Production::start("upload-overwrite").await;
    let base = prod.url("");
    let customer = sign_up(&base, "+919812350001").await;

    the_url_cannot_replace_a_completed_upload(&base, &customer).await;
}

/// An app on in-memory backends and the development store in `dir`, with `extra` settings.
async fn dev_app(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> TestApp {
    let path = dir.path().to_str().expect("a UTF-8 temp path").to_owned();
    let mut overrides = vec![("BAZAAR_FILES_DIR", path.as_str())];
    overrides.extend_from_slice(extra);
    TestApp::builder().env(&overrides).spawn().await
}

#[tokio::test]
async fn a_completed_upload_cannot_be_overwritten_on_the_development_store_either() {
    let dir = tempfile::tempdir().unwrap();
    let app = dev_app(&dir, &[]).await;
    let customer = sign_up(&app.address, "+919812350002").await;

    let refused = the_url_cannot_replace_a_completed_upload(&app.address, &customer).await;

    assert_eq!(problem(refused).await["code"], "precondition_failed");
}

/// What the sweep test leaves: a completed file, and two pending ones (one uploaded, one not).
struct Abandoned {
    complete: String,
    complete_bytes: Vec<u8>,
    uploaded: (String, Value),
    never_uploaded: String,
}

/// Needs upload URLs valid for a few seconds and a sweep every second.
async fn abandon_uploads(base: &str, client: &Client) -> Abandoned {
    let complete_bytes = png(40, 3);
    let (complete, _) = uploaded(base, client, complete_bytes.clone()).await;
    let pending = announced(base, client, 40).await;
    let sent = put(&pending["upload"], png(40, 4)).await;
    assert!(sent.status().is_success(), "{}", sent.status());
    let never = announced(base, client, 40).await;
    Abandoned {
        complete,
        complete_bytes,
        uploaded: (
            pending["file"]["id"].as_str().unwrap().to_owned(),
            pending["upload"].clone(),
        ),
        never_uploaded: never["file"]["id"].as_str().unwrap().to_owned(),
    }
}

/// Waits until the sweep has removed both pending files' records, then checks the complete
/// one is untouched.
async fn pending_files_are_swept(base: &str, client: &Client, files: &Abandoned) {
    for id in [&files.uploaded.0, &files.never_uploaded] {
        eventually("the sweep removing a pending file", || async {
            get_file(base, client, id).await.status() == 404
        })
        .await;
    }
    assert_eq!(
        downloaded(base, client, &files.complete).await,
        files.complete_bytes
    );
}

const SHORT_UPLOAD_WINDOW: [(&str, &str); 2] = [
    ("BAZAAR_FILES_UPLOAD_URL_TTL_SECS", "3"),
    ("BAZAAR_ORDER_SWEEP_INTERVAL_SECS", "1"),
];

#[tokio::test]
async fn an_abandoned_pending_upload_is_swept_with_its_object_in_production() {
    let prod = Production::start_with("upload-sweep", &SHORT_UPLOAD_WINDOW).await;
    let base = prod.url("");
    let customer = sign_up(&base, "+919812350003").await;
    let files = abandon_uploads(&base, &customer).await;
    let key = s3_key(&files.uploaded.1);
    let bucket = test_bucket();
    assert!(
        bucket.head(&key).await.unwrap().is_some(),
        "uploaded, not completed"
    );

    pending_files_are_swept(&base, &customer, &files).await;

    assert_eq!(
        bucket.head(&key).await.unwrap(),
        None,
        "the object went too"
    );
}

#[tokio::test]
async fn an_abandoned_pending_upload_is_swept_with_its_object_on_the_development_store() {
    let dir = tempfile::tempdir().unwrap();
    let app = dev_app(&dir, &SHORT_UPLOAD_WINDOW).await;
    let customer = sign_up(&app.address, "+919812350004").await;
    let files = abandon_uploads(&app.address, &customer).await;
    let objects = || {
        files_under(dir.path())
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with(".content-type"))
            .count()
    };
    assert_eq!(objects(), 2, "the completed upload and the abandoned one");

    pending_files_are_swept(&app.address, &customer, &files).await;

    assert_eq!(objects(), 1, "only the completed upload's object is left");
}
