//! Bazaar's integration tests: one binary, so the crate links once.
//!
//! Run them with `make test`, which provides a MongoDB-wire server, Redis, a Redis
//! Cluster and an S3 server (`BAZAAR_TEST_MONGODB_URL`, `BAZAAR_TEST_REDIS_URL`,
//! `BAZAAR_TEST_REDIS_CLUSTER_URL`, `BAZAAR_TEST_S3_*`). Set `TEST_LOG=1` to see logs.
//!
//! The API suite (`api`) runs every test body on two backend sets
//! ([`kit::BackendSet`]): `api::memory::…` on the in-memory default and
//! `api::real::…` on MongoDB-wire, Redis and S3, built by `Backends::from_settings` as in
//! production. `conformance` runs each port's suite on every implementation; `security`
//! runs each attack in memory, on the real backends and against the production binary.
//! `docs/testing.md` says what runs on which set.

mod api;
mod architecture;
mod breakers;
mod cli;
mod cluster;
mod conformance;
mod contract;
mod elections;
mod exactly_once;
mod failover;
mod faults;
mod kit;
mod lifecycle;
mod outbox;
mod payments;
mod process;
mod properties;
mod provider_faults;
mod replicas;
mod resilience;
mod security;
