//! How many requests a client may make: per minute on the API and on the auth routes, per
//! hour on the routes that send a message. Zero turns a limit off.

use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    pub default_per_minute: u32,
    pub auth_per_minute: u32,
    pub otp_per_hour: u32,
}

impl RateLimitSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "rate_limit_default_per_minute",
            default: Some("600"),
            secret: false,
            help: "API requests per client per minute outside `/api/v1/auth`. A client is the \
                signed-in user, else the IP (see \
                [operations.md](operations.md#client-addresses-and-trusted-proxies)). Counted in \
                Redis (shared by replicas); if Redis is down this group lets requests through. \
                `0` turns it off.",
        },
        SettingSpec {
            key: "rate_limit_auth_per_minute",
            default: Some("20"),
            secret: false,
            help:
                "Requests per client IP per minute to `/api/v1/auth/*` (sign-in, refresh, reset), \
                whatever access token the request carries: a token, of any account, does not buy \
                a fresh budget. If Redis is down these answer 503 rather than go unlimited. `0` \
                turns it off.",
        },
        SettingSpec {
            key: "rate_limit_otp_per_hour",
            default: Some("10"),
            secret: false,
            help: "`register`, `otp/send` and `password/forgot` calls (each sends an SMS) per \
                client IP per hour, token or not; each phone and email address also has its own \
                cap of 5 messages an hour. `0` turns the per-client limit off.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            default_per_minute: p.parse("rate_limit_default_per_minute", "a whole number", 0),
            auth_per_minute: p.parse("rate_limit_auth_per_minute", "a whole number", 0),
            otp_per_hour: p.parse("rate_limit_otp_per_hour", "a whole number", 0),
        }
    }
}
