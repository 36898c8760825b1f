//! The secrets production demands: every setting marked secret must be given and must not be
//! a development default, and signing keys must look random.

use std::collections::BTreeMap;

use super::parser::Parser;
use super::spec::env_name;
use super::SETTINGS;

/// Development defaults for secrets: fine on a laptop, refused in production.
pub const DEV_JWT_KEYS: &str = "dev:bazaar-development-signing-key-do-not-use-in-production";
pub const DEV_OTP_SECRET: &str = "bazaar-development-otp-secret-do-not-use-in-production";

/// Secret settings production may leave unset: each only means something beside another
/// setting, which is checked with it.
/// (`metrics_token`: without it production serves no metrics on the API listener.)
pub const OPTIONAL_SECRETS_IN_PRODUCTION: &[&str] = &["admin_password", "metrics_token"];

/// The least estimated entropy of a signing key or OTP secret in production: 32 random bytes
/// written in hex or base64 estimate well above it, while a 16-byte hex string, a word
/// repeated or a sentence short enough to remember fall below.
const MIN_SECRET_ENTROPY_BITS: f64 = 160.0;

/// Why production needs a secret it was not given.
fn production_need(key: &str) -> &'static str {
    match key {
        "mongodb_url" => {
            "in-memory storage loses everything on restart and cannot be shared by replicas"
        }
        "redis_url" => "an in-process key-value store cannot be shared by replicas",
        "jwt_keys" | "otp_secret" => "the development default is public",
        "msg91_authkey" => "the fake SMS sender delivers no code and no notice",
        "sendgrid_api_key" => "the fake email sender delivers nothing",
        "s3_secret_access_key" => "uploads go to S3 in production",
        "razorpay_key_secret" | "razorpay_webhook_secrets" => "the fake Razorpay takes no money",
        _ => "it has no safe default",
    }
}

/// Production refuses every secret it was not given and every development default, read
/// from the `secret` column of [`SETTINGS`], so a new secret cannot be forgotten here.
pub(super) fn production_secrets(p: &mut Parser) {
    for spec in SETTINGS.iter().filter(|s| s.secret) {
        let prefix = format!("{} (", env_name(spec.key));
        if p.layers.errors.iter().any(|e| e.starts_with(&prefix)) {
            continue; // already reported, e.g. as required beside another setting
        }
        let value = p.raw(spec.key).map(str::trim);
        match value {
            None if OPTIONAL_SECRETS_IN_PRODUCTION.contains(&spec.key) => {}
            None => p.fail(
                spec.key,
                format!("is required in production: {}", production_need(spec.key)),
            ),
            Some(value) if Some(value) == spec.default => p.fail(
                spec.key,
                "is the public development default, which production refuses: set a secret \
                 of your own (e.g. `openssl rand -hex 32`)"
                    .into(),
            ),
            Some(_) => {}
        }
    }
}

/// Whether `secret` could be a development or guessable key in production: the development
/// key's value (under any `kid`), or an estimated entropy under [`MIN_SECRET_ENTROPY_BITS`].
pub(super) fn weak_production_secret(secret: &str) -> Option<&'static str> {
    let dev_jwt_secrets = DEV_JWT_KEYS
        .split(',')
        .filter_map(|pair| pair.split_once(':'));
    if dev_jwt_secrets.into_iter().any(|(_, dev)| dev == secret) || secret == DEV_OTP_SECRET {
        return Some("is the public development key, which production refuses");
    }
    if estimated_entropy_bits(secret) < MIN_SECRET_ENTROPY_BITS {
        return Some(
            "does not look random: production needs at least 32 random bytes \
             (e.g. `openssl rand -hex 32`)",
        );
    }
    None
}

/// The plug-in Shannon estimate of `s`'s entropy: its length times the entropy of its own
/// character frequencies. It cannot prove randomness; it catches short, repetitive or
/// low-variety secrets.
fn estimated_entropy_bits(s: &str) -> f64 {
    let mut counts = BTreeMap::<char, usize>::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&c| {
            let f = c as f64 / n;
            -f * f.log2()
        })
        .sum();
    per_char * n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{vars, PRODUCTION_JWT_KEYS, PRODUCTION_OTP_SECRET};
    use crate::config::Settings;

    #[test]
    fn production_names_every_missing_secret_at_once() {
        let text = Settings::from_sources(None, vars(&[("BAZAAR_ENV", "production")]))
            .unwrap_err()
            .to_string();
        for spec in SETTINGS.iter().filter(|s| s.secret) {
            let name = env_name(spec.key);
            let expected = !OPTIONAL_SECRETS_IN_PRODUCTION.contains(&spec.key);
            assert_eq!(text.contains(&name), expected, "{name} in:\n{text}");
        }
        assert!(!text.contains(DEV_OTP_SECRET) && !text.contains("bazaar-development-signing"));
    }

    #[test]
    fn production_refuses_the_development_keys_under_any_name_and_weak_keys() {
        let dev_secret = DEV_JWT_KEYS.split_once(':').unwrap().1;
        for (keys, otp) in [
            (DEV_JWT_KEYS.to_owned(), PRODUCTION_OTP_SECRET.to_owned()),
            (
                format!("new:{dev_secret}"),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (
                format!("{PRODUCTION_JWT_KEYS},old:{dev_secret}"),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            // 16 random bytes in hex: 32 characters, half the entropy asked for.
            (
                "k1:9f86d081884c7d659a2feaa0c55ad015".to_owned(),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (
                format!("k1:{}", "secret".repeat(8)),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (PRODUCTION_JWT_KEYS.to_owned(), DEV_OTP_SECRET.to_owned()),
            (PRODUCTION_JWT_KEYS.to_owned(), "a".repeat(64)),
        ] {
            let env = vars(&[
                ("BAZAAR_ENV", "production"),
                ("BAZAAR_JWT_KEYS", &keys),
                ("BAZAAR_OTP_SECRET", &otp),
            ]);
            let text = Settings::from_sources(None, env).unwrap_err().to_string();
            let refused = if otp == PRODUCTION_OTP_SECRET {
                "BAZAAR_JWT_KEYS"
            } else {
                "BAZAAR_OTP_SECRET"
            };
            assert!(
                text.contains(refused),
                "{keys} / {otp} not refused:\n{text}"
            );
            assert!(
                !text.contains(dev_secret) && !text.contains(&otp),
                "a secret leaked:\n{text}"
            );
        }
        // The development profile keeps its zero-setup defaults.
        assert!(Settings::from_sources(None, vars(&[])).is_ok());
    }

    #[test]
    fn random_secrets_estimate_above_the_bar_and_guessable_ones_below() {
        assert!(estimated_entropy_bits(PRODUCTION_OTP_SECRET) >= MIN_SECRET_ENTROPY_BITS);
        // 32 random bytes in base64, as `openssl rand -base64 32` makes them.
        assert!(
            estimated_entropy_bits("q3Nl0vX8Zp2mB7cK1rT9wY4hJ6dF5gS0aE8uI2oL3nQ=")
                >= MIN_SECRET_ENTROPY_BITS
        );
        assert!(
            estimated_entropy_bits("correct horse battery staple!!!!") < MIN_SECRET_ENTROPY_BITS
        );
        assert!(estimated_entropy_bits(&"ab".repeat(40)) < MIN_SECRET_ENTROPY_BITS);
    }
}
