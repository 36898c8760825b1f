//! MSG91: OTP delivery by SMS (identity issue).
//!
//! Not implemented yet: this module is reserved by the service spine.
