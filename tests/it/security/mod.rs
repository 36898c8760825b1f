//! Issue 14's security suite: one file per attack, named for it. Tests about production run
//! the real binary in `BAZAAR_ENV=production` on MongoDB-wire, Redis and S3 ([`prod`]).

pub mod prod;

mod auth_bucket_switch;
mod body_bombs;
mod metrics_exposure;
mod production_secrets;
mod query_flood;
