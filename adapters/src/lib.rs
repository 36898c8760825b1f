//! Third-party providers behind ports: each module will hold a trait, a real
//! reqwest client that takes its base URL and timeouts from configuration (so a
//! wiremock server can stand in for the provider), and an in-process fake that
//! records what it was asked and can be told to fail.
//!
//! The service spine only reserves the modules; each is filled by the issue that
//! needs it (see `docs/adapters.md`).

pub mod msg91;
pub mod razorpay;
pub mod s3;
pub mod sendgrid;
