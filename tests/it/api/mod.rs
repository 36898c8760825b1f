//! Black-box tests of the HTTP API through `TestApp`, each run on both backend sets
//! ([`BackendSet`](crate::kit::BackendSet)):
//!
//! - `api::memory::…`: the in-memory default, everything in process;
//! - `api::real::…`: MongoDB-wire, Redis and S3 (SeaweedFS), built by the production
//!   wiring (`Backends::from_settings`), with no store in memory.
//!
//! Each set is a module (`memory.rs`, `real.rs`) that includes the same test files by
//! `#[path]` (a test below holds the two lists equal) and provides what the test bodies
//! call through `super::`: `test_app()`, a [`TestApp`](crate::kit::TestApp) builder on
//! the set (`test_app().spawn().await`, `test_app().env(&[…]).spawn().await`), and `SET`
//! for the few expectations that differ by set.
//! A test that injects an in-process fake on purpose keeps the set's other backends.

mod memory;
mod real;

/// What a backend set's module gives its tests, for the set `$set`.
macro_rules! backend_set {
    ($set:expr) => {
        /// The set this module's tests run on.
        pub const SET: crate::kit::BackendSet = $set;

        /// A builder of the app on this set: add settings or replace a backend, then
        /// `spawn()`.
        pub fn test_app() -> crate::kit::TestAppBuilder {
            crate::kit::TestApp::builder().on(SET)
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
