//! One conformance suite per port, run against every implementation of it.
//! Each suite is a set of functions taking the port; the `conformance!` macro
//! turns them into tests once per backend, so both run the same bodies.

mod addresses;
mod audit;
mod carts;
mod coupons;
mod files;
mod idempotency;
mod invoices;
mod kv;
mod orders;
mod outbox;
mod products;
mod shipping;
mod users;
mod variants;

/// `conformance!(backend_module, async-expression-making-the-port, suite::{tests...})`
macro_rules! conformance {
    ($backend:ident, $make:expr, $suite:path, [$($test:ident),+ $(,)?]) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let port = $make;
                    { use $suite as suite; suite::$test(&*port).await; }
                }
            )+
        }
    };
}
pub(crate) use conformance;
