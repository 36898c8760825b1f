//! Holds `S3Client` to S3's SigV4 presigned-URL contract (`shared/contracts/s3.md`) twice:
//! against a wiremock server, which pins the requests and the mapping of S3's answers, and
//! against a real S3-compatible server that verifies signatures, which proves the signatures
//! are right (a wiremock server would accept wrong ones). Also checks what `FakeObjectStore`
//! promises.
//!
//! The real server comes from `tests/support/services.py` (run by `make test`) through the
//! `BAZAAR_TEST_S3_*` variables; without them those tests fail rather than skip.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::s3::{
    FakeObjectStore, ObjectInfo, ObjectStore, ObjectStoreCall, PresignedRequest, S3Client,
    S3Settings, StoredObject,
};
use reqwest::Url;
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

#[macro_use]
mod common;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BUCKET: &str = "bazaar-test";
const REGION: &str = "ap-south-1";
const KEY: &str = "products/p1/photo.png";

fn settings(endpoint: &str) -> S3Settings {
    S3Settings {
        endpoint: endpoint.to_owned(),
        region: REGION.to_owned(),
        bucket: BUCKET.to_owned(),
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: SecretString::from(SECRET_KEY),
        path_style: true,
        timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        },
    }
}

fn client(server: &MockServer) -> S3Client {
    S3Client::new(settings(&server.uri())).expect("test settings are valid")
}

/// The query parameter `name` of `url`, decoded.
fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Matches a request carrying SigV4 query-string authentication by our key for our region.
fn presigned_by_us(request: &Request) -> bool {
    let credential = query_param(&request.url, "X-Amz-Credential").unwrap_or_default();
    let signature = query_param(&request.url, "X-Amz-Signature").unwrap_or_default();
    query_param(&request.url, "X-Amz-Algorithm").as_deref() == Some("AWS4-HMAC-SHA256")
        && credential.starts_with(&format!("{ACCESS_KEY}/"))
        && credential.ends_with(&format!("/{REGION}/s3/aws4_request"))
        && signature.len() == 64
        && signature.bytes().all(|byte| byte.is_ascii_hexdigit())
        // Query-string auth and an Authorization header together are refused by S3.
        && !request.headers.contains_key("authorization")
}

fn object(http_method: &str) -> MockBuilder {
    Mock::given(method(http_method))
        .and(path(format!("/{BUCKET}/{KEY}")))
        .and(presigned_by_us)
}

// ---- HEAD -------------------------------------------------------------------------------

#[tokio::test]
async fn head_sends_a_presigned_head_and_maps_length_type_and_etag() {
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![0_u8; 1234], "image/png")
                .insert_header("ETag", "\"9b2cf535f27731c974343645a3985328\""),
        )
        .expect(1)
        .mount(&server)
        .await;

    let info = client(&server).head(KEY).await;

    assert_eq!(
        info.ok(),
        Some(Some(ObjectInfo {
            size: 1234,
            content_type: Some("image/png".to_owned()),
            etag: Some("9b2cf535f27731c974343645a3985328".to_owned()),
        }))
    );
}

#[tokio::test]
async fn head_of_a_missing_object_is_none() {
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;

    let info = client(&server).head(KEY).await;

    assert_eq!(info.ok(), Some(None));
}

#[tokio::test]
async fn a_500_followed_by_success_is_retried_with_a_fresh_signature() {
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0_u8; 7], "text/plain"))
        .expect(1)
        .mount(&server)
        .await;

    let info = client(&server).head(KEY).await;

    assert_eq!(info.ok().flatten().map(|info| info.size), Some(7));
}

#[tokio::test]
async fn a_persistent_503_is_unavailable_after_max_retries_plus_one_attempts() {
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;

    let result = client(&server).head(KEY).await;

    match result {
        Err(AdapterError::Unavailable { provider, message }) => {
            assert_eq!(provider, "s3");
            assert!(message.contains("503"), "message: {message}");
            assert!(!message.contains("X-Amz"), "message: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_region_redirect_is_a_rejection_naming_the_buckets_region() {
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(301).insert_header("x-amz-bucket-region", "eu-west-1"))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).head(KEY).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 301);
            assert!(message.contains("eu-west-1"), "message: {message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

// ---- DELETE -----------------------------------------------------------------------------

#[tokio::test]
async fn delete_sends_a_presigned_delete_to_the_bucket_and_key() {
    let server = MockServer::start().await;
    object("DELETE")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).delete(KEY).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn deleting_a_missing_key_succeeds_even_when_the_store_answers_404() {
    let server = MockServer::start().await;
    object("DELETE")
        .respond_with(ResponseTemplate::new(404).set_body_string(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message></Error>",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).delete(KEY).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn deleting_from_a_missing_bucket_is_a_rejection_with_s3s_code_and_message() {
    let server = MockServer::start().await;
    object("DELETE")
        .respond_with(ResponseTemplate::new(404).set_body_string(
            "<Error><Code>NoSuchBucket</Code>\
             <Message>The specified bucket does not exist</Message></Error>",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).delete(KEY).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 404);
            assert_eq!(
                message,
                "HTTP 404 Not Found: NoSuchBucket: The specified bucket does not exist"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_delete_refused_with_signature_does_not_match_is_unauthorized() {
    let server = MockServer::start().await;
    object("DELETE")
        .respond_with(ResponseTemplate::new(403).set_body_string(
            "<Error><Code>SignatureDoesNotMatch</Code><Message>…</Message></Error>",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).delete(KEY).await;

    assert!(
        matches!(result, Err(AdapterError::Unauthorized { provider: "s3" })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable() {
    let server = MockServer::start().await;
    object("DELETE")
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;

    let result = client(&server).delete(KEY).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable { provider: "s3", .. })
        ),
        "got {result:?}"
    );
}

// ---- presigning -------------------------------------------------------------------------

#[test]
fn a_presigned_put_signs_the_content_type_and_if_none_match_for_the_region_and_the_validity() {
    let client = S3Client::new(settings("http://127.0.0.1:9000")).expect("valid settings");
    // 2026-01-15T10:30:00.750Z, for 600.9 s: SigV4 counts both in whole seconds.
    let signed_at = UNIX_EPOCH + Duration::from_millis(1_768_473_000_750);

    let presigned = client
        .presign_put_at(KEY, "image/png", Duration::from_millis(600_900), signed_at)
        .expect("a valid key and type can be presigned");

    let url = Url::parse(&presigned.url).expect("the presigned URL parses");
    assert_eq!(presigned.method, "PUT");
    assert_eq!(url.origin().ascii_serialization(), "http://127.0.0.1:9000");
    assert_eq!(url.path(), format!("/{BUCKET}/{KEY}"));
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let names: Vec<&str> = query.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature"
        ]
    );
    assert_eq!(
        query_param(&url, "X-Amz-Algorithm").as_deref(),
        Some("AWS4-HMAC-SHA256")
    );
    assert_eq!(
        query_param(&url, "X-Amz-Credential"),
        Some(format!("{ACCESS_KEY}/20260115/{REGION}/s3/aws4_request"))
    );
    assert_eq!(
        query_param(&url, "X-Amz-Date").as_deref(),
        Some("20260115T103000Z")
    );
    assert_eq!(query_param(&url, "X-Amz-Expires").as_deref(), Some("600"));
    assert_eq!(
        query_param(&url, "X-Amz-SignedHeaders").as_deref(),
        Some("content-type;host;if-none-match")
    );
    assert!(query_param(&url, "X-Amz-Signature").is_some_and(|s| s.len() == 64));
    assert_eq!(
        presigned.headers,
        vec![
            ("Content-Type".to_owned(), "image/png".to_owned()),
            ("If-None-Match".to_owned(), "*".to_owned())
        ]
    );
    assert_eq!(
        presigned.expires_at,
        UNIX_EPOCH + Duration::from_secs(1_768_473_000 + 600)
    );
}

#[tokio::test]
async fn a_presigned_url_through_the_trait_is_signed_now() {
    let server = MockServer::start().await;
    let before = SystemTime::now();

    let presigned = client(&server)
        .presign_get(KEY, Duration::from_secs(300))
        .await
        .expect("presignable");

    let valid_for = presigned
        .expires_at
        .duration_since(before)
        .expect("expires after signing");
    // Signing drops the fraction of the current second.
    assert!(
        valid_for > Duration::from_secs(298) && valid_for <= Duration::from_secs(300),
        "valid for {valid_for:?}"
    );
    assert!(presigned
        .url
        .starts_with(&format!("{}/{BUCKET}/{KEY}?", server.uri())));
}

#[test]
fn a_presigned_get_matches_the_aws_documentation_example_in_virtual_hosted_style() {
    // "Authenticating Requests: Using Query Parameters" in the S3 API reference: GET
    // examplebucket/test.txt, 24 May 2013, valid one day.
    let client = S3Client::new(S3Settings {
        endpoint: "https://s3.amazonaws.com".to_owned(),
        region: "us-east-1".to_owned(),
        bucket: "examplebucket".to_owned(),
        access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
        secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        path_style: false,
        ..settings("https://unused.example")
    })
    .expect("the example settings are valid");
    let signed_at = UNIX_EPOCH + Duration::from_secs(1_369_353_600);

    let presigned = client
        .presign_get_at("test.txt", Duration::from_secs(86_400), signed_at)
        .expect("the example can be presigned");

    assert_eq!(
        presigned.url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    assert_eq!(presigned.method, "GET");
    assert!(presigned.headers.is_empty());
    assert_eq!(
        presigned.expires_at,
        signed_at + Duration::from_secs(86_400)
    );
}

#[test]
fn keys_are_percent_encoded_in_the_path() {
    let client = S3Client::new(settings("http://127.0.0.1:9000")).expect("valid settings");

    let presigned = client
        .presign_get_at(
            "products/p 1/ä+b.png",
            Duration::from_secs(60),
            SystemTime::now(),
        )
        .expect("an unusual but valid key can be presigned");

    let url = Url::parse(&presigned.url).expect("the presigned URL parses");
    assert_eq!(url.path(), "/bazaar-test/products/p%201/%C3%A4%2Bb.png");
}

#[tokio::test]
async fn keys_that_a_url_would_turn_into_another_object_are_rejected_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(|_: &Request| true)
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);
    let long = "k".repeat(1025);

    for key in [
        "",
        "../other-bucket/x",
        "a/./b",
        "a/..",
        "a\nb",
        long.as_str(),
    ] {
        let head = client.head(key).await;
        let delete = client.delete(key).await;
        let put = client
            .presign_put(key, "image/png", Duration::from_secs(60))
            .await;
        for result in [head.map(drop), delete, put.map(drop)] {
            assert!(
                matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
                "{key:?} gave {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_validity_outside_one_second_to_seven_days_or_a_bad_type_is_rejected() {
    let server = MockServer::start().await;
    let client = client(&server);

    let too_short = client.presign_get(KEY, Duration::from_millis(999)).await;
    let too_long = client
        .presign_get(KEY, Duration::from_secs(7 * 24 * 3600 + 1))
        .await;
    let bad_type = client
        .presign_put(KEY, "image/png\r\nX-Evil: 1", Duration::from_secs(60))
        .await;
    let empty_type = client.presign_put(KEY, "", Duration::from_secs(60)).await;
    let seven_days = client
        .presign_get(KEY, Duration::from_secs(7 * 24 * 3600))
        .await;

    for result in [too_short, too_long, bad_type, empty_type] {
        assert!(
            matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
            "got {result:?}"
        );
    }
    assert!(seven_days.is_ok(), "got {seven_days:?}");
}

// ---- construction and redaction -----------------------------------------------------------

#[test]
fn an_empty_secret_or_access_key_is_refused_when_the_client_is_built() {
    for (access_key_id, secret) in [(ACCESS_KEY, " "), ("", SECRET_KEY)] {
        let result = S3Client::new(S3Settings {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: SecretString::from(secret),
            ..settings("https://s3.ap-south-1.amazonaws.com")
        });
        assert!(
            matches!(result, Err(AdapterError::Unauthorized { provider: "s3" })),
            "got {result:?}"
        );
    }
}

#[test]
fn an_endpoint_that_cannot_address_the_bucket_is_refused_when_the_client_is_built() {
    let virtual_host_on_an_ip = S3Settings {
        path_style: false,
        ..settings("http://127.0.0.1:9000")
    };
    let not_http = settings("ftp://s3.example");
    let no_region = S3Settings {
        region: String::new(),
        ..settings("https://s3.ap-south-1.amazonaws.com")
    };

    for settings in [virtual_host_on_an_ip, not_http, no_region] {
        let result = S3Client::new(settings);
        assert!(
            matches!(
                result,
                Err(AdapterError::Unavailable { provider: "s3", .. })
            ),
            "got {result:?}"
        );
    }
}

#[test]
fn debug_output_never_shows_the_secret_or_a_signature() {
    let settings = settings("https://s3.ap-south-1.amazonaws.com");
    let client = S3Client::new(settings.clone()).expect("valid settings");
    let presigned = client
        .presign_put_at(KEY, "image/png", Duration::from_secs(60), SystemTime::now())
        .expect("presignable");
    let signature = query_param(
        &Url::parse(&presigned.url).expect("parses"),
        "X-Amz-Signature",
    )
    .expect("signed");

    let settings_debug = format!("{settings:?}");
    let client_debug = format!("{client:?}");
    let presigned_debug = format!("{presigned:?}");

    assert!(!settings_debug.contains(SECRET_KEY), "{settings_debug}");
    assert!(client_debug.contains("REDACTED"), "{client_debug}");
    assert!(!client_debug.contains(SECRET_KEY), "{client_debug}");
    assert!(presigned_debug.contains(KEY), "{presigned_debug}");
    assert!(!presigned_debug.contains(&signature), "{presigned_debug}");
}

#[tokio::test]
async fn logs_of_retried_and_refused_calls_never_contain_a_signature_or_the_secret() {
    let captured = common::CapturedLogs::start();
    let server = MockServer::start().await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    object("HEAD")
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0_u8; 3], "image/png"))
        .mount(&server)
        .await;
    object("DELETE")
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string("<Error><Code>SignatureDoesNotMatch</Code></Error>"),
        )
        .mount(&server)
        .await;
    let client = client(&server);

    let head = client.head(KEY).await;
    let delete = client.delete(KEY).await;
    let put = client
        .presign_put(KEY, "image/png", Duration::from_secs(60))
        .await;

    assert!(head.is_ok() && delete.is_err() && put.is_ok());
    let logs = captured.text();
    assert!(logs.contains("s3.head"), "the span was not logged: {logs}");
    assert!(
        logs.contains("retrying"),
        "the retry was not logged: {logs}"
    );
    assert!(
        logs.contains("SignatureDoesNotMatch"),
        "the refusal was not logged: {logs}"
    );
    for secret in [
        SECRET_KEY,
        "X-Amz-Signature",
        "X-Amz-Credential",
        "photo.png?",
    ] {
        assert!(!logs.contains(secret), "logs contain {secret:?}: {logs}");
    }
}

// ---- against a real S3-compatible server ---------------------------------------------------

/// Settings for the server `tests/support/services.py` started (or named by the environment).
fn real_settings() -> S3Settings {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: the S3 contract tests need a real S3-compatible server. \
                 Run them with `make test`, or \
                 `python3 tests/support/services.py -- cargo test -p bazaar-adapters`, \
                 which starts one and sets the BAZAAR_TEST_S3_* variables."
            )
        })
    };
    S3Settings {
        endpoint: var("BAZAAR_TEST_S3_URL"),
        region: std::env::var("BAZAAR_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        bucket: var("BAZAAR_TEST_S3_BUCKET"),
        access_key_id: var("BAZAAR_TEST_S3_ACCESS_KEY"),
        secret_access_key: SecretString::from(var("BAZAAR_TEST_S3_SECRET_KEY")),
        path_style: true,
        timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
    }
}

/// A client for the real server, and a key no other test (or earlier run) uses.
fn real_store(test: &str) -> (S3Client, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let client = S3Client::new(real_settings()).expect("the BAZAAR_TEST_S3_* settings are valid");
    (client, format!("contract/{test}/{nanos}.png"))
}

/// Sends `presigned` as a browser would, with its headers, and `body` if any.
async fn send(presigned: &PresignedRequest, body: Option<&'static [u8]>) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(presigned.method.as_bytes()).expect("valid method");
    let mut request = reqwest::Client::new().request(method, &presigned.url);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    request.send().await.expect("the S3 test server answers")
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really an image, but 42 bytes!!";

#[tokio::test]
async fn against_a_real_store_an_upload_through_a_presigned_put_can_be_headed_fetched_and_deleted()
{
    let (store, key) = real_store("round_trip");

    let put = store
        .presign_put(&key, "image/png", Duration::from_secs(300))
        .await
        .expect("presigned");
    let uploaded = send(&put, Some(PNG)).await;
    assert!(uploaded.status().is_success(), "upload: {uploaded:?}");

    let info = store.head(&key).await.expect("head works");
    let info = info.expect("the uploaded object exists");
    assert_eq!(info.size, PNG.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("image/png"));

    let get = store
        .presign_get(&key, Duration::from_secs(300))
        .await
        .expect("presigned");
    let downloaded = send(&get, None).await;
    assert!(downloaded.status().is_success(), "download: {downloaded:?}");
    assert_eq!(downloaded.bytes().await.expect("body").as_ref(), PNG);

    store.delete(&key).await.expect("delete works");
    assert_eq!(store.head(&key).await.expect("head works"), None);
    store
        .delete(&key)
        .await
        .expect("deleting a deleted key works too");
}

#[tokio::test]
async fn against_a_real_store_an_upload_url_creates_once_and_never_replaces_the_object() {
    let (store, key) = real_store("create_once");
    let put = store
        .presign_put(&key, "image/png", Duration::from_secs(300))
        .await
        .expect("presigned");
    let first = send(&put, Some(PNG)).await;
    assert!(first.status().is_success(), "upload: {first:?}");

    const OTHER: &[u8] = b"\x89PNG\r\n\x1a\n other bytes, of another length";
    let again = send(&put, Some(OTHER)).await;
    let without_the_condition = send(
        &PresignedRequest {
            headers: vec![("Content-Type".to_owned(), "image/png".to_owned())],
            ..put.clone()
        },
        Some(OTHER),
    )
    .await;

    assert_eq!(again.status(), 412, "the store enforces If-None-Match: *");
    assert_eq!(
        without_the_condition.status(),
        403,
        "If-None-Match is signed, so it cannot be left out"
    );
    let info = store.head(&key).await.expect("head works").expect("kept");
    assert_eq!(info.size, PNG.len() as u64);
    let get = store
        .presign_get(&key, Duration::from_secs(60))
        .await
        .expect("presigned");
    assert_eq!(
        send(&get, None).await.bytes().await.expect("body").as_ref(),
        PNG
    );
    store.delete(&key).await.expect("delete works");
}

#[tokio::test]
async fn against_a_real_store_a_url_with_a_changed_signature_or_key_is_refused() {
    let (store, key) = real_store("tampered");
    let put = store
        .presign_put(&key, "image/png", Duration::from_secs(300))
        .await
        .expect("presigned");
    // The signature is the last query parameter and ends in a hex digit.
    let (signed, last) = put.url.split_at(put.url.len() - 1);
    let flipped = if last == "0" { "1" } else { "0" };
    let changed_signature = PresignedRequest {
        url: format!("{signed}{flipped}"),
        ..put.clone()
    };
    let changed_key = PresignedRequest {
        url: put.url.replacen(".png", ".jpg", 1),
        ..put.clone()
    };

    let with_changed_signature = send(&changed_signature, Some(PNG)).await;
    let with_changed_key = send(&changed_key, Some(PNG)).await;

    assert_eq!(with_changed_signature.status(), 403);
    assert_eq!(with_changed_key.status(), 403);
    assert_eq!(store.head(&key).await.expect("head works"), None);
}

#[tokio::test]
async fn against_a_real_store_an_upload_with_another_content_type_is_refused() {
    let (store, key) = real_store("content_type");
    let put = store
        .presign_put(&key, "image/png", Duration::from_secs(300))
        .await
        .expect("presigned");
    let as_text = PresignedRequest {
        headers: vec![("Content-Type".to_owned(), "text/plain".to_owned())],
        ..put
    };

    let uploaded = send(&as_text, Some(PNG)).await;

    assert_eq!(uploaded.status(), 403);
    assert_eq!(store.head(&key).await.expect("head works"), None);
}

#[tokio::test]
async fn against_a_real_store_an_expired_url_is_refused() {
    let (store, key) = real_store("expired");
    let two_minutes_ago = SystemTime::now() - Duration::from_secs(120);
    let expired = store
        .presign_put_at(&key, "image/png", Duration::from_secs(60), two_minutes_ago)
        .expect("presigned");

    let uploaded = send(&expired, Some(PNG)).await;

    assert_eq!(uploaded.status(), 403);
    assert_eq!(store.head(&key).await.expect("head works"), None);
}

#[tokio::test]
async fn against_a_real_store_our_own_calls_signed_with_a_wrong_secret_are_unauthorized() {
    let (_, key) = real_store("wrong_secret");
    let wrong = S3Client::new(S3Settings {
        secret_access_key: SecretString::from("not-the-secret"),
        ..real_settings()
    })
    .expect("valid settings");

    let head = wrong.head(&key).await;
    let delete = wrong.delete(&key).await;

    for result in [head.map(drop), delete] {
        assert!(
            matches!(result, Err(AdapterError::Unauthorized { provider: "s3" })),
            "got {result:?}"
        );
    }
}

// ---- the fake ---------------------------------------------------------------------------

#[tokio::test]
async fn the_fake_reports_what_a_test_uploaded_and_records_every_call() {
    let fake = FakeObjectStore::new();

    let put = fake
        .presign_put(KEY, "image/png", Duration::from_secs(600))
        .await
        .expect("presigned");
    let before_upload = fake.head(KEY).await.expect("head works");
    assert!(fake.upload(KEY, b"12345".to_vec(), "image/png"));
    let after_upload = fake.head(KEY).await.expect("head works");
    // Upload URLs only create: a second upload is refused, as S3 answers 412.
    assert!(!fake.upload(KEY, b"other".to_vec(), "image/png"));

    assert!(
        put.url
            .starts_with("http://fake-s3.invalid/bucket/products/p1/photo.png?"),
        "{}",
        put.url
    );
    assert_eq!(
        put.headers,
        vec![
            ("Content-Type".to_owned(), "image/png".to_owned()),
            ("If-None-Match".to_owned(), "*".to_owned())
        ]
    );
    assert_eq!(before_upload, None);
    let after_upload = after_upload.expect("uploaded");
    assert_eq!(
        (after_upload.size, after_upload.content_type.as_deref()),
        (5, Some("image/png"))
    );
    assert!(after_upload.etag.is_some());
    assert_eq!(
        fake.calls(),
        vec![
            ObjectStoreCall::PresignPut {
                key: KEY.to_owned(),
                content_type: "image/png".to_owned(),
                expires: Duration::from_secs(600),
            },
            ObjectStoreCall::Head {
                key: KEY.to_owned()
            },
            ObjectStoreCall::Head {
                key: KEY.to_owned()
            },
        ]
    );
    assert_eq!(
        fake.stored_objects(),
        vec![(
            KEY.to_owned(),
            StoredObject {
                bytes: b"12345".to_vec(),
                content_type: "image/png".to_owned(),
            }
        )]
    );
}

#[tokio::test]
async fn the_fakes_urls_start_with_its_base_url_and_encode_the_key() {
    let fake = FakeObjectStore::with_base_url("http://127.0.0.1:8080/dev-uploads/");

    let get = fake
        .presign_get("a b/ü.png", Duration::from_secs(60))
        .await
        .expect("presigned");

    assert!(
        get.url
            .starts_with("http://127.0.0.1:8080/dev-uploads/a%20b/%C3%BC.png?"),
        "{}",
        get.url
    );
    assert_eq!(get.method, "GET");
}

#[tokio::test]
async fn the_fake_deletes_idempotently() {
    let fake = FakeObjectStore::new();
    fake.put(KEY, b"x".to_vec(), "image/png");

    let first = fake.delete(KEY).await;
    let second = fake.delete(KEY).await;

    assert!(first.is_ok() && second.is_ok());
    assert_eq!(fake.object(KEY), None);
    assert!(fake.stored_objects().is_empty());
}

#[tokio::test]
async fn the_fake_fails_the_next_call_when_told_then_works_again() {
    let fake = FakeObjectStore::new();
    fake.put(KEY, b"x".to_vec(), "image/png");
    fake.fail_next(AdapterError::Unavailable {
        provider: "s3",
        message: "down".to_owned(),
    });

    let failed = fake.delete(KEY).await;
    let recovered = fake.head(KEY).await;

    assert!(
        matches!(failed, Err(AdapterError::Unavailable { .. })),
        "got {failed:?}"
    );
    assert!(matches!(recovered, Ok(Some(_))), "got {recovered:?}");
    assert_eq!(
        fake.calls(),
        vec![ObjectStoreCall::Head {
            key: KEY.to_owned()
        }],
        "the failed call is not recorded"
    );
}

#[tokio::test]
async fn the_fake_rejects_what_s3_would_reject() {
    let fake = FakeObjectStore::new();

    let bad_key = fake
        .presign_put("../escape", "image/png", Duration::from_secs(60))
        .await;
    let bad_type = fake
        .presign_put(KEY, "image/png\n", Duration::from_secs(60))
        .await;
    let bad_expiry = fake.presign_get(KEY, Duration::ZERO).await;

    for result in [bad_key, bad_type, bad_expiry] {
        assert!(
            matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
            "got {result:?}"
        );
    }
    assert!(fake.calls().is_empty());
}

transport_contract! {
    provider: "s3",
    stub: object("HEAD"),
    success: ResponseTemplate::new(200).set_body_raw(vec![0_u8; 7], "text/plain"),
    refused_credentials: ResponseTemplate::new(403),
    call: |server| client(&server).head(KEY).await,
}
