//! Reading one setting from the merged layers as a typed value. A bad value is recorded and
//! a fallback returned, so that parsing goes on and every problem is reported at once.

use std::time::Duration;

use secrecy::SecretString;

use super::layers::Layers;
use super::spec::{env_name, spec};
use crate::domain::validation::FieldError;

/// Parses one setting, recording an error (which never contains a secret value).
pub(super) struct Parser {
    pub(super) layers: Layers,
}

impl Parser {
    /// The raw value of `key`, unless blank. `key` must be a row of the settings table: a
    /// setting read without one could never be set, and would be documented nowhere.
    pub(super) fn raw(&self, key: &str) -> Option<&str> {
        assert!(
            spec(key).is_some(),
            "setting `{key}` is read but is in no section's SETTINGS"
        );
        self.layers
            .values
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    pub(super) fn fail(&mut self, key: &str, why: String) {
        let shown = match (spec(key), self.layers.values.get(key)) {
            (Some(s), _) if s.secret => String::new(),
            (_, Some((v, _))) => format!(" `{v}`"),
            _ => String::new(),
        };
        let from = self
            .layers
            .values
            .get(key)
            .map(|(_, from)| *from)
            .unwrap_or("default");
        self.layers
            .errors
            .push(format!("{} (from {from}):{shown} {why}", env_name(key)));
    }

    /// Whether `key` still has its built-in default (no file or variable set it).
    pub(super) fn is_default(&self, key: &str) -> bool {
        self.layers
            .values
            .get(key)
            .is_none_or(|(_, from)| *from == "default")
    }

    /// What a domain parser made of `key`'s value, or `None` after recording its error.
    pub(super) fn field<T>(&mut self, key: &str, parsed: Result<T, FieldError>) -> Option<T> {
        parsed.map_err(|e| self.fail(key, e.message)).ok()
    }

    pub(super) fn string(&mut self, key: &str) -> String {
        self.raw(key).unwrap_or_default().trim().to_owned()
    }

    pub(super) fn parse<T: std::str::FromStr>(&mut self, key: &str, what: &str, fallback: T) -> T {
        let raw = self.string(key);
        match raw.parse() {
            Ok(v) => v,
            Err(_) => {
                self.fail(key, format!("is not {what}"));
                fallback
            }
        }
    }

    pub(super) fn millis(&mut self, key: &str, min: u64, max: u64) -> Duration {
        let ms: u64 = self.parse(key, "a whole number of milliseconds", min);
        if !(min..=max).contains(&ms) {
            self.fail(key, format!("must be between {min} and {max} milliseconds"));
        }
        Duration::from_millis(ms)
    }

    pub(super) fn list(&mut self, key: &str) -> Vec<String> {
        self.string(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A name per language (`en=name,hi=name`, or a bare name for every language); see
    /// [`Localized`](crate::domain::outbox::Localized). A bad value is recorded and the bare
    /// value kept.
    pub(super) fn localized(&mut self, key: &str) -> crate::domain::outbox::Localized {
        use crate::domain::outbox::Localized;
        let raw = self.string(key);
        Localized::parse(&raw).unwrap_or_else(|why| {
            self.fail(
                key,
                format!("{why} (expected `en=name,hi=name,…` or one name)"),
            );
            Localized::parse(&raw.replace([',', '='], " ")).unwrap_or_else(|_| {
                Localized::parse("unset").expect("a bare name is a valid value")
            })
        })
    }

    pub(super) fn secret_url(&mut self, key: &str, schemes: &[&str]) -> Option<SecretString> {
        let raw = self.raw(key)?.trim().to_owned();
        if !schemes.iter().any(|s| raw.starts_with(s)) {
            self.fail(key, format!("must start with {}", schemes.join(" or ")));
        }
        Some(SecretString::from(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_of_the_table_is_read() {
        let p = Parser {
            layers: Layers::new(),
        };
        assert_eq!(p.raw("env"), Some("development"));
    }

    /// What docs/configuration.md promises: a setting cannot be read without a row.
    #[test]
    #[should_panic(expected = "is in no section's SETTINGS")]
    fn reading_a_setting_that_has_no_row_is_refused() {
        let p = Parser {
            layers: Layers::new(),
        };
        p.raw("not_a_setting");
    }
}
