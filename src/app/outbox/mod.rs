//! The outbox: notices to customers are written to the outbox in the same write as the state
//! change that causes them, and delivered afterwards by a [`worker::OutboxWorker`] in every
//! replica. This module holds the worker's port to the providers ([`Deliver`])
//! and the admin's use cases (list, retry). See `docs/outbox.md`.

pub mod worker;

use std::sync::Arc;

use bazaar_adapters::error::AdapterError;

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::outbox::{OutboxId, OutboxMessage};
use crate::domain::outbox_query::{OutboxPage, OutboxQuery, RawOutboxQuery};
use crate::domain::time::{SharedClock, SystemClock};
use crate::store::{OutboxRepository, StoreError};

pub use worker::OutboxWorker;

/// Sends one notice through the provider of its channel.
#[async_trait::async_trait]
pub trait Deliver: Send + Sync {
    /// Returns the provider's id of the sent message. Errors never hold a secret.
    async fn deliver(&self, message: &OutboxMessage) -> Result<String, AdapterError>;
}

/// The admin's view of the outbox.
pub struct Outbox {
    repo: Arc<dyn OutboxRepository>,
    clock: SharedClock,
}

impl Outbox {
    pub fn new(repo: Arc<dyn OutboxRepository>) -> Self {
        Self {
            repo,
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// Messages newest first, of one state or all.
    pub async fn list(&self, raw: &RawOutboxQuery) -> Result<(OutboxQuery, OutboxPage), AppError> {
        let query = OutboxQuery::parse(raw)?;
        let page = self.repo.list(&query).await?;
        Ok((query, page))
    }

    /// Sends a dead message again: it is pending and due now, with all its attempts ahead.
    pub async fn retry(&self, id: &str) -> Result<OutboxMessage, AppError> {
        let id = OutboxId::parse(id).map_err(|why| AppError::invalid_parameter("id", why))?;
        match self.repo.retry(&id, self.clock.now()).await {
            Ok(message) => Ok(message),
            Err(StoreError::NotFound) => Err(AppError::not_found("outbox message")),
            Err(StoreError::VersionConflict) => Err(AppError::new(
                ErrorCode::Conflict,
                "only a dead message can be retried; this one is pending or delivered",
            )),
            Err(other) => Err(other.into()),
        }
    }
}
