//! The delivery worker: every replica runs one. It claims due messages under a lease, sends
//! each through [`Deliver`], and records the outcome: delivered, retried later with backoff,
//! or dead once the attempts run out. Claims are atomic, so replicas never work on one
//! message at the same time; outcomes are recorded only while the lease is still the
//! worker's, so a worker that took too long cannot overwrite its successor's.
//!
//! Each address gets at most `cap_per_hour` notices an hour (counted in the key-value
//! store, so across replicas); the rest are skipped. Whatever loop a customer finds that
//! makes notices (placing and cancelling orders), it cannot turn Bazaar into an SMS cannon
//! or run up its provider bill.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use sha2::{Digest, Sha256};
use tracing::Instrument as _;

use super::Deliver;
use crate::config::OutboxSettings;
use crate::domain::outbox::{NextAttempt, OutboxMessage};
use crate::domain::time::{SharedClock, SystemClock};
use crate::kv::KeyValueStore;
use crate::store::{OutboxRepository, StoreError};

/// The longest provider explanation kept as `last_error`.
const ERROR_MAX_CHARS: usize = 500;

pub struct OutboxWorker {
    repo: Arc<dyn OutboxRepository>,
    deliver: Arc<dyn Deliver>,
    owner: String,
    settings: OutboxSettings,
    /// Where each address's notices of the hour are counted; `None`: no cap.
    counters: Option<Arc<dyn KeyValueStore>>,
    /// What [`run`](Self::run) takes the time from.
    clock: SharedClock,
}

impl OutboxWorker {
    /// A worker with an owner name unique to this process.
    pub fn new(
        repo: Arc<dyn OutboxRepository>,
        deliver: Arc<dyn Deliver>,
        settings: OutboxSettings,
    ) -> Self {
        Self {
            repo,
            deliver,
            owner: unique_owner(),
            settings,
            counters: None,
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// The same worker, capping notices per address at `cap_per_hour` with counters in `kv`
    /// (shared by every replica's worker).
    pub fn counting_on(self, kv: Arc<dyn KeyValueStore>) -> Self {
        Self {
            counters: Some(kv),
            ..self
        }
    }

    /// The same worker under another owner name (which must be unique among workers).
    pub fn with_owner(self, owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            ..self
        }
    }

    /// The name its leases carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Delivers due messages until `shutdown` completes. A batch under way is finished first
    /// (its messages are already claimed; abandoning them would delay them by a lease); no
    /// new batch is claimed after that.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tracing::info!(owner = %self.owner, "outbox worker started");
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if (&mut shutdown).now_or_never().is_some() {
                break;
            }
            let idle = match self.run_once(self.clock.now()).await {
                Ok(claimed) => claimed == 0,
                Err(error) => {
                    tracing::warn!(error = %error, "outbox: could not claim messages; trying again after the poll interval");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
        tracing::info!(owner = %self.owner, "outbox worker stopped");
    }

    /// One round at `now`: claims a batch of due messages and delivers them concurrently,
    /// each to its outcome. Answers how many it claimed. [`run`](Self::run) calls this in a
    /// loop; tests call it with the time they want.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let batch = self
            .repo
            .claim(
                &self.owner,
                now,
                self.settings.lease,
                self.settings.batch_size,
            )
            .await?;
        let started = Instant::now();
        futures::future::join_all(batch.iter().map(|message| {
            let span = tracing::info_span!(
                "outbox.deliver",
                outbox_id = %message.id,
                kind = message.kind.as_str(),
                channel = message.channel().as_str(),
                attempt = message.attempts,
            );
            self.attempt(message, now, started).instrument(span)
        }))
        .await;
        Ok(batch.len())
    }

    async fn attempt(&self, message: &OutboxMessage, now: DateTime<Utc>, started: Instant) {
        let schedule = self.settings.schedule;
        // Claimed more often than allowed: earlier workers stopped while holding it, and
        // whatever it is doing to them should not go on.
        if message.attempts > schedule.max_attempts {
            let why =
                "given up: the worker of its last attempt stopped before recording an outcome";
            let recorded = self
                .repo
                .mark_failed(&message.id, &self.owner, why, NextAttempt::Never)
                .await;
            self.log_outcome(recorded, "dead without another attempt");
            return;
        }
        if let Some(why) = self.over_cap(message).await {
            let recorded = self.repo.mark_skipped(&message.id, &self.owner, &why).await;
            self.log_outcome(
                recorded,
                "skipped: its address had its notices for the hour",
            );
            return;
        }
        let result = self.deliver.deliver(message).await;
        // The outcome's time: the round's, moved on by how long delivery took.
        let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
        match result {
            Ok(provider_id) => {
                let recorded = self
                    .repo
                    .mark_delivered(&message.id, &self.owner, &provider_id, at)
                    .await;
                self.log_outcome(recorded, "delivered");
            }
            Err(error) => {
                let next = schedule.after_failure(message.attempts, at, rand::random());
                let why = truncate(
                    &without_address(&error.to_string(), message.recipient.address()),
                    ERROR_MAX_CHARS,
                );
                let recorded = self
                    .repo
                    .mark_failed(&message.id, &self.owner, &why, next)
                    .await;
                let outcome = match next {
                    NextAttempt::At(_) => "failed; will retry",
                    NextAttempt::Never => "failed for the last time; dead",
                };
                tracing::warn!(error = %why, "outbox: delivery attempt failed");
                self.log_outcome(recorded, outcome);
            }
        }
    }

    /// Counts a message's first attempt against its address's hourly cap, and answers why
    /// it must not be sent if the cap is used up. Retries are not counted again: the address
    /// got nothing from the failed attempt. If the counter cannot be reached the notice is
    /// sent uncounted: an outage of the key-value store must not silence order notices.
    async fn over_cap(&self, message: &OutboxMessage) -> Option<String> {
        let kv = self.counters.as_ref()?;
        let cap = self.settings.cap_per_hour;
        if cap == 0 || message.attempts != 1 {
            return None;
        }
        // Hashed: the key-value store needs no list of customers' phones and emails.
        let address = Sha256::digest(message.recipient.address().as_bytes());
        let key = format!("notice_cap:{}", hex::encode(address));
        match kv.increment(&key, 1, Duration::from_secs(3600)).await {
            Ok(counter) if counter.value > i64::from(cap) => Some(format!(
                "not sent: this address already had {cap} notices this hour"
            )),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(error = %error, "outbox: could not count a notice against its address's hourly cap; sending it uncounted");
                None
            }
        }
    }

    fn log_outcome(&self, recorded: Result<bool, StoreError>, outcome: &str) {
        match recorded {
            Ok(true) => tracing::info!(outcome, "outbox: message processed"),
            Ok(false) => tracing::warn!(
                outcome,
                "outbox: the lease ran out and another worker took the message; its outcome stands"
            ),
            Err(error) => tracing::warn!(
                outcome,
                error = %error,
                "outbox: could not record the outcome; the message is tried again when the lease runs out"
            ),
        }
    }
}

/// `text` without the recipient's address, in either of the forms a provider
/// may echo it (MSG91 writes numbers without the `+`): it goes to logs and to
/// `last_error`, which admins read.
pub(crate) fn without_address(text: &str, address: &str) -> String {
    let bare = address.trim_start_matches('+');
    text.replace(address, "[recipient]")
        .replace(bare, "[recipient]")
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `host-pid-random`: readable in the admin view, and unique even for two processes that
/// share a host name and a pid (containers).
fn unique_owner() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "bazaar".to_owned());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("₹₹₹₹", 2), "₹₹…");
    }

    #[test]
    fn owners_differ_between_workers_of_one_process() {
        assert_ne!(unique_owner(), unique_owner());
    }

    #[test]
    fn a_providers_error_loses_the_recipients_address() {
        assert_eq!(
            without_address("Invalid mobile 919812345678", "+919812345678"),
            "Invalid mobile [recipient]"
        );
        assert_eq!(
            without_address("bounced: asha@example.in", "asha@example.in"),
            "bounced: [recipient]"
        );
    }
}
