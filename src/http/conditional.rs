//! Conditional requests (RFC 9110 §13), one way for every resource that has a
//! `version`: its entity tag ([`ETag`]), `If-None-Match` on reads
//! ([`IfNoneMatch`], answered 304 by the handler) and `If-Match` on writes
//! ([`IfMatchHeader`], read into the domain's [`IfMatch`]; the use case checks it
//! on the record it writes, atomically with the write, and answers 412
//! `precondition_failed`).
//!
//! The header types describe themselves in the contract as plain strings and never
//! fail to parse: a tag that cannot be ours simply does not match.

use std::borrow::Cow;
use std::fmt;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

use crate::domain::precondition::IfMatch;

/// A strong entity tag: `"v<version>"` for a versioned record, or a digest of
/// a representation (weak, `W/"…"`, for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(String);

impl ETag {
    /// The strong tag of a record at `version`.
    pub fn of_version(version: u64) -> Self {
        Self(format!("\"v{version}\""))
    }

    /// A weak tag over an opaque value (e.g. a digest of a list's body).
    pub fn weak(opaque: &str) -> Self {
        Self(format!("W/\"{opaque}\""))
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ETag> for String {
    fn from(tag: ETag) -> String {
        tag.0
    }
}

/// Declares a request header kept as sent, described as a string in the contract.
macro_rules! text_header {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_owned()))
            }
        }
    };
}

text_header!(
    /// `If-None-Match`: `*` or a list of tags, compared weakly (RFC 9110 §13.1.2).
    IfNoneMatch
);
text_header!(
    /// `If-Match`: `*` or a list of tags, compared strongly (RFC 9110 §13.1.1).
    IfMatchHeader
);

impl IfNoneMatch {
    /// Whether the client's copy is `tag`, so a read may answer 304.
    pub fn hits(&self, tag: &ETag) -> bool {
        let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
        self.0.trim() == "*" || self.0.split(',').any(|t| bare(t) == bare(&tag.0))
    }
}

/// Whether an optional `If-None-Match` names `tag`: the read answers 304.
pub fn not_modified(if_none_match: Option<&IfNoneMatch>, tag: &ETag) -> bool {
    if_none_match.is_some_and(|h| h.hits(tag))
}

impl IfMatchHeader {
    /// The precondition: `*`, or the versions of the strong tags that are ours
    /// (weak and foreign tags never match).
    pub fn precondition(&self) -> IfMatch {
        let raw = self.0.trim();
        if raw == "*" {
            return IfMatch::Any;
        }
        let versions = raw
            .split(',')
            .map(str::trim)
            .filter(|t| !t.starts_with("W/"))
            .filter_map(|t| t.strip_prefix("\"v")?.strip_suffix('"')?.parse().ok())
            .collect();
        IfMatch::Versions(versions)
    }
}

/// The precondition of an optional `If-Match` header.
pub fn precondition(if_match: Option<&IfMatchHeader>) -> Option<IfMatch> {
    if_match.map(IfMatchHeader::precondition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none_match(raw: &str) -> IfNoneMatch {
        IfNoneMatch(raw.to_owned())
    }

    fn if_match(raw: &str) -> Option<IfMatch> {
        precondition(Some(&IfMatchHeader(raw.to_owned())))
    }

    #[test]
    fn a_version_tag_is_strong_and_quoted() {
        assert_eq!(ETag::of_version(3).to_string(), "\"v3\"");
        assert_eq!(ETag::weak("ab12").to_string(), "W/\"ab12\"");
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let v2 = ETag::of_version(2);
        assert!(none_match("W/\"v2\"").hits(&v2));
        assert!(none_match("\"x\", \"v2\"").hits(&v2));
        assert!(!none_match("\"v1\"").hits(&v2));
        assert!(none_match("*").hits(&v2));
        assert!(!not_modified(None, &v2));
    }

    #[test]
    fn if_match_reads_our_tags_and_ignores_weak_or_foreign_ones() {
        assert_eq!(if_match("*"), Some(IfMatch::Any));
        assert_eq!(
            if_match("\"v3\", W/\"v4\", \"abc\""),
            Some(IfMatch::Versions(vec![3]))
        );
        assert_eq!(precondition(None), None);
    }
}
