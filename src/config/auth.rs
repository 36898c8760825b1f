//! Sign-in: access-token keys and lifetimes, sessions, OTP codes, password hashing, and the
//! admin created at startup.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::environment::Environment;
use super::parser::Parser;
use super::secrets::{weak_production_secret, DEV_JWT_KEYS, DEV_OTP_SECRET};
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `(kid, secret)`; the first signs.
    pub jwt_keys: Vec<(String, SecretString)>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub otp_secret: SecretString,
    pub otp_cooldown: Duration,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// The admin's `(phone, password)`.
    pub admin: Option<(String, SecretString)>,
}

impl AuthSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "jwt_keys",
            default: Some(DEV_JWT_KEYS),
            secret: true,
            help: "Access-token signing keys, `kid:secret` pairs separated by commas, each secret \
                at least 32 bytes. The first signs; all verify. Rotate by putting a new key \
                first and removing the old one after `BAZAAR_ACCESS_TOKEN_TTL_SECS`. Production \
                refuses the development key by value (under any `kid`, also as an old key in a \
                rotation) and any key that does not look like at least 32 random bytes (see \
                [Production refuses](#production-refuses)).",
        },
        SettingSpec {
            key: "jwt_issuer",
            default: Some("bazaar"),
            secret: false,
            help: "`iss` of access tokens.",
        },
        SettingSpec {
            key: "jwt_audience",
            default: Some("bazaar-api"),
            secret: false,
            help: "`aud` of access tokens.",
        },
        SettingSpec {
            key: "access_token_ttl_secs",
            default: Some("900"),
            secret: false,
            help: "Access-token lifetime (60–86400).",
        },
        SettingSpec {
            key: "refresh_token_ttl_days",
            default: Some("30"),
            secret: false,
            help: "A session (and its refresh token) ends this long after its last use (1–365).",
        },
        SettingSpec {
            key: "otp_secret",
            default: Some(DEV_OTP_SECRET),
            secret: true,
            help: "HMAC key under which OTP codes are stored (at least 32 bytes). Production \
                refuses the default by value and a secret that does not look random.",
        },
        SettingSpec {
            key: "otp_cooldown_secs",
            default: Some("30"),
            secret: false,
            help: "How soon one phone (or one email address, for a reset by email) may be sent \
                another code, and one account another email verification link.",
        },
        SettingSpec {
            key: "argon2_memory_kib",
            default: Some("19456"),
            secret: false,
            help: "Argon2id memory per password hash (OWASP's 19 MiB).",
        },
        SettingSpec {
            key: "argon2_iterations",
            default: Some("2"),
            secret: false,
            help: "Argon2id passes (OWASP: 2). Parallelism is 1.",
        },
        SettingSpec {
            key: "admin_phone",
            default: None,
            secret: false,
            help: "Phone of the admin created at startup when no account has it. An existing \
                account with this phone is never promoted (whoever registered the number first \
                would become admin with their own password): if it is not already an admin, \
                startup logs a warning naming the masked phone and the account id, and creates \
                no admin. Choose a number no account has; that admin can then grant roles. Unset \
                in development: a development admin `+919999999999` is created and its password \
                logged once.",
        },
        SettingSpec {
            key: "admin_password",
            default: None,
            secret: true,
            help: "That admin's password (8–128 characters).",
        },
    ];

    /// Production also refuses keys and secrets that are public or do not look random.
    pub(super) fn parse(p: &mut Parser, env: Environment) -> Self {
        let jwt_keys = jwt_keys(p, env);
        let jwt_issuer = p.string("jwt_issuer");
        let jwt_audience = p.string("jwt_audience");
        let access_token_ttl =
            Duration::from_secs(p.parse("access_token_ttl_secs", "a whole number of seconds", 900));
        if !(60..=86_400).contains(&access_token_ttl.as_secs()) {
            p.fail(
                "access_token_ttl_secs",
                "must be between 60 and 86400".into(),
            );
        }
        let refresh_days: u64 = p.parse("refresh_token_ttl_days", "a whole number of days", 30);
        if !(1..=365).contains(&refresh_days) {
            p.fail("refresh_token_ttl_days", "must be between 1 and 365".into());
        }
        let refresh_token_ttl = Duration::from_secs(refresh_days * 86_400);
        let otp_secret = p.string("otp_secret");
        if otp_secret.len() < 32 {
            p.fail("otp_secret", "must be at least 32 bytes".into());
        } else if env == Environment::Production {
            if let Some(why) = weak_production_secret(&otp_secret) {
                p.fail("otp_secret", why.into());
            }
        }
        let otp_secret = SecretString::from(otp_secret);
        let otp_cooldown_secs: u64 = p.parse("otp_cooldown_secs", "a whole number of seconds", 30);
        if !(1..=3600).contains(&otp_cooldown_secs) {
            p.fail("otp_cooldown_secs", "must be between 1 and 3600".into());
        }
        let otp_cooldown = Duration::from_secs(otp_cooldown_secs);
        let argon2_memory_kib = p.parse("argon2_memory_kib", "a whole number of KiB", 19_456);
        if !(8..=1_048_576).contains(&argon2_memory_kib) {
            p.fail("argon2_memory_kib", "must be between 8 and 1048576".into());
        }
        let argon2_iterations = p.parse("argon2_iterations", "a whole number", 2);
        if !(1..=10).contains(&argon2_iterations) {
            p.fail("argon2_iterations", "must be between 1 and 10".into());
        }
        let admin = admin(p);
        Self {
            jwt_keys,
            jwt_issuer,
            jwt_audience,
            access_token_ttl,
            refresh_token_ttl,
            otp_secret,
            otp_cooldown,
            argon2_memory_kib,
            argon2_iterations,
            admin,
        }
    }
}

/// The `kid:secret` pairs of `jwt_keys`.
fn jwt_keys(p: &mut Parser, env: Environment) -> Vec<(String, SecretString)> {
    let raw_keys = p.string("jwt_keys");
    let mut jwt_keys = Vec::new();
    for pair in raw_keys.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match pair.split_once(':') {
            Some((kid, secret)) if !kid.is_empty() && secret.len() >= 32 => {
                if env == Environment::Production {
                    if let Some(why) = weak_production_secret(secret) {
                        p.fail("jwt_keys", format!("key `{kid}` {why}"));
                    }
                }
                jwt_keys.push((kid.to_owned(), SecretString::from(secret.to_owned())));
            }
            _ => {
                p.fail(
                    "jwt_keys",
                    "must be `kid:secret` pairs with secrets of at least 32 bytes".into(),
                );
                break;
            }
        }
    }
    if jwt_keys.is_empty()
        && p.layers
            .errors
            .iter()
            .all(|e| !e.contains("BAZAAR_JWT_KEYS"))
    {
        p.fail("jwt_keys", "must name at least one key".into());
    }
    jwt_keys
}

/// The admin's phone and password: both or neither.
fn admin(p: &mut Parser) -> Option<(String, SecretString)> {
    let admin_phone = p.raw("admin_phone").map(str::to_owned);
    let admin_password = p
        .raw("admin_password")
        .map(|s| SecretString::from(s.to_owned()));
    match (admin_phone, admin_password) {
        (Some(phone), Some(password)) => {
            if crate::domain::user::Phone::parse("admin_phone", &phone).is_err() {
                p.fail("admin_phone", "is not a valid phone number".into());
            }
            if crate::domain::user::Password::parse("admin_password", password.expose_secret())
                .is_err()
            {
                p.fail("admin_password", "must be 8 to 128 characters".into());
            }
            Some((phone, password))
        }
        (None, None) => None,
        (Some(_), None) => {
            p.fail(
                "admin_password",
                "is required with BAZAAR_ADMIN_PHONE".into(),
            );
            None
        }
        (None, Some(_)) => {
            p.fail(
                "admin_phone",
                "is required with BAZAAR_ADMIN_PASSWORD".into(),
            );
            None
        }
    }
}
