//! The shared key-value store (Redis, a Redis Cluster, else in process): its URL, key
//! prefix, and how many replicas must hold a write.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::parser::Parser;
use super::spec::SettingSpec;

/// Redis, or `None` for an in-process key-value store.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: Option<SecretString>,
    pub key_prefix: String,
    /// Replicas that must hold a session or idempotency write (`WAIT`); 0: none.
    pub replica_acks: u32,
    pub replica_ack_timeout: Duration,
}

impl RedisSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "redis_url",
            default: None,
            secret: true,
            help:
                "Redis URL (`redis://` or `rediss://`), or a comma-separated list of them naming \
                the seed nodes of a Redis Cluster (`redis://:…@c1:6379,redis://:…@c2:6379`). A \
                single URL that turns out to be a cluster node (`INFO cluster` says \
                `cluster_enabled:1`) is used as a cluster too; the startup log says which \
                (`redis: single node`, `redis: cluster of 3 seeds`). List more than one node of \
                a cluster: the other nodes are found from any one, but the cache-invalidation \
                listener subscribes on a listed node and, when that node fails, moves on only to \
                the next listed one. Unset: rate-limit counters and other shared state live in \
                process memory, which a second replica cannot see.",
        },
        SettingSpec {
            key: "redis_key_prefix",
            default: Some("bazaar:"),
            secret: false,
            help: "Prefix of every Redis key, so several deployments or test runs can share one \
                Redis. May not contain `{` or `}`: Redis Cluster would read them as a hash tag, \
                and the keys Bazaar keeps together in one slot (`{…}`) would be split.",
        },
        SettingSpec {
            key: "redis_replica_acks",
            default: Some("0"),
            secret: false,
            help: "How many Redis replicas must hold each write of a session or an idempotency \
                record before it counts as done: Bazaar follows those writes with `WAIT <n> \
                <timeout>`, so a primary that dies right after acknowledging one cannot take it \
                with it (Redis replicates asynchronously). 0 does not wait; 1 is right for a \
                Redis Cluster (or a primary with a replica) where each primary has a replica. \
                Rate-limit counters and cache entries never wait. 0–5. See \
                [operations.md](operations.md#a-primary-fails).",
        },
        SettingSpec {
            key: "redis_replica_ack_timeout_ms",
            default: Some("100"),
            secret: false,
            help:
                "Longest such wait. A wait that comes back short (the replica is gone or lagging) \
                is logged; the write stands, as it would without waiting, and waits pause for 5 \
                s so a missing replica does not slow every write. 1–10000, and shorter than \
                `BAZAAR_BACKEND_TIMEOUT_MS`.",
        },
    ];

    /// `backend_timeout` bounds a write and its wait for replicas together.
    pub(super) fn parse(p: &mut Parser, backend_timeout: Duration) -> Self {
        let url = redis_url(p, "redis_url");
        let key_prefix = p.string("redis_key_prefix");
        if key_prefix.contains(['{', '}']) {
            p.fail(
                "redis_key_prefix",
                "may not contain `{` or `}`: Redis Cluster would read them as a hash tag and \
                 put keys that must stay together in different slots"
                    .into(),
            );
        }
        let replica_acks: u32 = p.parse("redis_replica_acks", "a whole number", 0);
        if replica_acks > 5 {
            p.fail("redis_replica_acks", "must be between 0 and 5".into());
        }
        let replica_ack_timeout = p.millis("redis_replica_ack_timeout_ms", 1, 10_000);
        if replica_ack_timeout >= backend_timeout {
            p.fail(
                "redis_replica_ack_timeout_ms",
                "must be shorter than BAZAAR_BACKEND_TIMEOUT_MS, which bounds the write and its wait together".into(),
            );
        }
        Self {
            url,
            key_prefix,
            replica_acks,
            replica_ack_timeout,
        }
    }

    pub fn url(&self) -> Option<&str> {
        self.url.as_ref().map(|s| s.expose_secret())
    }
}

/// One Redis URL, or a comma-separated list of Redis Cluster seed URLs.
fn redis_url(p: &mut Parser, key: &str) -> Option<SecretString> {
    let raw = p.raw(key)?.trim().to_owned();
    let seeds = seed_urls(&raw);
    let valid = |seed: &String| {
        ["redis://", "rediss://"]
            .iter()
            .any(|s| seed.starts_with(s))
            && url::Url::parse(seed).is_ok()
    };
    if seeds.is_empty() || !seeds.iter().all(valid) {
        p.fail(
            key,
            "must be a redis:// or rediss:// URL, or a comma-separated list of them \
             (Redis Cluster seed nodes)"
                .into(),
        );
    }
    Some(SecretString::from(raw))
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

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;

    #[test]
    fn a_redis_url_may_list_cluster_seeds_each_of_which_must_be_a_redis_url() {
        let seeds = "redis://:pw@a:7000, redis://:pw@b:7001,rediss://c:7002";
        let s = Settings::from_sources(None, vars(&[("BAZAAR_REDIS_URL", seeds)])).unwrap();
        assert_eq!(s.redis.url(), Some(seeds));
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_REDIS_URL", "redis://:s3cret@a:7000,http://b:7001")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("BAZAAR_REDIS_URL") && err.contains("comma-separated"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_key_prefix_with_braces_is_refused_because_it_would_break_hash_tags() {
        for prefix in ["{shop}:", "shop}", "bazaar{"] {
            let err = Settings::from_sources(None, vars(&[("BAZAAR_REDIS_KEY_PREFIX", prefix)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("BAZAAR_REDIS_KEY_PREFIX") && err.contains("hash tag"),
                "{err}"
            );
        }
    }
}
