//! The API suite on the in-memory default.

// Each test file is a module of both sets on purpose: one body, two tests.
#![allow(clippy::duplicate_mod)]

super::backend_set!(crate::kit::BackendSet::Memory);

#[path = "auth.rs"]
mod auth;
#[path = "catalog.rs"]
mod catalog;
#[path = "conventions.rs"]
mod conventions;
#[path = "email.rs"]
mod email;
#[path = "files.rs"]
mod files;
#[path = "idempotency.rs"]
mod idempotency;
#[path = "notices.rs"]
mod notices;
#[path = "oidc.rs"]
mod oidc;
#[path = "ops.rs"]
mod ops;
#[path = "orders.rs"]
mod orders;
#[path = "outbox.rs"]
mod outbox;
#[path = "privacy.rs"]
mod privacy;
#[path = "products.rs"]
mod products;
#[path = "staff.rs"]
mod staff;
#[path = "variants.rs"]
mod variants;

/// The development object store exists only without S3, so only on this set.
#[path = "dev_store.rs"]
mod dev_store;
