//! The raw values of every setting, merged from the three layers (built-in defaults, the
//! TOML file, `BAZAAR_*` variables), each remembering where it came from for error messages.

use std::collections::BTreeMap;
use std::path::Path;

use super::spec::{spec, ENV_PREFIX};
use super::SETTINGS;

/// The merged raw values, with where each came from (for error messages).
pub(super) struct Layers {
    pub(super) values: BTreeMap<&'static str, (String, &'static str)>,
    pub(super) errors: Vec<String>,
}

impl Layers {
    pub(super) fn new() -> Self {
        let values = SETTINGS
            .iter()
            .filter_map(|s| s.default.map(|d| (s.key, (d.to_owned(), "default"))))
            .collect();
        Self {
            values,
            errors: Vec::new(),
        }
    }

    pub(super) fn file(&mut self, path: &Path) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors
                    .push(format!("config file {}: {e}", path.display()));
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(format!(
                    "config file {}: not valid TOML: {e}",
                    path.display()
                ));
                return;
            }
        };
        for (key, value) in table {
            let Some(spec) = spec(&key) else {
                self.errors.push(format!(
                    "config file {}: unknown setting `{key}`",
                    path.display()
                ));
                continue;
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    self.errors.push(format!(
                        "config file {}: `{key}` must be a string, number or list, not {}",
                        path.display(),
                        other.type_str()
                    ));
                    continue;
                }
            };
            self.values.insert(spec.key, (text, "config file"));
        }
    }

    pub(super) fn env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            // BAZAAR_CONFIG names the file; BAZAAR_TEST_* belong to the test harness.
            if rest == "CONFIG" || rest.starts_with("TEST_") {
                continue;
            }
            match spec(&rest.to_ascii_lowercase()) {
                Some(spec) => {
                    self.values.insert(spec.key, (value, "environment"));
                }
                None => self.errors.push(format!(
                    "{name}: unknown setting (see docs/configuration.md for the list)"
                )),
            }
        }
    }
}
