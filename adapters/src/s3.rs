//! S3 and S3-compatible stores: browser uploads and downloads through SigV4-presigned URLs, and
//! the two calls the service makes itself, `HEAD` (did the upload arrive, how big is it) and
//! `DELETE`.
//!
//! Object bytes never pass through Bazaar: the service hands the browser a presigned `PUT` URL
//! plus the headers it must send unchanged, the browser uploads straight to the bucket, and the
//! service checks the result with [`ObjectStore::head`]. A presigned `PUT` cannot limit the
//! size, so that check is where the service enforces one. It can forbid overwriting: the URL
//! is signed with `If-None-Match: *` (S3 conditional writes), so it creates the object once
//! and a second upload with it is refused `412 Precondition Failed` — what was checked stays.
//!
//! All signing is rusty-s3's (sans-IO SigV4); this module owns which headers are signed, how the
//! object key is checked before it becomes a URL, and how S3's answers map to
//! [`AdapterError`]. `HEAD` and `DELETE` are sent as presigned URLs too, so there is exactly one
//! signing path.
//!
//! [`ObjectStore`] is the port; [`S3Client`] talks to S3 or a compatible server;
//! [`FakeObjectStore`] keeps objects in memory for tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use reqwest::{StatusCode, Url};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

const PROVIDER: &str = "s3";

/// S3 accepts presigned URLs valid for 1 second to 7 days (`X-Amz-Expires`).
const MAX_EXPIRES: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long the URLs of our own `HEAD` and `DELETE` calls stay valid. They are signed afresh for
/// every attempt and never leave the process, so this only needs to outlast clock skew between
/// us and the store (AWS tolerates 15 minutes for signed headers; 5 covers a sane host).
const OWN_CALL_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// S3's limit on the length of an object key, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

/// A request a browser can make without credentials: the method, the presigned URL, and the
/// headers it must send exactly as given, because they were signed.
///
/// The URL is a bearer credential for one object until it expires: hand it to the client that
/// asked for it and log nothing of it but the key. `Debug` prints the URL without its query.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// `"PUT"` or `"GET"`.
    pub method: &'static str,
    /// The presigned URL, SigV4 query-string authentication included.
    pub url: String,
    /// Headers to send unchanged, e.g. `("Content-Type", "image/png")` for an upload; a
    /// different value makes the store answer 403.
    pub headers: Vec<(String, String)>,
    /// When the store starts refusing the URL (the signing time, to the second, plus the
    /// requested validity).
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for PresignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unsigned = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &format_args!("{unsigned}?[SIGNATURE REDACTED]"))
            .field("headers", &self.headers)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What the store knows about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes (`Content-Length`).
    pub size: u64,
    /// The `Content-Type` the object was uploaded with, when the store reports one.
    pub content_type: Option<String>,
    /// The entity tag without its surrounding quotes (for a single-part upload to AWS, the
    /// hex MD5 of the bytes).
    pub etag: Option<String>,
}

/// Stores objects (product images, documents) in a bucket that browsers upload to directly.
///
/// Keys are checked the same way by every implementation: non-empty, at most 1024 bytes, no
/// control characters, and no `.` or `..` path segment (which a URL would resolve into another
/// key or another bucket). A bad key is `Rejected { status: 400 }`.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// A URL the browser can `PUT` the object's bytes to until `expires` (1 s to 7 days) has
    /// passed, which only creates the object: an existing one is never replaced. The headers
    /// are signed and must be sent unchanged: `Content-Type: {content_type}` and
    /// `If-None-Match: *`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError>;

    /// A URL the browser can `GET` the object from until `expires` (1 s to 7 days) has passed.
    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError>;

    /// The object's size and type, or `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, AdapterError>;

    /// Deletes the object; deleting one that does not exist succeeds too.
    async fn delete(&self, key: &str) -> Result<(), AdapterError>;
}

/// What [`S3Client`] needs from configuration.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The S3 API root without the bucket: `https://s3.ap-south-1.amazonaws.com`, or a
    /// compatible server such as `http://127.0.0.1:9000`. A path here prefixes every URL.
    pub endpoint: String,
    /// The bucket's region, e.g. `ap-south-1`; part of every signature. Compatible servers
    /// usually accept `us-east-1`.
    pub region: String,
    /// The bucket every key lives in.
    pub bucket: String,
    /// The access key id (`AKIA…`); it appears in every presigned URL, so it is not secret.
    pub access_key_id: String,
    /// The secret access key; it signs but never travels.
    pub secret_access_key: SecretString,
    /// `true`: `{endpoint}/{bucket}/{key}` (needed for IP endpoints and most compatible
    /// servers). `false`: `{bucket}.{endpoint host}/{key}`, AWS's virtual-hosted style.
    pub path_style: bool,
    /// Upper bound on one HTTP attempt of `head` and `delete`.
    pub timeout: Duration,
    /// How failed `head` and `delete` attempts are retried.
    pub retry: RetryPolicy,
}

/// Signs URLs for one bucket with rusty-s3 and sends `head` and `delete` with reqwest.
pub struct S3Client {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Credentials,
    retry: RetryPolicy,
}

impl S3Client {
    /// Builds the client, failing with `Unavailable` on an endpoint that is not an http(s) URL,
    /// an empty region or bucket, or a bucket name that cannot be a host name in
    /// virtual-hosted style; and with `Unauthorized` on an empty access key id or secret.
    pub fn new(settings: S3Settings) -> Result<Self, AdapterError> {
        let invalid = |message: String| AdapterError::Unavailable {
            provider: PROVIDER,
            message,
        };
        let endpoint = http::base_url(PROVIDER, &settings.endpoint)?;
        let endpoint = Url::parse(&endpoint)
            .map_err(|error| invalid(format!("invalid endpoint {endpoint:?}: {error}")))?;
        if settings.region.trim().is_empty() {
            return Err(invalid("the region must not be empty".to_owned()));
        }
        if settings.bucket.trim().is_empty() {
            return Err(invalid("the bucket must not be empty".to_owned()));
        }
        if settings.access_key_id.trim().is_empty()
            || settings.secret_access_key.expose_secret().trim().is_empty()
        {
            return Err(AdapterError::Unauthorized { provider: PROVIDER });
        }
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, settings.bucket.clone(), settings.region)
            .map_err(|error| {
                invalid(format!(
                    "bucket {:?} cannot be addressed at this endpoint ({error:?}); \
                     IP endpoints and dotted names over https need path_style",
                    settings.bucket
                ))
            })?;
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            bucket,
            credentials: Credentials::new(
                settings.access_key_id,
                settings.secret_access_key.expose_secret(),
            ),
            retry: settings.retry,
        })
    }

    /// [`ObjectStore::presign_put`] as if signed at `signed_at`: for deterministic tests, and
    /// for a URL that must become valid at a known time.
    pub fn presign_put_at(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
        signed_at: SystemTime,
    ) -> Result<PresignedRequest, AdapterError> {
        check_key(key)?;
        check_content_type(content_type)?;
        check_expires(expires)?;
        let signed_at = signing_time(signed_at)?;
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        // Signed so that the browser cannot upload something else under a type we accepted.
        action.headers_mut().insert("content-type", content_type);
        // Signed so that the URL cannot replace an object once it exists (a conditional
        // write): the bytes `complete` checked are the bytes that stay.
        action.headers_mut().insert("if-none-match", "*");
        let url = action.sign_with_time(expires, &signed_at);
        Ok(PresignedRequest {
            method: "PUT",
            url: url.into(),
            headers: upload_headers(content_type),
            expires_at: expiry(signed_at, expires),
        })
    }

    /// [`ObjectStore::presign_get`] as if signed at `signed_at`.
    pub fn presign_get_at(
        &self,
        key: &str,
        expires: Duration,
        signed_at: SystemTime,
    ) -> Result<PresignedRequest, AdapterError> {
        check_key(key)?;
        check_expires(expires)?;
        let signed_at = signing_time(signed_at)?;
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign_with_time(expires, &signed_at);
        Ok(PresignedRequest {
            method: "GET",
            url: url.into(),
            headers: Vec::new(),
            expires_at: expiry(signed_at, expires),
        })
    }
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("bucket_url", &self.bucket.base_url().as_str())
            .field("region", &self.bucket.region())
            .field("access_key_id", &self.credentials.key())
            .field("secret_access_key", &"[REDACTED]")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Client {
    #[tracing::instrument(
        name = "s3.presign_put",
        skip_all,
        fields(key = %key, content_type = %content_type)
    )]
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        self.presign_put_at(key, content_type, expires, SystemTime::now())
    }

    #[tracing::instrument(name = "s3.presign_get", skip_all, fields(key = %key))]
    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        self.presign_get_at(key, expires, SystemTime::now())
    }

    #[tracing::instrument(
        name = "s3.head",
        skip_all,
        fields(key = %key, size = tracing::field::Empty)
    )]
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, AdapterError> {
        check_key(key)?;
        let response = self
            .retry
            .send(PROVIDER, || {
                // Signed per attempt, so a retry after a long backoff is not already expired.
                let url = self
                    .bucket
                    .head_object(Some(&self.credentials), key)
                    .sign(OWN_CALL_VALIDITY);
                self.http.head(url)
            })
            .await?;

        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            // A HEAD answer has no body to explain itself.
            return Err(refused(status, response.headers(), ""));
        }
        let headers = response.headers();
        let size = header_str(headers, CONTENT_LENGTH.as_str())
            .and_then(|length| length.trim().parse::<u64>().ok())
            .ok_or_else(|| AdapterError::Unavailable {
                provider: PROVIDER,
                message: "HEAD answered without a valid Content-Length".to_owned(),
            })?;
        tracing::Span::current().record("size", size);
        Ok(Some(ObjectInfo {
            size,
            content_type: header_str(headers, CONTENT_TYPE.as_str()).map(str::to_owned),
            etag: header_str(headers, ETAG.as_str()).map(|etag| etag.trim_matches('"').to_owned()),
        }))
    }

    #[tracing::instrument(name = "s3.delete", skip_all, fields(key = %key))]
    async fn delete(&self, key: &str) -> Result<(), AdapterError> {
        check_key(key)?;
        let response = self
            .retry
            .send(PROVIDER, || {
                let url = self
                    .bucket
                    .delete_object(Some(&self.credentials), key)
                    .sign(OWN_CALL_VALIDITY);
                self.http.delete(url)
            })
            .await?;

        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() {
            return Ok(());
        }
        // An unreadable body only costs us the explanation, not the verdict.
        let body = response.text().await.unwrap_or_default();
        // AWS answers 204 for a missing key; some compatible servers answer 404 NoSuchKey.
        // A missing bucket is a 404 too, but that is our configuration, not idempotence.
        if status == StatusCode::NOT_FOUND && xml_element(&body, "Code") != Some("NoSuchBucket") {
            return Ok(());
        }
        Err(refused(status, &headers, &body))
    }
}

/// The error for a non-2xx answer that was not retried: 401/403 mean our credentials or
/// signature are wrong (S3 also answers 403 `RequestTimeTooSkewed` for a wrong clock), anything
/// else is a rejection explained by S3's `<Code>` and `<Message>` when the body has them.
fn refused(status: StatusCode, headers: &HeaderMap, body: &str) -> AdapterError {
    let code = xml_element(body, "Code");
    let message = xml_element(body, "Message");
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        tracing::warn!(
            %status,
            code = code.unwrap_or_default(),
            "the store refused our credentials or signature"
        );
        return AdapterError::Unauthorized { provider: PROVIDER };
    }
    let mut explanation = format!("HTTP {status}");
    for part in [code, message].into_iter().flatten() {
        explanation.push_str(": ");
        explanation.push_str(&http::excerpt(part, 200));
    }
    // AWS redirects (301 PermanentRedirect) when the configured region is not the bucket's.
    if let Some(region) = header_str(headers, "x-amz-bucket-region") {
        explanation.push_str(&format!(" (the bucket is in region {region})"));
    }
    AdapterError::Rejected {
        provider: PROVIDER,
        status: status.as_u16(),
        message: explanation,
    }
}

/// The headers a presigned upload must carry, as every [`ObjectStore`] signs them.
pub fn upload_headers(content_type: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("If-None-Match".to_owned(), "*".to_owned()),
    ]
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
}

/// The text of the first `<name>…</name>` in an S3 error body. S3's error documents are flat
/// and unescaped where it matters (codes are identifiers), so this avoids an XML parser.
fn xml_element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].trim()).filter(|text| !text.is_empty())
}

fn rejected(message: impl Into<String>) -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 400,
        message: message.into(),
    }
}

/// Refuses keys that S3 refuses and keys that a URL would turn into another object or bucket
/// (rusty-s3 documents that `.`/`..` segments are resolved and an empty key names the bucket).
fn check_key(key: &str) -> Result<(), AdapterError> {
    if key.is_empty() {
        return Err(rejected("the object key must not be empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(rejected(format!(
            "the object key is {} bytes; S3 allows at most {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(rejected("the object key contains a control character"));
    }
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(rejected(
            "the object key must not contain a `.` or `..` path segment",
        ));
    }
    Ok(())
}

/// Refuses a content type that cannot travel as a `Content-Type` header unchanged (a
/// signed header must arrive byte for byte). Public so other `ObjectStore`s apply the
/// same rule.
pub fn check_content_type(content_type: &str) -> Result<(), AdapterError> {
    let usable = !content_type.trim().is_empty()
        && content_type.trim() == content_type
        && HeaderValue::from_str(content_type).is_ok();
    if usable {
        Ok(())
    } else {
        Err(rejected(format!(
            "{content_type:?} cannot be sent as a Content-Type header"
        )))
    }
}

fn check_expires(expires: Duration) -> Result<(), AdapterError> {
    // Signed in whole seconds: 1.9 s becomes 1 s, and anything under 1 s would be 0.
    if expires < Duration::from_secs(1) || expires > MAX_EXPIRES {
        return Err(rejected(format!(
            "a presigned URL must be valid for 1 s to 7 days, not {expires:?}"
        )));
    }
    Ok(())
}

/// When a URL signed at `signed_at` for `expires` stops working: both count in whole seconds.
fn expiry(signed_at: Timestamp, expires: Duration) -> SystemTime {
    SystemTime::from(signed_at) + Duration::from_secs(expires.as_secs())
}

/// `at` to the whole second, as SigV4's `X-Amz-Date` records it.
fn signing_time(at: SystemTime) -> Result<Timestamp, AdapterError> {
    let precise = Timestamp::try_from(at)
        .map_err(|error| rejected(format!("cannot sign at {at:?}: {error}")))?;
    Timestamp::from_second(precise.as_second())
        .map_err(|error| rejected(format!("cannot sign at {at:?}: {error}")))
}

/// An object held by [`FakeObjectStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The object's bytes.
    pub bytes: Vec<u8>,
    /// The `Content-Type` it was uploaded with.
    pub content_type: String,
}

/// One call made to a [`FakeObjectStore`] through the [`ObjectStore`] trait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreCall {
    /// `presign_put(key, content_type, expires)`.
    PresignPut {
        /// The object key.
        key: String,
        /// The content type the URL was signed for.
        content_type: String,
        /// The requested validity.
        expires: Duration,
    },
    /// `presign_get(key, expires)`.
    PresignGet {
        /// The object key.
        key: String,
        /// The requested validity.
        expires: Duration,
    },
    /// `head(key)`.
    Head {
        /// The object key.
        key: String,
    },
    /// `delete(key)`.
    Delete {
        /// The object key.
        key: String,
    },
}

/// An in-memory [`ObjectStore`] for tests: objects live in a map, every successful call is
/// recorded, and it fails once when told to.
///
/// Nothing can be uploaded to its presigned URLs (they point at `base_url`, by default
/// `http://fake-s3.invalid/bucket`); a test simulates the browser's upload with
/// [`FakeObjectStore::put`]. Like S3, it rejects bad keys, a content type that cannot be a
/// header and a validity outside 1 s to 7 days.
#[derive(Debug)]
pub struct FakeObjectStore {
    base_url: String,
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    objects: BTreeMap<String, StoredObject>,
    calls: Vec<ObjectStoreCall>,
    next_failure: Option<AdapterError>,
}

impl Default for FakeObjectStore {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeObjectStore {
    /// An empty store whose URLs start with `http://fake-s3.invalid/bucket`.
    pub fn new() -> Self {
        Self::with_base_url("http://fake-s3.invalid/bucket")
    }

    /// An empty store whose URLs start with `base_url` (a trailing `/` is dropped).
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            state: Mutex::default(),
        }
    }

    /// Stores `bytes` under `key`, replacing any object already there (which a presigned
    /// upload could not: see [`FakeObjectStore::upload`]). Not recorded as a call.
    pub fn put(&self, key: &str, bytes: impl Into<Vec<u8>>, content_type: &str) {
        self.state().objects.insert(
            key.to_owned(),
            StoredObject {
                bytes: bytes.into(),
                content_type: content_type.to_owned(),
            },
        );
    }

    /// Stores `bytes` under `key` as a browser's upload to a presigned URL would: only when
    /// there is no object there yet. `false` (and nothing stored) when there is, as S3 answers
    /// 412 to the `If-None-Match: *` that upload URLs are signed with. Not recorded as a call.
    pub fn upload(&self, key: &str, bytes: impl Into<Vec<u8>>, content_type: &str) -> bool {
        let mut state = self.state();
        if state.objects.contains_key(key) {
            return false;
        }
        state.objects.insert(
            key.to_owned(),
            StoredObject {
                bytes: bytes.into(),
                content_type: content_type.to_owned(),
            },
        );
        true
    }

    /// The object under `key`, if any.
    pub fn object(&self, key: &str) -> Option<StoredObject> {
        self.state().objects.get(key).cloned()
    }

    /// Every stored object with its key, in key order.
    pub fn stored_objects(&self) -> Vec<(String, StoredObject)> {
        self.state()
            .objects
            .iter()
            .map(|(key, object)| (key.clone(), object.clone()))
            .collect()
    }

    /// Every successful call so far, oldest first.
    pub fn calls(&self) -> Vec<ObjectStoreCall> {
        self.state().calls.clone()
    }

    /// Makes the next call through [`ObjectStore`] return `error` and record nothing.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().next_failure = Some(error);
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_failure(&self) -> Result<MutexGuard<'_, FakeState>, AdapterError> {
        let mut state = self.state();
        match state.next_failure.take() {
            Some(error) => Err(error),
            None => Ok(state),
        }
    }

    fn url(&self, key: &str, expires: Duration) -> String {
        format!(
            "{}/{}?X-Amz-Algorithm=FAKE&X-Amz-Expires={}&X-Amz-Signature=fake",
            self.base_url,
            encode_key(key),
            expires.as_secs()
        )
    }
}

/// `key` percent-encoded as a URL path, as S3 URLs encode it: everything but unreserved
/// characters and `/`.
fn encode_key(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[async_trait::async_trait]
impl ObjectStore for FakeObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        let mut state = self.take_failure()?;
        check_key(key)?;
        check_content_type(content_type)?;
        check_expires(expires)?;
        state.calls.push(ObjectStoreCall::PresignPut {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            expires,
        });
        Ok(PresignedRequest {
            method: "PUT",
            url: self.url(key, expires),
            headers: upload_headers(content_type),
            expires_at: SystemTime::now() + Duration::from_secs(expires.as_secs()),
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        let mut state = self.take_failure()?;
        check_key(key)?;
        check_expires(expires)?;
        state.calls.push(ObjectStoreCall::PresignGet {
            key: key.to_owned(),
            expires,
        });
        Ok(PresignedRequest {
            method: "GET",
            url: self.url(key, expires),
            headers: Vec::new(),
            expires_at: SystemTime::now() + Duration::from_secs(expires.as_secs()),
        })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, AdapterError> {
        let mut state = self.take_failure()?;
        check_key(key)?;
        state.calls.push(ObjectStoreCall::Head {
            key: key.to_owned(),
        });
        Ok(state.objects.get(key).map(|object| ObjectInfo {
            size: object.bytes.len() as u64,
            content_type: Some(object.content_type.clone()),
            etag: Some(content_etag(&object.bytes)),
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), AdapterError> {
        let mut state = self.take_failure()?;
        check_key(key)?;
        state.calls.push(ObjectStoreCall::Delete {
            key: key.to_owned(),
        });
        state.objects.remove(key);
        Ok(())
    }
}

/// A stable tag derived from the bytes, as S3's MD5 ETag is (the fake uses SHA-256's first
/// 16 bytes, so it is not S3's value).
fn content_etag(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
