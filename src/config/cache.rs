//! How long and how much of the catalog and the user records each replica keeps in memory
//! (L1), and how long product reads stay in the shared key-value cache (L2).

use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Zero turns the in-process cache off.
    pub l1_ttl_ms: u64,
    pub l1_capacity: u64,
    pub l2_ttl_secs: u64,
}

impl CacheConfig {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec { key: "cache_l1_ttl_ms", default: Some("1000"), secret: false, help: "how long a replica keeps product reads and user records in its own memory; writes on any replica drop them at once through Redis pub/sub, and this bounds staleness if a notice is missed; 0 turns the in-process cache off" },
        SettingSpec { key: "cache_l1_capacity", default: Some("10000"), secret: false, help: "entries kept in each in-process cache (products, list pages, facet counts, users)" },
        SettingSpec { key: "cache_l2_ttl_secs", default: Some("300"), secret: false, help: "how long product reads stay in the shared key-value cache (Redis); writes invalidate at once" },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            l1_ttl_ms: p.parse("cache_l1_ttl_ms", "a whole number of milliseconds", 0),
            l1_capacity: p.parse("cache_l1_capacity", "a whole number", 0),
            l2_ttl_secs: p.parse("cache_l2_ttl_secs", "a whole number of seconds", 1),
        }
    }
}
