//! Issue 14's security suite: one file per attack, named for it. Tests about production run
//! the real binary in `BAZAAR_ENV=production` on MongoDB-wire, Redis and S3 ([`prod`]).

pub mod prod;

mod admin_bootstrap;
mod forged_roles;
mod notice_spray;
mod private_file_publishing;
mod production_secrets;
mod upload_overwrite;
mod upload_quota;
mod uploads;
