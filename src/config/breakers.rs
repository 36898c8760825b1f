//! When the circuit breakers of backends and providers open, and for how long
//! (`BAZAAR_BREAKER_*`).

use std::time::Duration;

use super::parser::Parser;
use super::spec::SettingSpec;

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

impl BreakerSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec { key: "breaker_failures", default: Some("5"), secret: false, help: "consecutive \"unavailable\" failures (timeouts, refused connections, a provider's 5xx after retries; never a 4xx or a duplicate key) that open the circuit breaker of MongoDB, Redis or a provider, which then refuses calls at once with 503 instead of waiting out the timeout; 0 turns breakers off" },
        SettingSpec { key: "breaker_open_ms", default: Some("500"), secret: false, help: "how long an open circuit breaker refuses calls before it lets one trial call through; the trial's success closes it, its failure opens it again for as long" },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            failures: p.parse("breaker_failures", "a whole number", 5),
            open_for: p.millis("breaker_open_ms", 10, 60_000),
        }
    }
}
