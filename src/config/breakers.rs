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
        SettingSpec {
            key: "breaker_failures",
            default: Some("5"),
            secret: false,
            help:
                "Consecutive \"unavailable\" failures (timeouts, refused or dropped connections, \
                a provider's 5xx after its retries; never a 4xx, a duplicate key or a version \
                conflict) that open the circuit breaker of MongoDB, Redis or a provider. While \
                open, calls are refused at once (`503` with `Retry-After`) instead of waiting \
                out the timeout. `0` turns the breakers off. See \
                [operations.md](operations.md#circuit-breakers).",
        },
        SettingSpec {
            key: "breaker_open_ms",
            default: Some("500"),
            secret: false,
            help:
                "How long an open breaker refuses calls before one trial (a ping for MongoDB and \
                Redis, the next call for a provider); the trial's success closes it, its failure \
                opens it for as long again. 10–60000.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            failures: p.parse("breaker_failures", "a whole number", 5),
            open_for: p.millis("breaker_open_ms", 10, 60_000),
        }
    }
}
