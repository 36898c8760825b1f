//! A client's retry identity, stored with the change it guards.
//!
//! The idempotency records in Redis answer a retry once the first request has
//! finished. When it never finished — its answer lost to a timeout after the
//! write, or its process killed — the retry runs again; it then finds the change
//! the first attempt made by this key and answers from it instead of making it
//! twice (`docs/idempotency.md`, "Ambiguous failures").

/// Which request made a change: who asked, for which operation, under which
/// `Idempotency-Key` (hashed into `id`), and what they asked (`fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// Unique per caller, operation and key; what a store indexes.
    pub id: String,
    /// What the request asked: the same key with another fingerprint is a
    /// different request.
    pub fingerprint: String,
}

/// What a retry finds under its key.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<T> {
    /// The change this request made earlier: answer it.
    Same(T),
    /// The key was used for a different request.
    Reused,
}

impl RequestKey {
    /// Judges `stored`, the change found under this key's id, whose own key is
    /// `stored_key`.
    pub fn judge<T>(&self, stored_key: &RequestKey, stored: T) -> Found<T> {
        if stored_key.fingerprint == self.fingerprint {
            Found::Same(stored)
        } else {
            Found::Reused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fingerprint: &str) -> RequestKey {
        RequestKey {
            id: "k".into(),
            fingerprint: fingerprint.into(),
        }
    }

    #[test]
    fn the_same_fingerprint_is_the_same_request_and_another_is_a_reused_key() {
        assert_eq!(key("a").judge(&key("a"), 1), Found::Same(1));
        assert_eq!(key("a").judge(&key("b"), 1), Found::Reused);
    }
}
