//! Use cases called directly, without HTTP, on real storage: payment events in any order
//! (`payments`, whose `World` the stock and webhook properties share) and the outbox worker
//! (`outbox`).

mod outbox;
pub mod payments;
