//! Which profile the service runs in (`BAZAAR_ENV`); every other section may depend on it.

use super::parser::Parser;
use super::spec::SettingSpec;

/// Where the service runs. Production refuses settings that only make sense on a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl Environment {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[SettingSpec {
        key: "env",
        default: Some("development"),
        secret: false,
        help: "`development` or `production`. Production refuses in-memory backends (both URLs \
                below are required) and the local upload store (`BAZAAR_S3_ENDPOINT` is \
                required), the development JWT key and OTP secret, fake SMS and email providers, \
                a `*` CORS origin, and a missing GST seller (`BAZAAR_GST_SELLER_*`); it adds `Strict-Transport-Security`, removes \
                `/api/v1/dev/messages`, and serves `/metrics` only on its own listener or with a \
                token (`BAZAAR_METRICS_*`).",
    }];

    pub(super) fn parse(p: &mut Parser) -> Self {
        match p.string("env").as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ => {
                p.fail("env", "must be `development` or `production`".into());
                Environment::Development
            }
        }
    }
}
