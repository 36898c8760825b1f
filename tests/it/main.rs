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
//!
//! The other folders group tests by concern: `faults` (outages, breakers, restarts under
//! load, failing providers, exactly-once answers), `operations` (the binary, shutdown,
//! replicas, Redis Cluster, failover, elections), `use_cases` (payments and the outbox
//! worker without HTTP), `properties` (domain rules for any input) and `invoice_pdf` (the
//! invoice PDF read back with poppler). `kit` is what they share: `TestApp`, typed calls,
//! the test services and processes. `architecture` and `contract` check the code's layers
//! and the committed contract.

mod api;
mod architecture;
mod conformance;
mod contract;
mod faults;
mod invoice_pdf;
mod kit;
mod operations;
mod properties;
mod security;
mod use_cases;
