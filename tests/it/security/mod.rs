//! Issue 14's security suite: one file per attack, named for it. Tests about production run
//! the real binary in `BAZAAR_ENV=production` on MongoDB-wire, Redis and S3 ([`prod`]).

pub mod prod;
mod servers;
pub mod shop;

mod account_enumeration;
mod admin_bootstrap;
mod auth_bucket_switch;
mod body_bombs;
mod double_capture;
mod foreign_currency;
mod forged_roles;
mod lockout_bypass;
mod metrics_exposure;
mod notice_spray;
mod otp_guessing;
mod private_file_publishing;
mod production_secrets;
mod query_flood;
mod refund_overflow;
mod stock_hoarding;
mod underpayment;
mod unparseable_event;
mod upload_overwrite;
mod upload_quota;
mod uploads;
mod verify_email_spam;
