//! Waiting for replicas: Redis replicates asynchronously, so a write the
//! primary acknowledged can be lost when the primary dies before a replica has
//! it and that replica is promoted. For the records whose loss a client would
//! feel (a revoked session coming back, an idempotent request running twice),
//! the store can follow each write with `WAIT <replicas> <timeout>`, which
//! returns once that many replicas hold everything the connection wrote.
//!
//! `WAIT` blocks the connection it runs on, and Bazaar multiplexes one
//! connection per node: a replica that is gone would stall every command to
//! that node for the timeout, on every waited write. So a wait that comes back
//! short (the replica is gone, or slower than the timeout) is logged and the
//! write counts as done (it is on the primary, as without waiting), and waits
//! pause for [`PAUSE_AFTER_SHORT`] before the next try. While a replica is
//! missing there is nothing to fail over to anyway.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long waits pause after one came back short.
pub const PAUSE_AFTER_SHORT: Duration = Duration::from_secs(5);

/// How many replicas must hold a waited write, and for how long to wait.
#[derive(Debug)]
pub struct ReplicaAcks {
    replicas: u32,
    timeout: Duration,
    /// Until when waits are skipped, after one came back short.
    paused_until: Mutex<Option<Instant>>,
}

impl ReplicaAcks {
    /// `None` for zero replicas: nothing to wait for.
    pub fn new(replicas: u32, timeout: Duration) -> Option<Self> {
        (replicas > 0).then(|| Self {
            replicas,
            timeout,
            paused_until: Mutex::new(None),
        })
    }

    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// The `WAIT` timeout in milliseconds (at least 1: 0 would wait forever).
    pub fn timeout_ms(&self) -> u64 {
        self.timeout.as_millis().clamp(1, u128::from(u64::MAX)) as u64
    }

    /// Whether the next write should wait, at `now`.
    pub fn should_wait(&self, now: Instant) -> bool {
        self.paused_until.lock().is_none_or(|until| now >= until)
    }

    /// Records what a wait returned at `now`: `acked` replicas hold the write.
    /// True if that was enough; otherwise waits pause.
    pub fn record(&self, acked: i64, now: Instant) -> bool {
        if acked >= i64::from(self.replicas) {
            return true;
        }
        *self.paused_until.lock() = Some(now + PAUSE_AFTER_SHORT);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_replicas_means_no_waiting() {
        assert!(ReplicaAcks::new(0, Duration::from_millis(100)).is_none());
    }

    #[test]
    fn a_short_wait_pauses_waiting_for_a_while() {
        let acks = ReplicaAcks::new(1, Duration::from_millis(100)).unwrap();
        let now = Instant::now();
        assert!(acks.should_wait(now));
        assert!(acks.record(1, now));
        assert!(acks.should_wait(now), "enough acks: keep waiting");

        assert!(!acks.record(0, now));
        assert!(!acks.should_wait(now + Duration::from_secs(1)));
        assert!(acks.should_wait(now + PAUSE_AFTER_SHORT));
    }

    #[test]
    fn the_timeout_is_never_zero_which_would_wait_forever() {
        let acks = ReplicaAcks::new(1, Duration::ZERO).unwrap();
        assert_eq!(acks.timeout_ms(), 1);
    }
}
