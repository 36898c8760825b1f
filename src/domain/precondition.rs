//! Preconditions on a record's version: what a client's `If-Match` asks of the
//! record it wants to change. Products, orders and users carry a `version` that
//! grows by one on every change; a use case checks the precondition on the record
//! it is about to write and writes on that same version (compare-and-set), so a
//! stale precondition changes nothing.

/// An `If-Match` precondition, already read from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `If-Match: *`: the record must exist.
    Any,
    /// The record must be at one of these versions. Empty when no tag sent
    /// could be ours, so it never matches.
    Versions(Vec<u64>),
}

impl IfMatch {
    /// Whether a record at `version` meets the precondition.
    pub fn allows(&self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(v) => v.contains(&version),
        }
    }
}

/// Whether a record at `version` meets `if_match`; no precondition always does.
pub fn met(if_match: Option<&IfMatch>, version: u64) -> bool {
    if_match.is_none_or(|m| m.allows(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_allows_every_version_and_a_list_only_its_own() {
        assert!(IfMatch::Any.allows(7));
        assert!(IfMatch::Versions(vec![2, 3]).allows(3));
        assert!(!IfMatch::Versions(vec![2, 3]).allows(4));
        assert!(!IfMatch::Versions(vec![]).allows(1));
    }

    #[test]
    fn no_precondition_is_always_met() {
        assert!(met(None, 9));
        assert!(!met(Some(&IfMatch::Versions(vec![1])), 9));
    }
}
