//! The settings table's row, and the joining of each section's rows into one table.
//!
//! Each section declares its rows beside the code that parses them, and the parser refuses
//! to read a name that has no row, so a setting cannot be read without being in the table
//! that gives its default, marks it secret and documents it.

/// Every setting's environment variable starts with this.
pub const ENV_PREFIX: &str = "BAZAAR_";

/// One setting: its name, default, whether it is secret, and what it means.
/// `docs/configuration.md`'s table is generated from these rows ([`settings_table`]); `help` is
/// its *meaning* column, in markdown.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    pub key: &'static str,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

/// `addr` → `BAZAAR_ADDR`.
pub(super) fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The row of `key`, if it is a setting.
pub(super) fn spec(key: &str) -> Option<&'static SettingSpec> {
    super::SETTINGS.iter().find(|s| s.key == key)
}

/// The settings table of `docs/configuration.md`, generated from [`SETTINGS`](super::SETTINGS)
/// in its order: variable, default, and the `help` of each row, secrets marked **Secret.**
/// A secret's development default is not printed (production refuses it anyway).
pub fn settings_table() -> String {
    let mut table = String::from("\n| variable | default | meaning |\n|---|---|---|\n");
    for setting in super::SETTINGS.iter() {
        let default = match setting.default {
            None => "*(unset)*".to_owned(),
            Some("") => "*(empty)*".to_owned(),
            Some(_) if setting.secret => "a development value".to_owned(),
            Some(value) => format!("`{value}`"),
        };
        let secret = if setting.secret { "**Secret.** " } else { "" };
        table.push_str(&format!(
            "| `{}` | {default} | {secret}{} |\n",
            env_name(setting.key),
            setting.help.replace('|', "\\|")
        ));
    }
    table
}

/// How many rows `sections` hold together.
pub(super) const fn count(sections: &[&[SettingSpec]]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < sections.len() {
        n += sections[i].len();
        i += 1;
    }
    n
}

/// The rows of `sections` end to end, as one table of `N` rows (`N` from [`count`]).
pub(super) const fn concat<const N: usize>(sections: &[&[SettingSpec]]) -> [SettingSpec; N] {
    const BLANK: SettingSpec = SettingSpec {
        key: "",
        default: None,
        secret: false,
        help: "",
    };
    let mut table = [BLANK; N];
    let mut n = 0;
    let mut i = 0;
    while i < sections.len() {
        let mut j = 0;
        while j < sections[i].len() {
            table[n] = sections[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "N must be the count of the sections' rows");
    table
}
