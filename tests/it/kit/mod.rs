//! The test kit: start the application ([`TestApp::builder`]), call it with typed answers
//! ([`Expect`], the typed calls on [`TestApp`]), and reach the test services.
//!
//! - `app.rs`: [`TestApp`] and its builder (backend set, settings, replaced backends);
//! - `backends.rs`: the test settings and the [`BackendSet`]s;
//! - `calls.rs`: [`Expect`] (status checked, body parsed into the service's DTOs),
//!   [`problem`], [`login`], typed calls of common operations;
//! - `fixtures.rs`: valid inputs ([`product_json`]) and what the development store holds;
//! - `documents.rs`: issued tax invoices and credit notes ([`tax_document`]);
//! - `oidc.rs`: [`FakeIssuer`], a local OpenID Connect issuer (a fake Google) signing RS256
//!   ID tokens;
//! - `servers.rs`: the MongoDB-wire, Redis, Redis Cluster and S3 servers `make test` runs,
//!   and stores on them under fresh names;
//! - `process.rs`: private servers a test stops and restarts, and the real `bazaar` binary.

mod app;
mod backends;
mod calls;
mod documents;
mod fixtures;
mod oidc;
pub mod process;
mod servers;

pub use app::{TestApp, TestAppBuilder};
pub use backends::{settings, BackendSet, ADMIN_PASSWORD, ADMIN_PHONE};
pub use calls::{bearer_client, get_json, login, parse, problem, problem_fields, Expect};
pub use documents::{tax_document, LineSpec, BUYER_GSTIN};
pub use fixtures::{at_18_percent, files_under, product_json, taxing_at_18_percent};
pub use oidc::{FakeIssuer, TestKey};
pub use servers::*;
