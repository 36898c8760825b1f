//! Idempotency records: the first answer to a request sent with an
//! `Idempotency-Key`, kept so that the same request with the same key is
//! answered from it instead of running again.
//!
//! Everything lives on the key-value port and uses only its atomic steps, so
//! replicas sharing a Redis agree on who runs a request: [`IdempotencyStore::begin`]
//! claims the key with `set_if_absent` (an *in-flight* record), and
//! [`IdempotencyStore::complete`] or [`IdempotencyStore::abandon`] replace or
//! remove that record only if it is still the one this request wrote
//! (`compare_and_swap`). Nothing here knows HTTP beyond the parts of an answer
//! worth replaying; `http::idempotency` decides what to keep. See
//! `docs/idempotency.md`.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::request_key::RequestKey;
use crate::kv::{KeyValueStore, KvError};

/// A client's idempotency key: 1–255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// What a valid key looks like, for error messages.
    pub const SYNTAX: &'static str =
        "must be 1 to 255 printable ASCII characters, e.g. a random UUID";

    /// The longest key taken.
    pub const MAX_LEN: usize = 255;

    /// The key, if `raw` is 1–255 printable ASCII characters.
    pub fn parse(raw: &str) -> Option<Self> {
        let printable = raw.bytes().all(|b| (b' '..=b'~').contains(&b));
        (!raw.is_empty() && raw.len() <= Self::MAX_LEN && printable).then(|| Self(raw.to_owned()))
    }
}

/// Whose keys these are and for which operation. Keys of two scopes never
/// meet: two users, or one user's order and refund, may use the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// A signed-in user's keys for `operation` (an operationId).
    pub fn user(sub: &str, operation: &str) -> Self {
        Self(format!("user:{sub}:{operation}"))
    }

    /// The keys of callers without a verified token, shared by all of them:
    /// only a key nobody else can guess (a random UUID) keeps such a request
    /// apart from a stranger's.
    pub fn anonymous(operation: &str) -> Self {
        Self(format!("anon:{operation}"))
    }

    /// The retry identity of the request sent with `key` in this scope, which
    /// an operation stores with its change (see [`RequestKey`]).
    pub fn request_key(&self, key: &IdempotencyKey, fingerprint: &Fingerprint) -> RequestKey {
        let mut hash = Sha256::new();
        // Neither a scope nor a key contains a newline.
        hash.update(self.0.as_bytes());
        hash.update(b"\n");
        hash.update(key.0.as_bytes());
        RequestKey {
            id: hex::encode(hash.finalize()),
            fingerprint: fingerprint.0.clone(),
        }
    }
}

/// The answer to a key sent with a different request than its first.
pub fn key_reused() -> AppError {
    AppError::new(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used for a different request; \
         send a new key with a new request",
    )
}

/// What identifies "the same request": SHA-256 over the method, the path with
/// its query, and the body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(method: &str, path_and_query: &str, body: &[u8]) -> Self {
        let mut hash = Sha256::new();
        // Neither a method nor a request target contains a newline, so the
        // three parts cannot run into each other.
        hash.update(method.as_bytes());
        hash.update(b"\n");
        hash.update(path_and_query.as_bytes());
        hash.update(b"\n");
        hash.update(body);
        Self(hex::encode(hash.finalize()))
    }
}

/// The parts of an answer that a replay repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

/// What [`IdempotencyStore::begin`] found for a key.
#[derive(Debug)]
pub enum Begin {
    /// The key is new (or its earlier request left nothing): run the request,
    /// then [`complete`](IdempotencyStore::complete) or
    /// [`abandon`](IdempotencyStore::abandon) the ticket.
    Proceed(Ticket),
    /// The same request already finished: answer this.
    Replay(StoredResponse),
    /// The key belongs to a different request.
    Mismatch,
    /// The same request is running right now.
    InFlight,
}

/// The right to finish one key's record; proves which in-flight record is ours.
#[derive(Debug)]
#[must_use = "complete or abandon the ticket; otherwise the key stays in flight until it expires"]
pub struct Ticket {
    kv_key: String,
    fingerprint: Fingerprint,
    in_flight: Vec<u8>,
}

/// How long records live.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencySettings {
    /// How long a finished answer is replayed.
    pub ttl: Duration,
    /// How long a key stays claimed by a request that never finishes (a crash,
    /// a timeout). Longer than the request timeout, so a duplicate can never
    /// start while the first is still allowed to run.
    pub in_flight_ttl: Duration,
}

/// The stored form of a key's state.
#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Record {
    InFlight {
        fingerprint: String,
        // Random, so that two requests that held the key one after the other
        // (the first one's record having expired) write different records, and
        // compare-and-swap tells them apart.
        owner: String,
    },
    Complete {
        fingerprint: String,
        status: u16,
        content_type: Option<String>,
        location: Option<String>,
        etag: Option<String>,
        /// Base64 of the body.
        body: String,
    },
}

impl Record {
    fn fingerprint(&self) -> &str {
        match self {
            Self::InFlight { fingerprint, .. } | Self::Complete { fingerprint, .. } => fingerprint,
        }
    }
}

fn encode(record: &Record) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(record).map_err(|e| KvError::Other(e.into()))
}

/// Where the record of `key` in `scope` lives on the key-value port.
pub fn record_key(scope: &Scope, key: &IdempotencyKey) -> String {
    format!("idem:{}:{}", scope.0, key.0)
}

/// How often `begin` tries again when a key's record vanishes between the
/// claim that failed and the read (its request abandoned it just then).
const CLAIM_ATTEMPTS: usize = 3;

/// Idempotency records on the key-value port, under `idem:{scope}:{key}`.
pub struct IdempotencyStore {
    kv: Arc<dyn KeyValueStore>,
    settings: IdempotencySettings,
}

impl IdempotencyStore {
    /// Records are kept on the store's replicated view: a record lost in a
    /// Redis failover lets a retry run its request a second time.
    pub fn new(kv: Arc<dyn KeyValueStore>, settings: IdempotencySettings) -> Self {
        Self {
            kv: kv.replicated(),
            settings,
        }
    }

    /// Claims `key` for a request with this fingerprint, or says why not.
    pub async fn begin(
        &self,
        scope: &Scope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
    ) -> Result<Begin, KvError> {
        let kv_key = record_key(scope, key);
        let in_flight = encode(&Record::InFlight {
            fingerprint: fingerprint.0.clone(),
            owner: hex::encode(rand::random::<[u8; 16]>()),
        })?;
        for _ in 0..CLAIM_ATTEMPTS {
            let claimed = self
                .kv
                .set_if_absent(&kv_key, &in_flight, self.settings.in_flight_ttl)
                .await?;
            if claimed {
                return Ok(Begin::Proceed(Ticket {
                    kv_key,
                    fingerprint: fingerprint.clone(),
                    in_flight,
                }));
            }
            let Some(bytes) = self.kv.get(&kv_key).await? else {
                continue;
            };
            let record: Record = serde_json::from_slice(&bytes).map_err(|e| {
                KvError::Other(anyhow::Error::new(e).context("unreadable idempotency record"))
            })?;
            if record.fingerprint() != fingerprint.0 {
                return Ok(Begin::Mismatch);
            }
            return match record {
                Record::InFlight { .. } => Ok(Begin::InFlight),
                Record::Complete {
                    status,
                    content_type,
                    location,
                    etag,
                    body,
                    ..
                } => Ok(Begin::Replay(StoredResponse {
                    status,
                    content_type,
                    location,
                    etag,
                    body: BASE64.decode(body).map_err(|e| KvError::Other(e.into()))?,
                })),
            };
        }
        // The key keeps changing hands: someone is working on it.
        Ok(Begin::InFlight)
    }

    /// Keeps `response` as the answer to the ticket's key for the configured
    /// time. False if the claim had expired (the request outlived its
    /// in-flight record), in which case nothing is stored.
    pub async fn complete(
        &self,
        ticket: Ticket,
        response: &StoredResponse,
    ) -> Result<bool, KvError> {
        self.swap_in(&ticket, response).await
    }

    /// [`complete`](Self::complete), except that an unavailable store does not
    /// lose the answer: the request ran, and if its key were freed unanswered
    /// a retry would run it a second time. The answer is kept in the background
    /// once the store is back, for as long as the claim can still be alive
    /// (`in_flight_ttl`); until then a repeat is told the key is in flight.
    /// The error is still reported, so the caller can log it.
    pub async fn keep(
        self: &Arc<Self>,
        ticket: Ticket,
        response: StoredResponse,
    ) -> Result<bool, KvError> {
        match self.swap_in(&ticket, &response).await {
            Err(KvError::Unavailable(e)) => {
                let store = self.clone();
                tokio::spawn(async move { store.keep_when_back(ticket, response).await });
                Err(KvError::Unavailable(e))
            }
            done => done,
        }
    }

    async fn keep_when_back(&self, ticket: Ticket, response: StoredResponse) {
        let deadline = tokio::time::Instant::now() + self.settings.in_flight_ttl;
        let mut pause = Duration::from_millis(100);
        while tokio::time::Instant::now() + pause < deadline {
            tokio::time::sleep(pause).await;
            match self.swap_in(&ticket, &response).await {
                Ok(true) => return,
                // No longer our claim: an earlier attempt that seemed to time out
                // landed, or the claim expired and a retry took the key.
                Ok(false) => {
                    tracing::info!(
                        "an idempotent answer's claim is no longer in flight; nothing to keep"
                    );
                    return;
                }
                Err(KvError::Unavailable(_)) => pause = (pause * 2).min(Duration::from_secs(2)),
                Err(e) => {
                    tracing::warn!(error = %e, "could not keep an idempotent answer");
                    return;
                }
            }
        }
        tracing::warn!("an idempotent answer could not be kept before its claim expired; a retry with its key runs the request again");
    }

    async fn swap_in(&self, ticket: &Ticket, response: &StoredResponse) -> Result<bool, KvError> {
        let record = encode(&Record::Complete {
            fingerprint: ticket.fingerprint.0.clone(),
            status: response.status,
            content_type: response.content_type.clone(),
            location: response.location.clone(),
            etag: response.etag.clone(),
            body: BASE64.encode(&response.body),
        })?;
        self.kv
            .compare_and_swap(
                &ticket.kv_key,
                Some(&ticket.in_flight),
                Some(&record),
                Some(self.settings.ttl),
            )
            .await
    }

    /// Releases the key without an answer, so the client may send the request
    /// again with it (after a failure worth retrying). False if the claim had
    /// already expired.
    pub async fn abandon(&self, ticket: Ticket) -> Result<bool, KvError> {
        self.kv
            .compare_and_swap(&ticket.kv_key, Some(&ticket.in_flight), None, None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert!(IdempotencyKey::parse("9b2f6c1e-0d6a-4f0c-8e1f-2a3b4c5d6e7f").is_some());
        assert!(IdempotencyKey::parse("order 42 / try:1").is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
        assert!(IdempotencyKey::parse("tab\there").is_none());
        assert!(IdempotencyKey::parse("café").is_none());
    }

    #[test]
    fn fingerprints_differ_in_method_target_and_body() {
        let base = Fingerprint::of("POST", "/a?x=1", b"{}");
        assert_eq!(base, Fingerprint::of("POST", "/a?x=1", b"{}"));
        assert_ne!(base, Fingerprint::of("PUT", "/a?x=1", b"{}"));
        assert_ne!(base, Fingerprint::of("POST", "/a?x=2", b"{}"));
        assert_ne!(base, Fingerprint::of("POST", "/a?x=1", b"{ }"));
    }
}
