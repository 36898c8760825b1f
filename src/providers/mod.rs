//! Provider wiring: the third-party clients as the use cases meet them. Each real
//! client runs behind its circuit breaker ([`guarded`]); in development, without S3,
//! files go to a local directory ([`local_store`]). Invoices and credit notes are rendered
//! as PDFs in-process ([`pdf`]).

pub mod guarded;
pub mod local_store;
pub mod pdf;

pub use guarded::Guarded;
