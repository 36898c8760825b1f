//! The development object store: uploads kept in a local directory and served by the dev
//! server itself, so `make run` handles the whole browser upload flow without S3.
//!
//! It imitates S3's presigned URLs: `PUT` and `GET /dev/uploads/{key}?expires=…&signature=…`,
//! where the signature is an HMAC-SHA256 over the method, the key, the signed `Content-Type`
//! (empty for `GET`) and the expiry. A URL that was altered, has expired, or is sent with
//! another `Content-Type` answers 403, as S3 would; a body over the size limit answers 413.
//! Like the S3 upload URLs, which are signed with `If-None-Match: *`, a `PUT` must send that
//! header (403 otherwise) and only creates: an object already there answers 412 and stays.
//!
//! The signing key is random per process. That is in-process state a second replica would
//! need, which Bazaar otherwise never keeps; it is acceptable only because this store exists
//! only outside production (`BAZAAR_ENV=production` requires S3) and a restart merely voids
//! outstanding URLs. Its routes (`http::dev_uploads`) are not part of the API contract.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::s3::{ObjectInfo, ObjectStore, PresignedRequest};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::time::{Clock, SharedClock, SystemClock};

/// Where the dev server mounts the store's routes.
pub const ROUTE_PREFIX: &str = "/dev/uploads";

const PROVIDER: &str = "local-files";

/// S3's bounds on a presigned URL's validity, kept so the store behaves like the real one.
const MAX_EXPIRES: Duration = Duration::from_secs(7 * 24 * 60 * 60);

const CONTENT_TYPE_SUFFIX: &str = ".content-type";

/// The HMAC key. `Debug` never shows it.
struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

/// Objects in a directory, with presigned URLs pointing at the dev server.
#[derive(Debug)]
pub struct LocalObjectStore {
    dir: PathBuf,
    base_url: String,
    key: SigningKey,
    max_bytes: u64,
    /// Judges the URLs' expiry (this server checks them, not S3).
    clock: SharedClock,
}

/// Why a presigned URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It lacks `expires` or `signature`.
    Unsigned,
    /// No object can have its key.
    BadKey,
    Signature(SignatureError),
}

/// Why a presigned dev URL's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the URL has expired")]
    Expired,
    #[error("the signature does not match the method, key and Content-Type")]
    Invalid,
}

/// The signature of a presigned dev request: hex HMAC-SHA256 over
/// `method \n key \n content_type \n expires` (keys and header values hold no newline).
pub fn sign(secret: &[u8], method: &str, key: &str, content_type: &str, expires: u64) -> String {
    hex::encode(
        mac(secret, method, key, content_type, expires)
            .finalize()
            .into_bytes(),
    )
}

fn mac(secret: &[u8], method: &str, key: &str, content_type: &str, expires: u64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{method}\n{key}\n{content_type}\n{expires}").as_bytes());
    mac
}

/// Checks a presigned dev request at `now` (seconds since the epoch), comparing the signature
/// in constant time.
pub fn verify(
    secret: &[u8],
    method: &str,
    key: &str,
    content_type: &str,
    expires: u64,
    signature: &str,
    now: u64,
) -> Result<(), SignatureError> {
    let given = hex::decode(signature).map_err(|_| SignatureError::Invalid)?;
    mac(secret, method, key, content_type, expires)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Invalid)?;
    // Checked after the signature, so an altered expiry is reported as tampering.
    if now >= expires {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

fn unix_seconds(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.now().timestamp()).unwrap_or(0)
}

fn rejected(message: impl Into<String>) -> AdapterError {
    AdapterError::Rejected {
        provider: PROVIDER,
        status: 400,
        message: message.into(),
    }
}

fn io_failed(error: std::io::Error) -> AdapterError {
    AdapterError::Unavailable {
        provider: PROVIDER,
        message: error.to_string(),
    }
}

/// Keys become paths, so only what Bazaar generates is accepted: `/`-separated segments of
/// ASCII letters, digits, `-` and `_`. No `.`, so no traversal and no clash with metadata.
fn check_key(key: &str) -> Result<(), AdapterError> {
    let fine = !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if fine {
        Ok(())
    } else {
        Err(rejected(format!("{key:?} is not a key this store accepts")))
    }
}

fn check_expires(expires: Duration) -> Result<(), AdapterError> {
    if expires < Duration::from_secs(1) || expires > MAX_EXPIRES {
        return Err(rejected(format!(
            "a presigned URL must be valid for 1 s to 7 days, not {expires:?}"
        )));
    }
    Ok(())
}

impl LocalObjectStore {
    /// A store in `dir` (created on first upload) whose URLs start with `base_url`, the dev
    /// server's own origin, accepting uploads of at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, base_url: &str, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: SigningKey(rand::random()),
            max_bytes,
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Checks a presigned URL's `expires` and `signature` for `method` on `key`.
    pub fn check(
        &self,
        method: &str,
        key: &str,
        content_type: &str,
        expires: Option<u64>,
        signature: Option<&str>,
    ) -> Result<(), Refusal> {
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Err(Refusal::Unsigned);
        };
        check_key(key).map_err(|_| Refusal::BadKey)?;
        verify(
            &self.key.0,
            method,
            key,
            content_type,
            expires,
            signature,
            unix_seconds(&*self.clock),
        )
        .map_err(Refusal::Signature)
    }

    /// Whether an object is stored under `key` (which [`Self::check`] accepted).
    pub async fn exists(&self, key: &str) -> bool {
        matches!(tokio::fs::try_exists(self.object_path(key)).await, Ok(true))
    }

    /// The object under `key` and its type, if there is one.
    pub async fn read(&self, key: &str) -> std::io::Result<(Vec<u8>, String)> {
        let bytes = tokio::fs::read(self.object_path(key)).await?;
        let content_type = tokio::fs::read_to_string(self.type_path(key))
            .await
            .unwrap_or_else(|_| "application/octet-stream".to_owned());
        Ok((bytes, content_type))
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn type_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}{CONTENT_TYPE_SUFFIX}"))
    }

    fn presign(
        &self,
        method: &'static str,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        check_key(key)?;
        check_expires(expires)?;
        let expires_at = unix_seconds(&*self.clock) + expires.as_secs();
        let signature = sign(&self.key.0, method, key, content_type, expires_at);
        let headers = if method == "PUT" {
            bazaar_adapters::s3::upload_headers(content_type)
        } else {
            Vec::new()
        };
        Ok(PresignedRequest {
            method,
            url: format!(
                "{}{ROUTE_PREFIX}/{key}?expires={expires_at}&signature={signature}",
                self.base_url
            ),
            headers,
            expires_at: UNIX_EPOCH + Duration::from_secs(expires_at),
        })
    }

    /// Creates the object; `AlreadyExists` (and nothing changed) if there is one.
    pub async fn write(&self, key: &str, content_type: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.object_path(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Written aside and then linked into place, so a reader never sees half an object,
        // and linking fails on an existing name, so an object is never replaced. The type goes
        // first: it is the same for every upload URL of a key (the key names one file).
        let partial = self
            .dir
            .join(format!("{key}.partial-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&partial, bytes).await?;
        let created = match tokio::fs::try_exists(&path).await {
            Ok(true) => Err(std::io::ErrorKind::AlreadyExists.into()),
            _ => match tokio::fs::write(self.type_path(key), content_type).await {
                Ok(()) => tokio::fs::hard_link(&partial, &path).await,
                Err(e) => Err(e),
            },
        };
        let _ = tokio::fs::remove_file(&partial).await;
        created
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        bazaar_adapters::s3::check_content_type(content_type)?;
        self.presign("PUT", key, content_type, expires)
    }

    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedRequest, AdapterError> {
        self.presign("GET", key, "", expires)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, AdapterError> {
        check_key(key)?;
        let metadata = match tokio::fs::metadata(self.object_path(key)).await {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_failed(e)),
        };
        let content_type = tokio::fs::read_to_string(self.type_path(key)).await.ok();
        Ok(Some(ObjectInfo {
            size: metadata.len(),
            content_type,
            etag: None,
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), AdapterError> {
        check_key(key)?;
        for path in [self.object_path(key), self.type_path(key)] {
            match tokio::fs::remove_file(path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_failed(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a test key of no particular length";

    #[test]
    fn a_signature_verifies_until_it_expires() {
        let sig = sign(SECRET, "PUT", "uploads/a/b", "image/png", 1000);
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/b", "image/png", 1000, &sig, 999),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/b", "image/png", 1000, &sig, 1000),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let sig = sign(SECRET, "PUT", "uploads/a/b", "image/png", 1000);
        let invalid = Err(SignatureError::Invalid);
        assert_eq!(
            verify(SECRET, "GET", "uploads/a/b", "image/png", 1000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/c", "image/png", 1000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/b", "image/gif", 1000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/b", "image/png", 9999, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(
                b"another key",
                "PUT",
                "uploads/a/b",
                "image/png",
                1000,
                &sig,
                0
            ),
            invalid
        );
        assert_eq!(
            verify(SECRET, "PUT", "uploads/a/b", "image/png", 1000, "zz", 0),
            invalid
        );
    }

    #[test]
    fn keys_that_could_leave_the_directory_are_refused() {
        for bad in ["", "../etc", "uploads/../x", "a//b", "a/.b", "a b", "/abs"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_key("uploads/6650c0ffee/6650c0ffee").is_ok());
    }

    #[tokio::test]
    async fn objects_round_trip_through_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(dir.path(), "http://127.0.0.1:1", 100);
        assert_eq!(store.head("uploads/a/b").await.unwrap(), None);
        store
            .write("uploads/a/b", "image/png", b"12345")
            .await
            .unwrap();
        let info = store.head("uploads/a/b").await.unwrap().unwrap();
        assert_eq!(
            (info.size, info.content_type.as_deref()),
            (5, Some("image/png"))
        );
        store.delete("uploads/a/b").await.unwrap();
        store.delete("uploads/a/b").await.unwrap();
        assert_eq!(store.head("uploads/a/b").await.unwrap(), None);
        let put = store
            .presign_put("uploads/a/b", "image/png", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(put
            .url
            .starts_with("http://127.0.0.1:1/dev/uploads/uploads/a/b?expires="));
        assert_eq!(
            put.headers,
            [
                ("Content-Type".to_owned(), "image/png".to_owned()),
                ("If-None-Match".to_owned(), "*".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn an_object_is_created_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(dir.path(), "http://127.0.0.1:1", 100);
        store
            .write("uploads/a/b", "image/png", b"first")
            .await
            .unwrap();
        let again = store.write("uploads/a/b", "image/png", b"second!").await;
        assert_eq!(
            again.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AlreadyExists)
        );
        let info = store.head("uploads/a/b").await.unwrap().unwrap();
        assert_eq!(info.size, 5);
        // Nothing is left aside: only the object and its type.
        assert_eq!(
            std::fs::read_dir(dir.path().join("uploads/a"))
                .unwrap()
                .count(),
            2
        );
    }
}
