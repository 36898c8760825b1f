//! Bazaar's integration tests: one binary, so the crate links once.
//!
//! Run them with `make test`, which provides a MongoDB-wire server, Redis and a
//! Redis Cluster (`BAZAAR_TEST_MONGODB_URL`, `BAZAAR_TEST_REDIS_URL`,
//! `BAZAAR_TEST_REDIS_CLUSTER_URL`). Set `TEST_LOG=1` to see logs.

mod api;
mod cli;
mod cluster;
mod conformance;
mod contract;
mod faults;
mod helpers;
mod lifecycle;
mod outbox;
mod payments;
mod process;
mod properties;
mod provider_faults;
mod replicas;
mod resilience;
mod security;
