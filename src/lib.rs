//! Bazaar: an OpenAPI-first backend for storefront MVPs.
//!
//! Layers, inside out (docs/architecture.md has the map, and `tests/it/architecture.rs`
//! keeps imports pointing inwards):
//!
//! - [`domain`]: valid-by-construction types and rules; imports nothing else of the crate.
//! - [`config`]: settings, read and checked once.
//! - [`breaker`]: the circuit breakers that guard every network dependency.
//! - Ports with their implementations: [`store`] for records, [`kv`] for shared
//!   short-lived state, [`providers`] for the third parties (the clients live in the
//!   `bazaar-adapters` crate).
//! - [`app`]: the use cases.
//! - [`telemetry`]: logs and metrics.
//! - [`state`]: what the HTTP layer is built from.
//! - [`http`]: the HTTP adapter (contract, pipeline, handlers).
//! - [`startup`]: picks the backends and runs the server; [`cli`] is the command line.

pub mod app;
pub mod breaker;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod kv;
pub mod providers;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
