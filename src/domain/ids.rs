//! Resource identifiers.

use std::fmt;

/// A product id: 24 lowercase hex characters (the shape of a MongoDB ObjectId, which
/// sorts by creation time). Generated here, so both storage backends agree on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductId(String);

impl ProductId {
    pub fn generate() -> Self {
        Self(bson::oid::ObjectId::new().to_hex())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        if super::listing::is_object_id(raw) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err("must be 24 hexadecimal characters".to_owned())
        }
    }

    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
