//! A product's description: plain text, no markup.

use super::validation::{char_len, FieldError};

pub const DESCRIPTION_MAX: usize = 5000;

/// Plain-text description, at most 5000 characters. HTML is refused rather than
/// escaped: storefronts render descriptions, and markup smuggled in here is how
/// stored XSS starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Rebuilds a value read back from storage, which was parsed on its way in.
    /// (A category may have left the configured list since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    /// An empty or blank description means "none".
    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if char_len(text) > DESCRIPTION_MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {DESCRIPTION_MAX} characters"),
            ));
        }
        if looks_like_html(text) {
            return Err(FieldError::new(
                field,
                "html_not_allowed",
                "must be plain text without HTML tags or entities",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag (`<b`, `</`, `<!--`, `<?`) or a character entity (`&lt;`, `&#60;`).
fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
        || text.match_indices('&').any(|(i, _)| {
            let rest = &text[i + 1..];
            let end = rest.find(';').unwrap_or(usize::MAX);
            (2..=10).contains(&end)
                && rest[..end]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'#')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_refused_but_plain_angle_brackets_are_not() {
        for html in ["<b>bold</b>", "a </p>", "<!-- x -->", "5 &lt; 6", "&#60;"] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in ["5 < 6 and 7 > 3", "Tom & Jerry", "a <3 b", "R&D; done"] {
            assert!(!looks_like_html(text), "{text}");
        }
    }
}
