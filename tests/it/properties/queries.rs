//! List queries: any combination of parameters is read or refused field by
//! field, never a panic, and what is read respects the list conventions.

use bazaar::domain::listing::PageRequest;
use bazaar::domain::listing::{
    offset, Pagination, Paging, QueryError, LIMIT_DEFAULT, LIMIT_MAX, PAGE_MAX,
};
use bazaar::domain::order_query::{OrderQuery, RawOrderQuery};
use bazaar::domain::outbox_query::{OutboxQuery, RawOutboxQuery};
use bazaar::domain::product::Categories;
use bazaar::domain::product_query::{ProductQuery, RawProductQuery};
use bazaar::domain::user_query::{RawUserQuery, UserQuery};
use bazaar::domain::validation::Collector;
use proptest::option;
use proptest::prelude::*;

/// Text a client might send: mostly plausible values, some anything at all.
fn text(plausible: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        3 => proptest::sample::select(plausible).prop_map(str::to_owned),
        1 => any::<String>(),
    ])
}

fn number() -> impl Strategy<Value = Option<i64>> {
    option::of(prop_oneof![3 => -5i64..=150, 1 => 0i64..=20_000, 1 => any::<i64>()])
}

fn cursor() -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        Just("eyJzIjoiLWNyZWF0ZWRfYXQifQ".to_owned()),
        any::<String>()
    ])
}

fn raw_product_query() -> impl Strategy<Value = RawProductQuery> {
    (
        (
            text(&["books", "toys", "Books", ""]),
            number(),
            number(),
            text(&["sale", "new", "a b"]),
            text(&["true", "false", "True", "yes", ""]),
        ),
        (
            text(&["tea", "  ", "cotton saree"]),
            text(&[
                "price",
                "-price",
                "name",
                "-created_at",
                "relevance",
                "stock",
            ]),
            number(),
            cursor(),
            number(),
            text(&[
                "category",
                "tag,price",
                "price,price",
                "nope",
                "options,tags",
            ]),
        ),
    )
        .prop_map(
            |(
                (category, price_min, price_max, tag, in_stock),
                (q, sort, limit, cursor, page, facets),
            )| {
                RawProductQuery {
                    category,
                    price_min,
                    price_max,
                    tag,
                    q,
                    sort,
                    facets,
                    in_stock,
                    paging: PageRequest {
                        limit,
                        cursor,
                        page,
                    },
                }
            },
        )
}

/// What every list shares: the limit and the mode.
fn check_paging(
    limit_asked: Option<i64>,
    page_asked: Option<i64>,
    cursor_given: bool,
    limit: u32,
    pagination: &Pagination,
) -> Result<(), TestCaseError> {
    prop_assert!((1..=LIMIT_MAX).contains(&limit));
    prop_assert_eq!(
        i64::from(limit),
        limit_asked.unwrap_or(i64::from(LIMIT_DEFAULT))
    );
    match pagination {
        // A page wins over a cursor sent with it.
        Pagination::Page(p) => {
            prop_assert_eq!(Some(i64::from(*p)), page_asked);
            prop_assert!((1..=PAGE_MAX).contains(p));
        }
        Pagination::Cursor(c) => {
            prop_assert!(page_asked.is_none());
            prop_assert_eq!(c.is_some(), cursor_given);
        }
    }
    Ok(())
}

/// A refusal names only parameters that exist, and a cursor sent with a page
/// is never the reason (the page wins; the cursor is not even read).
fn check_refusal(
    result: &Result<(), &QueryError>,
    fields: &[&str],
    page_and_cursor: bool,
) -> Result<(), TestCaseError> {
    match result {
        Err(QueryError::Invalid(errors)) => {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(
                    fields.contains(&e.field.as_str()),
                    "unknown field {}",
                    e.field
                );
            }
        }
        Err(QueryError::Cursor(message)) => {
            prop_assert!(!message.is_empty());
            prop_assert!(!page_and_cursor, "a cursor was read beside a page");
        }
        Ok(()) => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(super::config(2_000))]

    /// Numbered pages tile the list: page 1 starts at the top, and each page
    /// starts where the one before ended, so no item is skipped or served twice.
    #[test]
    fn numbered_pages_tile_the_list(limit in 1..=LIMIT_MAX, page in 1..PAGE_MAX) {
        let start = |p: u32| offset(&Pagination::Page(p), limit);
        prop_assert_eq!(start(1), 0);
        prop_assert_eq!(start(page + 1), start(page) + u64::from(limit));
        prop_assert_eq!(offset(&Pagination::Cursor(None), limit), 0);
    }

    /// Every limit and page the conventions allow is taken as given.
    #[test]
    fn every_allowed_limit_and_page_is_taken_as_given(
        limit in proptest::option::of(1..=i64::from(LIMIT_MAX)),
        page in proptest::option::of(1..=i64::from(PAGE_MAX)),
    ) {
        let mut errors = Collector::default();
        let paging = Paging::parse(limit, page, &mut errors);
        prop_assert!(errors.is_empty());
        prop_assert_eq!(i64::from(paging.limit), limit.unwrap_or(i64::from(LIMIT_DEFAULT)));
        prop_assert_eq!(paging.page.map(i64::from), page);
    }

    #[test]
    fn any_product_query_is_read_or_refused_by_field(raw in raw_product_query()) {
        let categories = Categories::new(vec!["books".into(), "toys".into()]);
        let parsed = ProductQuery::parse(&raw, &categories);
        let page_and_cursor = raw.paging.page.is_some() && raw.paging.cursor.is_some();
        if let Ok(q) = &parsed {
            check_paging(raw.paging.limit, raw.paging.page, raw.paging.cursor.is_some(), q.limit, &q.pagination)?;
        }
        let fields = ["category", "price_min", "price_max", "tag", "q", "sort", "limit", "page", "facets", "in_stock", "cursor"];
        check_refusal(&parsed.as_ref().map(|_| ()), &fields, page_and_cursor)?;
    }

    #[test]
    fn any_order_query_is_read_or_refused_by_field(
        status in text(&["paid", "pending_payment", "PAID", "refunded"]),
        from in text(&["2026-11-27", "2026-11-27T10:00:00Z", "2026-02-30", "yesterday"]),
        to in text(&["2026-12-01", "2026-11-01T00:00:00+05:30"]),
        sort in text(&["created_at", "-created_at", "-total", "total", "name"]),
        limit in number(), cursor in cursor(), page in number(),
        flagged in text(&["true", "false", "yes"]),
    ) {
        let raw = RawOrderQuery {
            status, from, to, sort, flagged,
            paging: PageRequest { limit, cursor, page },
        };
        let parsed = OrderQuery::parse(&raw, None);
        if let Ok(q) = &parsed {
            check_paging(raw.paging.limit, raw.paging.page, raw.paging.cursor.is_some(), q.limit, &q.pagination)?;
        }
        let fields = ["status", "from", "to", "sort", "limit", "page", "flagged", "cursor"];
        check_refusal(&parsed.as_ref().map(|_| ()), &fields, raw.paging.page.is_some() && raw.paging.cursor.is_some())?;
    }

    #[test]
    fn any_user_query_is_read_or_refused_by_field(
        role in text(&["admin", "customer", "staff", "root"]),
        status in text(&["active", "disabled", "locked", "gone"]),
        q in text(&["asha", "+9198", ""]),
        sort in text(&["created_at", "-created_at", "name", "-phone"]),
        limit in number(), cursor in cursor(), page in number(),
    ) {
        let raw = RawUserQuery { role, status, q, sort, paging: PageRequest { limit, cursor, page } };
        let parsed = UserQuery::parse(&raw);
        if let Ok(u) = &parsed {
            check_paging(raw.paging.limit, raw.paging.page, raw.paging.cursor.is_some(), u.limit, &u.pagination)?;
        }
        let fields = ["role", "status", "q", "sort", "limit", "page", "cursor"];
        check_refusal(&parsed.as_ref().map(|_| ()), &fields, raw.paging.page.is_some() && raw.paging.cursor.is_some())?;
    }

    #[test]
    fn any_outbox_query_is_read_or_refused_by_field(
        state in text(&["pending", "sent", "dead", "skipped", "lost"]),
        limit in number(), cursor in cursor(), page in number(),
    ) {
        let raw = RawOutboxQuery { state, paging: PageRequest { limit, cursor, page } };
        let parsed = OutboxQuery::parse(&raw);
        if let Ok(o) = &parsed {
            check_paging(raw.paging.limit, raw.paging.page, raw.paging.cursor.is_some(), o.limit, &o.pagination)?;
        }
        let fields = ["state", "limit", "page", "cursor"];
        check_refusal(&parsed.as_ref().map(|_| ()), &fields, raw.paging.page.is_some() && raw.paging.cursor.is_some())?;
    }
}
