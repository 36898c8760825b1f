//! Bazaar: an OpenAPI-first backend for storefront MVPs.
//!
//! Layers, inside out: [`domain`] (valid-by-construction types and rules),
//! [`catalog`] (use cases), ports with their implementations ([`store`] for
//! records, [`kv`] for shared short-lived state, each behind a [`breaker`] when
//! it is a network service), and the [`http`] adapter.
//! [`startup`] wires them together; `docs/architecture.md` has the map.

pub mod auth;
pub mod breaker;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod domain;
pub mod errors;
pub mod files;
pub mod http;
pub mod idempotency;
pub mod identity;
pub mod kv;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod providers;
pub mod ratelimit;
pub mod startup;
pub mod store;
pub mod telemetry;
