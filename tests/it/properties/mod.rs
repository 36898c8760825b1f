//! Property tests of the domain rules: for any input proptest can think of,
//! not only the examples a person wrote down. Each failure prints the smallest
//! input it shrank to; proptest keeps no regression files here (the seeds
//! are random per run, so every run explores new inputs).

mod coupons;
mod cursors;
mod gst;
mod gst_reports;
mod invoices;
mod money;
mod order_events;
mod queries;
mod stock;
mod webhooks;

use proptest::test_runner::Config;

/// Cases per property. The domain checks are cheap; `PROPTEST_CASES` raises
/// it for a longer hunt.
pub fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    }
}
