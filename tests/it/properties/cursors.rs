//! Keyset cursors: what is encoded decodes, for that query only.

use bazaar::domain::listing::{Cursor, SortValue};
use proptest::prelude::*;

fn object_id() -> impl Strategy<Value = String> {
    "[0-9a-f]{24}"
}

fn sort_value() -> impl Strategy<Value = SortValue> {
    prop_oneof![
        any::<i64>().prop_map(SortValue::Int),
        // Any text, including what needs escaping in JSON and non-ASCII.
        any::<String>().prop_map(SortValue::Text),
    ]
}

fn is_text(v: &SortValue) -> bool {
    matches!(v, SortValue::Text(_))
}

proptest! {
    #![proptest_config(super::config(1_000))]

    #[test]
    fn a_cursor_decodes_to_what_was_encoded(
        value in sort_value(), id in object_id(), sort in "[a-z_-]{1,12}", filter in "[0-9a-f]{16}"
    ) {
        let cursor = Cursor { after_value: value.clone(), after_id: id.clone() };
        let token = cursor.encode(&sort, &filter);
        // URL-safe without padding: it goes into a query string as is.
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let decoded = Cursor::decode(&token, &sort, &filter, is_text(&value));
        prop_assert_eq!(decoded, Ok(cursor));
    }

    #[test]
    fn a_cursor_is_refused_for_another_sort_filter_or_key_type(
        value in sort_value(), id in object_id(),
        sort in "[a-z]{1,8}", other_sort in "[a-z]{1,8}",
        filter in "[0-9a-f]{16}", other_filter in "[0-9a-f]{16}",
    ) {
        let token = Cursor { after_value: value.clone(), after_id: id }.encode(&sort, &filter);
        if other_sort != sort {
            prop_assert!(Cursor::decode(&token, &other_sort, &filter, is_text(&value)).is_err());
        }
        if other_filter != filter {
            prop_assert!(Cursor::decode(&token, &sort, &other_filter, is_text(&value)).is_err());
        }
        prop_assert!(Cursor::decode(&token, &sort, &filter, !is_text(&value)).is_err());
    }

    /// Whatever a client sends as a cursor is refused with a message or read;
    /// nothing panics, and an id that is not an object id never gets through
    /// (it would reach the database as a key).
    #[test]
    fn any_string_as_a_cursor_is_refused_or_read_without_panicking(raw in any::<String>(), text in any::<bool>()) {
        if let Ok(c) = Cursor::decode(&raw, "created_at", "0000000000000000", text) {
            prop_assert!(c.after_id.len() == 24 && c.after_id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    /// Forged tokens: valid base64 of arbitrary JSON-ish shapes.
    #[test]
    fn a_forged_token_with_a_bad_id_is_refused(value in sort_value(), id in "[^0-9a-fA-F]{0,30}") {
        let token = Cursor { after_value: value.clone(), after_id: id }.encode("s", "f");
        prop_assert!(Cursor::decode(&token, "s", "f", is_text(&value)).is_err());
    }

    /// The next page starts strictly after the cursor, in either direction,
    /// and every other item is on exactly one side of it.
    #[test]
    fn an_item_is_after_the_cursor_in_exactly_one_direction_unless_it_is_the_cursor(
        cv in any::<i64>(), cid in object_id(), v in any::<i64>(), id in object_id()
    ) {
        let cursor = Cursor { after_value: SortValue::Int(cv), after_id: cid.clone() };
        let value = SortValue::Int(v);
        let ascending = cursor.precedes(&value, &id, false);
        let descending = cursor.precedes(&value, &id, true);
        if v == cv && id == cid {
            prop_assert!(!ascending && !descending);
        } else {
            prop_assert!(ascending != descending);
        }
    }
}
