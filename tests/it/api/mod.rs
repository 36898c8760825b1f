//! Black-box tests of the HTTP API through `spawn_app()`, each run on both backend sets
//! ([`BackendSet`](crate::helpers::BackendSet)):
//!
//! - `api::memory::…`: the in-memory default, everything in process;
//! - `api::real::…`: MongoDB-wire, Redis and S3 (SeaweedFS), built by the production
//!   wiring (`Backends::from_settings`), with no store in memory.
//!
//! Each set is a module (`memory.rs`, `real.rs`) that includes the same test files by
//! `#[path]` (a test below holds the two lists equal) and provides the functions the test bodies call through `super::`:
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
        pub async fn backends(settings: &bazaar::config::Settings) -> bazaar::state::Backends {
            SET.backends(settings).await
        }
    };
}
use backend_set;

/// Every test file here is a module of both sets, except `dev_store.rs` (the development
/// object store exists only without S3): a file added to one list only would silently run on
/// one set.
#[test]
fn every_api_test_file_runs_on_both_sets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/api");
    let included = |set: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(dir.join(set))
            .expect("the set's module")
            .lines()
            .filter_map(|l| l.strip_prefix("#[path = \"")?.strip_suffix("\"]"))
            .map(str::to_owned)
            .collect()
    };
    let mut files: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("tests/it/api")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !["mod.rs", "memory.rs", "real.rs"].contains(&name.as_str()))
        .collect();
    assert_eq!(included("memory.rs"), files);
    files.remove("dev_store.rs");
    assert_eq!(included("real.rs"), files);
}
