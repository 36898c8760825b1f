//! The settings a test app starts from and the backend sets it can run on.

use bazaar::config::Settings;
use bazaar::state::Backends;

use super::servers::{test_servers_env, unique};

pub const ADMIN_PHONE: &str = "+919000000001";
pub const ADMIN_PASSWORD: &str = "admin password for tests";

/// Settings for a test server: a free port, a known admin, cheap password
/// hashing (the production cost is for attackers, not for test runs), plus
/// `overrides`.
pub fn settings(overrides: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = [
        ("BAZAAR_ADDR", "127.0.0.1:0"),
        ("BAZAAR_ADMIN_PHONE", ADMIN_PHONE),
        ("BAZAAR_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("BAZAAR_ARGON2_MEMORY_KIB", "64"),
        ("BAZAAR_ARGON2_ITERATIONS", "1"),
        // Nothing routes by readiness in tests: stop at once.
        ("BAZAAR_SHUTDOWN_DELAY_MS", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_sources(None, vars).expect("test settings are valid")
}

/// A set of backends an app runs on. The API suite (see `tests/it/api/mod.rs`) runs every
/// test body once per set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendSet {
    /// Everything in process: the embedded default (`Backends::in_memory()`).
    Memory,
    /// What production runs on: MongoDB-wire, Redis and S3 (SeaweedFS) for every store
    /// (users, audit, files, orders, outbox, broadcast, idempotency, rate limits), built
    /// by the production wiring, `Backends::from_settings`, under a fresh database name
    /// and Redis key prefix. The bucket is shared; object keys hold fresh ids.
    Real,
}

impl BackendSet {
    /// The settings that name this set's backends, on top of [`settings`]'s test
    /// defaults, then `overrides`.
    pub fn settings(self, overrides: &[(&str, &str)]) -> Settings {
        let backends = match self {
            Self::Memory => Vec::new(),
            Self::Real => test_servers_env(&unique("bazaar_test"), &format!("{}:", unique("test"))),
        };
        let mut vars: Vec<(&str, &str)> = backends.iter().map(|(k, v)| (*k, v.as_str())).collect();
        vars.extend_from_slice(overrides);
        settings(&vars)
    }

    /// The backends `settings` name, built as production builds them.
    pub async fn backends(self, settings: &Settings) -> Backends {
        let backends = Backends::from_settings(settings)
            .await
            .unwrap_or_else(|e| panic!("the {self:?} backends build: {e:#}"));
        assert_eq!(
            (backends.names.storage, backends.names.kv),
            self.backend_names(),
            "the settings name this set's backends"
        );
        backends
    }

    /// The storage and key-value backends readiness reports for this set.
    pub fn backend_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Memory => ("memory", "memory"),
            Self::Real => ("mongodb", "redis"),
        }
    }
}
