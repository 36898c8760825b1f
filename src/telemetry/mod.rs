//! What the service says about itself: logs ([`logging`]) and Prometheus
//! metrics ([`metrics`]).

pub mod logging;
pub mod metrics;

pub use logging::init;
