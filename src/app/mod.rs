//! The use cases, one module per capability. They know the domain and the ports
//! (stores, key-value, providers), never HTTP; every failure is an [`errors::AppError`].

pub mod addresses;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod coupons;
pub mod errors;
pub mod files;
pub mod idempotency;
pub mod identity;
pub mod invoices;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod privacy;
pub mod provider_errors;
pub mod ratelimit;
pub mod shipping;
pub mod staff_audit;
