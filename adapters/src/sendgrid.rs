//! SendGrid: transactional email (identity issue).
//!
//! Not implemented yet: this module is reserved by the service spine.
