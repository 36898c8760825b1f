//! Third-party providers behind ports. Each provider module holds a trait in Bazaar's terms,
//! a real reqwest client that takes its base URL, credentials and timeouts from configuration
//! (so a wiremock server can stand in for the provider), and an in-process fake that records
//! what it was asked and can be told to fail.
//!
//! - [`msg91`]: OTP delivery by SMS and voice, and transactional SMS.
//! - [`msg91_whatsapp`]: WhatsApp messages from Meta-approved templates, through MSG91.
//! - [`sendgrid`]: transactional email from dynamic templates.
//! - [`s3`]: S3 or an S3-compatible store, through SigV4-presigned browser uploads and downloads.
//! - [`razorpay`]: orders, payments and refunds, and the checkout and webhook signatures.
//! - [`jwks`]: an OpenID Connect provider's signing keys (Google's, for Sign in with Google).
//!
//! Shared by the real clients: [`error::AdapterError`], the one error they all return, and
//! [`retry::RetryPolicy`], how they retry transient failures.

pub mod error;
mod http;
pub mod jwks;
pub mod msg91;
pub mod msg91_whatsapp;
pub mod razorpay;
pub mod retry;
pub mod s3;
pub mod sendgrid;
