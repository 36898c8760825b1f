//! The outbox in memory.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::paginate;
use crate::domain::outbox::{NextAttempt, OutboxId, OutboxMessage, OutboxState};
use crate::domain::outbox_query::{OutboxPage, OutboxQuery};
use crate::store::{OutboxRepository, StoreError};

#[derive(Default)]
pub struct MemoryOutbox {
    inner: Mutex<Messages>,
}

#[derive(Default)]
struct Messages {
    by_id: HashMap<OutboxId, OutboxMessage>,
    keys: HashSet<String>,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`OutboxRepository::enqueue`] without an `await`, so that an in-memory store can call it
    /// while holding its own lock and make its change and the messages visible together.
    /// Takes only this outbox's lock, and the outbox never takes another store's, so the
    /// order of locks is always *that store, then the outbox*.
    pub fn enqueue_now(&self, messages: &[OutboxMessage]) -> usize {
        let mut inner = self.inner.lock();
        let mut added = 0;
        for message in messages {
            if inner.keys.insert(message.dedupe_key.clone()) {
                inner.by_id.insert(message.id.clone(), message.clone());
                added += 1;
            }
        }
        added
    }

    /// Applies `change` to the message if `owner` holds its lease.
    fn update_leased(
        &self,
        id: &OutboxId,
        owner: &str,
        change: impl FnOnce(&OutboxMessage) -> OutboxMessage,
    ) -> bool {
        let mut inner = self.inner.lock();
        match inner.by_id.get_mut(id) {
            Some(message) if message.is_leased_to(owner) => {
                *message = change(message);
                true
            }
            _ => false,
        }
    }
}

#[async_trait]
impl OutboxRepository for MemoryOutbox {
    async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<usize, StoreError> {
        Ok(self.enqueue_now(messages))
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut inner = self.inner.lock();
        let mut due: Vec<&mut OutboxMessage> = inner
            .by_id
            .values_mut()
            .filter(|m| m.is_claimable(now))
            .collect();
        due.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|message| {
                *message = message.claimed(owner, now, lease);
                message.clone()
            })
            .collect())
    }

    async fn mark_delivered(
        &self,
        id: &OutboxId,
        owner: &str,
        provider_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.update_leased(id, owner, |m| m.delivered(provider_id, now)))
    }

    async fn mark_failed(
        &self,
        id: &OutboxId,
        owner: &str,
        error: &str,
        next: NextAttempt,
    ) -> Result<bool, StoreError> {
        Ok(self.update_leased(id, owner, |m| m.failed(error, next)))
    }

    async fn mark_skipped(
        &self,
        id: &OutboxId,
        owner: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.update_leased(id, owner, |m| m.skipped(why)))
    }

    async fn get(&self, id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(self.inner.lock().by_id.get(id).cloned())
    }

    async fn list(&self, query: &OutboxQuery) -> Result<OutboxPage, StoreError> {
        let inner = self.inner.lock();
        let mut matching: Vec<&OutboxMessage> =
            inner.by_id.values().filter(|m| query.matches(m)).collect();
        matching.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(paginate(
            matching,
            &query.pagination,
            query.limit,
            true,
            |m| (OutboxQuery::sort_value(m), m.id.to_string()),
        ))
    }

    async fn retry(&self, id: &OutboxId, now: DateTime<Utc>) -> Result<OutboxMessage, StoreError> {
        let mut inner = self.inner.lock();
        let message = inner.by_id.get_mut(id).ok_or(StoreError::NotFound)?;
        if message.state != OutboxState::Dead {
            return Err(StoreError::VersionConflict);
        }
        *message = message.revived(now);
        Ok(message.clone())
    }

    async fn forget_recipient(&self, address: &str) -> Result<u64, StoreError> {
        let mut inner = self.inner.lock();
        let mut forgotten = 0;
        for message in inner.by_id.values_mut() {
            if message.recipient.address() == address {
                *message = message.forgotten();
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
