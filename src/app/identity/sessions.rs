//! Sessions with rotating refresh tokens, kept in the key-value store (Redis in
//! production) so every replica sees a logout at once.
//!
//! A refresh token is `<session id>.<256 random bits>`; only its SHA-256 is
//! stored. Each use swaps it for a new one (compare-and-swap, so two concurrent
//! refreshes cannot both win). Presenting a token that was already swapped out
//! means it was copied: the whole session is revoked.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kv::{KeyValueStore, KvError};

/// How many earlier refresh tokens a session remembers, to spot reuse.
const REMEMBERED: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    refresh_hash: String,
    previous_hashes: Vec<String>,
    pub device: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

#[derive(Debug)]
pub enum RefreshError {
    /// Unknown, malformed, or from a session that no longer exists.
    Invalid,
    /// An already-rotated token: the session has been revoked.
    Reused(Session),
    Store(KvError),
}

impl From<KvError> for RefreshError {
    fn from(e: KvError) -> Self {
        Self::Store(e)
    }
}

pub struct Sessions {
    kv: Arc<dyn KeyValueStore>,
    ttl: Duration,
}

fn session_key(id: &str) -> String {
    format!("session:{id}")
}

fn user_key(user_id: &str) -> String {
    format!("user_sessions:{user_id}")
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    /// Sessions are kept on the store's replicated view: a session lost in a
    /// Redis failover signs its user out, and a lost revocation would bring a
    /// revoked session back.
    pub fn new(kv: Arc<dyn KeyValueStore>, ttl: Duration) -> Self {
        Self {
            kv: kv.replicated(),
            ttl,
        }
    }

    fn encode(session: &Session) -> Vec<u8> {
        serde_json::to_vec(session).unwrap_or_default()
    }

    /// Starts a session; returns it and its first refresh token.
    pub async fn create(
        &self,
        user_id: &str,
        device: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(Session, String), KvError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let token = format!("{id}.{}", new_secret());
        let session = Session {
            id: id.clone(),
            user_id: user_id.to_owned(),
            refresh_hash: digest(&token),
            previous_hashes: Vec::new(),
            device: device.chars().take(200).collect(),
            ip: ip.to_owned(),
            created_at: now,
            last_used_at: now,
        };
        self.kv
            .set(&session_key(&id), &Self::encode(&session), Some(self.ttl))
            .await?;
        self.kv
            .add_to_set(&user_key(user_id), &id, self.ttl)
            .await?;
        Ok((session, token))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Session>, KvError> {
        Ok(self
            .kv
            .get(&session_key(id))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Swaps `token` for a new one.
    pub async fn rotate(
        &self,
        token: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(Session, String), RefreshError> {
        let (id, _) = token.split_once('.').ok_or(RefreshError::Invalid)?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RefreshError::Invalid);
        }
        let key = session_key(id);
        let raw = self.kv.get(&key).await?.ok_or(RefreshError::Invalid)?;
        let current: Session = serde_json::from_slice(&raw).map_err(|_| RefreshError::Invalid)?;
        let presented = digest(token);
        if current.refresh_hash != presented {
            if current.previous_hashes.contains(&presented) {
                self.revoke(&current).await?;
                return Err(RefreshError::Reused(current));
            }
            return Err(RefreshError::Invalid);
        }
        let next_token = format!("{id}.{}", new_secret());
        let mut next = current.clone();
        next.previous_hashes.insert(0, current.refresh_hash.clone());
        next.previous_hashes.truncate(REMEMBERED);
        next.refresh_hash = digest(&next_token);
        next.last_used_at = now;
        next.ip = ip.to_owned();
        let swapped = self
            .kv
            .compare_and_swap(&key, Some(&raw), Some(&Self::encode(&next)), Some(self.ttl))
            .await?;
        if !swapped {
            // Someone rotated this token between our read and write: the same
            // token was used twice.
            if let Some(now_stored) = self.get(id).await? {
                self.revoke(&now_stored).await?;
            }
            return Err(RefreshError::Reused(current));
        }
        self.kv
            .add_to_set(&user_key(&next.user_id), id, self.ttl)
            .await?;
        Ok((next, next_token))
    }

    pub async fn revoke(&self, session: &Session) -> Result<(), KvError> {
        self.kv.delete(&session_key(&session.id)).await?;
        self.kv
            .remove_from_set(&user_key(&session.user_id), &session.id)
            .await?;
        Ok(())
    }

    /// The user's live sessions, most recently used first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<Session>, KvError> {
        let mut sessions = Vec::new();
        for id in self.kv.set_members(&user_key(user_id)).await? {
            match self.get(&id).await? {
                Some(s) => sessions.push(s),
                // Expired on its own: tidy the index.
                None => {
                    self.kv.remove_from_set(&user_key(user_id), &id).await?;
                }
            }
        }
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_used_at));
        Ok(sessions)
    }

    /// Revokes every session of the user; returns how many there were.
    pub async fn revoke_all(&self, user_id: &str) -> Result<usize, KvError> {
        let sessions = self.list(user_id).await?;
        for s in &sessions {
            self.revoke(s).await?;
        }
        Ok(sessions.len())
    }
}
