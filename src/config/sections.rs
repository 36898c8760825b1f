//! Settings types that other modules are built from. They live here, beside the
//! parser that fills them, so that `config` needs nothing from the modules it configures.

use std::time::Duration;

use crate::domain::outbox::RetrySchedule;

/// When a breaker opens and for how long (`BAZAAR_BREAKER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive unavailable failures that open a breaker; 0 turns breakers off.
    pub failures: u32,
    /// How long an open breaker refuses calls before it lets one trial through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            open_for: Duration::from_millis(500),
        }
    }
}

/// The default hourly cap of notices to one address: ten paid orders' confirmation and
/// receipt, far above what one customer is owed in an hour, and far below what a loop of
/// orders could make Bazaar pay MSG91 for.
pub const DEFAULT_CAP_PER_HOUR: u32 = 20;

/// How a worker polls, leases, retries and caps (`BAZAAR_OUTBOX_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// The wait between looks for due messages when there were none.
    pub poll_interval: Duration,
    /// How long a claimed message is the worker's alone; longer than one delivery can take.
    pub lease: Duration,
    /// Messages claimed, and delivered concurrently, at a time.
    pub batch_size: u32,
    pub schedule: RetrySchedule,
    /// Notices one phone number or email address is sent per hour; later ones in the hour
    /// are skipped. 0: no cap. Counted in the key-value store given to
    /// [`OutboxWorker::counting_on`], so replicas share it.
    pub cap_per_hour: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            batch_size: 10,
            schedule: RetrySchedule::default(),
            cap_per_hour: DEFAULT_CAP_PER_HOUR,
        }
    }
}

/// The seed URLs of a Redis setting (`BAZAAR_REDIS_URL`): its comma-separated parts,
/// trimmed (one for a single server).
pub fn seed_urls(url: &str) -> Vec<String> {
    url.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
