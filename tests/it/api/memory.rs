//! The API suite on the in-memory default.

// Each test file is a module of both sets on purpose: one body, two tests.
#![allow(clippy::duplicate_mod)]

super::backend_set!(crate::kit::BackendSet::Memory);

#[path = "addresses.rs"]
mod addresses;
#[path = "auth.rs"]
mod auth;
#[path = "cart.rs"]
mod cart;
#[path = "catalog.rs"]
mod catalog;
#[path = "checkout.rs"]
mod checkout;
#[path = "conventions.rs"]
mod conventions;
#[path = "coupons.rs"]
mod coupons;
#[path = "email.rs"]
mod email;
#[path = "files.rs"]
mod files;
#[path = "fulfilment.rs"]
mod fulfilment;
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
#[path = "shipping_zones.rs"]
mod shipping_zones;
#[path = "staff.rs"]
mod staff;
#[path = "variants.rs"]
mod variants;

/// The development object store exists only without S3, so only on this set.
#[path = "dev_store.rs"]
mod dev_store;
