//! The API suite on MongoDB-wire, Redis and S3 (SeaweedFS), as production wires them.

// Each test file is a module of both sets on purpose: one body, two tests.
#![allow(clippy::duplicate_mod)]

super::backend_set!(crate::kit::BackendSet::Real);

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
