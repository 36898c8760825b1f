//! Black-box tests of the HTTP API through `spawn_app()`.

mod auth;
mod catalog;
mod conventions;
mod files;
mod idempotency;
mod ops;
mod orders;
mod outbox;
mod products;
