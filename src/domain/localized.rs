//! Names that differ by language: the template or flow a notice is sent with, per the
//! customer's language, English being the fallback every one must have.

use std::collections::BTreeMap;

use super::user::LANGUAGES;

/// A template (or flow) name per language, with English as the fallback: what a setting
/// such as `BAZAAR_MSG91_WHATSAPP_TEMPLATE_REFUND` holds.
///
/// Written `en=order_refund,hi=order_refund_hi` (one entry per language, `en` required), or
/// as a bare name, which is the English one and so serves every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Localized {
    /// Language (from [`LANGUAGES`]) → name; always holds `en`.
    names: BTreeMap<String, String>,
}

impl Localized {
    /// The language every [`Localized`] has a name for.
    pub const FALLBACK: &'static str = "en";

    /// Reads `en=name,hi=name` or a bare `name`; says what is wrong otherwise.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if !raw.contains('=') {
            return Ok(Self {
                names: [(Self::FALLBACK.to_owned(), raw.to_owned())].into(),
            });
        }
        let mut names = BTreeMap::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((language, name)) = entry.split_once('=') else {
                return Err(format!("`{entry}` is not `language=name`"));
            };
            let (language, name) = (language.trim(), name.trim());
            if !LANGUAGES.contains(&language) {
                return Err(format!(
                    "`{language}` is not one of: {}",
                    LANGUAGES.join(", ")
                ));
            }
            if name.is_empty() {
                return Err(format!("`{language}` has no name"));
            }
            if names.insert(language.to_owned(), name.to_owned()).is_some() {
                return Err(format!("`{language}` is given twice"));
            }
        }
        if !names.contains_key(Self::FALLBACK) {
            return Err("needs an `en=` entry, the fallback for other languages".into());
        }
        Ok(Self { names })
    }

    /// The name for `language` and the language it is in: `language`'s own, or English's
    /// when there is none.
    pub fn get<'a>(&'a self, language: &'a str) -> (&'a str, &'a str) {
        match self.names.get(language) {
            Some(name) => (language, name),
            None => (Self::FALLBACK, self.fallback()),
        }
    }

    /// The English name.
    pub fn fallback(&self) -> &str {
        self.names
            .get(Self::FALLBACK)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Whether `name` is one of the names, in any language (a WhatsApp template's written
    /// `name:code` counts as `name`).
    pub fn contains(&self, name: &str) -> bool {
        self.names
            .values()
            .any(|n| n == name || n.split(':').next() == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localized_names_fall_back_to_english() {
        let names = Localized::parse("en=order_update, hi=order_update_hi").unwrap();
        assert_eq!(names.get("hi"), ("hi", "order_update_hi"));
        assert_eq!(names.get("ta"), ("en", "order_update"));
        assert!(names.contains("order_update_hi") && !names.contains("other"));
        assert!(Localized::parse("en=x:en_US").unwrap().contains("x"));
        let bare = Localized::parse("d-1234").unwrap();
        assert_eq!(bare.get("hi"), ("en", "d-1234"));
        for bad in ["", "hi=x", "en=x,xx=y", "en=x,en=y", "en=", "en=x,hi"] {
            assert!(Localized::parse(bad).is_err(), "{bad}");
        }
    }
}
