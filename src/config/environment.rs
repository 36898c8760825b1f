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
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec { key: "env", default: Some("development"), secret: false, help: "`development` or `production`; production refuses in-memory backends and default secrets" },
    ];

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
