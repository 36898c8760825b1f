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
        SettingSpec {
            key: "cache_l1_ttl_ms",
            default: Some("1000"),
            secret: false,
            help: "How long each replica keeps product reads (products, list pages, facet counts) \
                and user records in its own memory. A write on any replica drops them everywhere \
                at once: it is announced on the Redis channel `<prefix>invalidations`. If a \
                replica misses notices (Redis restarted, the subscription dropped) it empties \
                these caches; this time bounds staleness in whatever case is left. `0` turns the \
                in-process level off. See [catalog.md](catalog.md#caching).",
        },
        SettingSpec {
            key: "cache_l1_capacity",
            default: Some("10000"),
            secret: false,
            help: "Entries in each in-process cache (products, list pages, facet counts, users).",
        },
        SettingSpec {
            key: "cache_l2_ttl_secs",
            default: Some("300"),
            secret: false,
            help:
                "How long product reads stay in the shared cache (Redis, or the in-memory store). \
                Writes invalidate at once by generation tokens, so this only bounds memory.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            l1_ttl_ms: p.parse("cache_l1_ttl_ms", "a whole number of milliseconds", 0),
            l1_capacity: p.parse("cache_l1_capacity", "a whole number", 0),
            l2_ttl_secs: p.parse("cache_l2_ttl_secs", "a whole number of seconds", 1),
        }
    }
}
