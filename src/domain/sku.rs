//! SKUs: what identifies a sellable unit (a product's, or one of its variants').

use super::validation::FieldError;

pub const SKU_MAX: usize = 64;

/// Stock-keeping unit: unique across the catalog, compared case-insensitively
/// (stored upper-case so `tee-01` and `TEE-01` cannot both exist).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    /// Rebuilds a value read back from storage, which was parsed on its way in.
    /// (A category may have left the configured list since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > SKU_MAX {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("must be 1 to {SKU_MAX} characters"),
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "may contain only letters A-Z, digits, '-', '_' and '.'",
            ));
        }
        Ok(Self(raw.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
