//! Black-box tests of the HTTP API through `spawn_app()`, each run on both backend sets
//! ([`BackendSet`](crate::helpers::BackendSet)):
//!
//! - `api::memory::…`: the in-memory default, everything in process;
//! - `api::real::…`: MongoDB-wire, Redis and S3 (SeaweedFS), built by the production
//!   wiring (`Backends::from_settings`), with no store in memory.
//!
//! Each set is a module (`memory.rs`, `real.rs`) that includes the same test files by
//! `#[path]` and provides the functions the test bodies call through `super::`:
//! `spawn_app()`, `spawn_app_with_env(overrides)`, `settings(overrides)` and
//! `backends(&settings)`, with `SET` for the few expectations that differ by set.
//! A test that injects an in-process fake on purpose keeps the set's other backends.

mod memory;
mod real;

/// The functions a backend set's module gives its tests, for the set `$set`.
macro_rules! backend_set {
    ($set:expr) => {
        /// The set this module's tests run on.
        pub const SET: crate::helpers::BackendSet = $set;

        /// The app on this set.
        pub async fn spawn_app() -> crate::helpers::TestApp {
            SET.spawn_app().await
        }

        /// The app on this set, with `overrides` added to its settings.
        pub async fn spawn_app_with_env(overrides: &[(&str, &str)]) -> crate::helpers::TestApp {
            SET.spawn_app_with_env(overrides).await
        }

        /// This set's settings plus `overrides`, for tests that change a backend
        /// before `spawn_app_with`.
        pub fn settings(overrides: &[(&str, &str)]) -> bazaar::config::Settings {
            SET.settings(overrides)
        }

        /// The backends `settings` name.
        pub async fn backends(settings: &bazaar::config::Settings) -> bazaar::startup::Backends {
            SET.backends(settings).await
        }
    };
}
use backend_set;
