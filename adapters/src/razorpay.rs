//! Razorpay payments: orders, payments, refunds, checkout and webhook signatures (orders issue).
//!
//! Not implemented yet: this module is reserved by the service spine.
