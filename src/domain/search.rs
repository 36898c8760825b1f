//! Catalog search: what `q` matches and how matches are ranked.
//!
//! Matching is literal (never a pattern), case- and accent-insensitive: both
//! sides are *folded* — lower-cased, decomposed, and stripped of Latin accents —
//! so `creme` finds "Crème brûlée". Only the Latin combining marks are dropped:
//! Devanagari and other Indic vowel signs are letters, and dropping them would
//! make different words match.

use unicode_normalization::UnicodeNormalization;

use super::product::Product;
use super::validation::{char_len, FieldError};

pub const Q_MAX: usize = 200;

/// The combining diacritical marks block (U+0300–U+036F): accents on Latin letters.
fn is_latin_accent(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// `text` as search compares it.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_latin_accent(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a product is searched by: its folded name, description, tags and SKUs (its own
/// and its variants'), one per line.
pub fn searchable_text(p: &Product) -> String {
    let mut text = fold(p.name.as_str());
    if let Some(d) = &p.description {
        text.push('\n');
        text.push_str(&fold(d.as_str()));
    }
    for t in &p.tags {
        text.push('\n');
        text.push_str(&fold(t.as_str()));
    }
    for sku in p.skus() {
        text.push('\n');
        text.push_str(&fold(sku.as_str()));
    }
    text
}

/// How well a product matches, best first. The order of results with `sort=relevance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// The name is exactly the search text.
    ExactName = 0,
    /// The name contains it.
    InName = 1,
    /// Only the description or a tag contains it.
    Elsewhere = 2,
}

impl Rank {
    pub const ALL: [Rank; 3] = [Rank::ExactName, Rank::InName, Rank::Elsewhere];

    pub fn from_digit(d: char) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| d == char::from(b'0' + *r as u8))
    }
}

/// Text to look for, literally. Control characters are refused (they could only
/// ever match across field boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    text: String,
    folded: String,
}

impl SearchText {
    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if char_len(text) > Q_MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {Q_MAX} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Some(Self {
            text: text.to_owned(),
            folded: fold(text),
        }))
    }

    /// The text as the client sent it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The folded text, which is what is compared.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    pub fn matches(&self, p: &Product) -> bool {
        searchable_text(p).contains(&self.folded)
    }

    pub fn rank(&self, p: &Product) -> Rank {
        let name = fold(p.name.as_str());
        if name == self.folded {
            Rank::ExactName
        } else if name.contains(&self.folded) {
            Rank::InName
        } else {
            Rank::Elsewhere
        }
    }
}

/// The sort key of `sort=relevance`: rank, then name, as text (`"0:Name"`), so it
/// orders and pages like any other text key (ids break ties).
pub fn relevance_key(rank: Rank, name: &str) -> String {
    format!("{}:{name}", rank as u8)
}

/// Splits a relevance key back into its rank and name.
pub fn split_relevance_key(key: &str) -> Option<(Rank, &str)> {
    let mut chars = key.chars();
    let rank = Rank::from_digit(chars.next()?)?;
    let name = key.get(1..)?.strip_prefix(':')?;
    Some((rank, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_latin_accents_but_keeps_indic_vowel_signs() {
        assert_eq!(fold("Crème BRÛLÉE"), "creme brulee");
        assert_eq!(fold("Ångström"), "angstrom");
        // कुर्ता (kurta) must not fold into कर्ता (doer).
        assert_ne!(fold("कुर्ता"), fold("कर्ता"));
        assert_eq!(fold("कुर्ता"), "कुर्ता".nfd().collect::<String>());
    }

    #[test]
    fn regex_metacharacters_are_plain_text() {
        let q = SearchText::parse("q", ".*(").unwrap().unwrap();
        assert_eq!(q.folded(), ".*(");
    }

    #[test]
    fn control_characters_and_overlong_text_are_refused() {
        assert_eq!(
            SearchText::parse("q", "a\nb").unwrap_err().code,
            "invalid_characters"
        );
        let long = "x".repeat(Q_MAX + 1);
        assert_eq!(SearchText::parse("q", &long).unwrap_err().code, "too_long");
        assert_eq!(SearchText::parse("q", "   ").unwrap(), None);
    }

    #[test]
    fn relevance_keys_round_trip() {
        let key = relevance_key(Rank::InName, "Tea: green");
        assert_eq!(
            split_relevance_key(&key),
            Some((Rank::InName, "Tea: green"))
        );
        assert_eq!(split_relevance_key("7:x"), None);
        assert_eq!(split_relevance_key(""), None);
    }
}
