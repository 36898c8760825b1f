//! Issue 14's security suite: one file per attack, named for it. Tests about production run
//! the real binary in `BAZAAR_ENV=production` on MongoDB-wire, Redis and S3 ([`prod`]).

pub mod prod;
mod servers;

mod account_enumeration;
mod lockout_bypass;
mod otp_guessing;
mod production_secrets;
mod verify_email_spam;
