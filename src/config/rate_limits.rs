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
        SettingSpec { key: "rate_limit_default_per_minute", default: Some("600"), secret: false, help: "API requests per client (user, else IP) per minute outside the auth routes; 0 turns the limit off" },
        SettingSpec { key: "rate_limit_auth_per_minute", default: Some("20"), secret: false, help: "requests per client per minute to /api/v1/auth (sign-in, refresh, password reset); 0 turns the limit off" },
        SettingSpec { key: "rate_limit_otp_per_hour", default: Some("10"), secret: false, help: "register, OTP send and forgot-password calls per client IP per hour (each phone and email has its own cap of 5); 0 turns the limit off" },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        Self {
            default_per_minute: p.parse("rate_limit_default_per_minute", "a whole number", 0),
            auth_per_minute: p.parse("rate_limit_auth_per_minute", "a whole number", 0),
            otp_per_hour: p.parse("rate_limit_otp_per_hour", "a whole number", 0),
        }
    }
}
