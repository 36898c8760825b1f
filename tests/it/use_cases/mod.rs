//! Use cases called directly, without HTTP, on real storage: payment events in any order
//! (`payments`, whose `World` the stock and webhook properties share), the outbox worker
//! (`outbox`), and the storefront's shipping and coupon rules as checkout calls them
//! (`rules`).

mod outbox;
pub mod payments;
mod rules;
