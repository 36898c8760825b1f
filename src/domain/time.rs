//! Time as Bazaar's rules read it: one [`Clock`] port that the use cases (and
//! every expiry, cooldown, lockout, session and sweep they judge) take, so that
//! a test can make an hour pass in a millisecond.
//!
//! Production runs on [`SystemClock`]. Tests run on a [`ManualClock`]: the
//! system time plus an offset that only [`ManualClock::advance`] moves. It keeps
//! running rather than standing still because the key-value store judges its
//! own TTLs (Redis cannot be stopped): both see real time pass, and a test moves
//! both forward together (`KeyValueStore::fast_forward`, `TestApp::advance`), so
//! the app and the store never disagree about what has expired.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// `t` to the millisecond: what MongoDB's dates keep, so an instant read back
/// equals the one written on every backend.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Where the current time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// A shared clock, as the use cases hold it.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(Self)
    }
}

/// The system time plus an offset that only [`advance`](Self::advance) moves.
/// Clones share the offset, so a test keeps one and hands another to the app.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    /// Milliseconds added to the system time.
    offset_ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// Reads the system time until advanced.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `by` pass at once.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// How far ahead of the system time this clock is.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst).max(0) as u64)
    }

    /// This clock (sharing its offset) as a [`SharedClock`].
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_manual_clock_moves_every_clone_and_nothing_else() {
        let clock = ManualClock::new();
        let app = clock.shared();
        let before = app.now();
        clock.advance(Duration::from_secs(3600));
        let after = app.now();
        assert!(after - before >= chrono::Duration::seconds(3600));
        assert!(
            after - before < chrono::Duration::seconds(3660),
            "{before} {after}"
        );
        assert!(SystemClock.now() < after - chrono::Duration::seconds(3000));
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
