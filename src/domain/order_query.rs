//! The order list query: whose orders, which status, which dates; newest first
//! by default. Pagination is shared with the other lists.

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::listing::{
    fingerprint, Cursor, ListPage, PageRequest, Pagination, Paging, QueryError, SortValue,
};
use super::order::status::OrderStatus;
use super::order::Order;
use super::validation::{parse_bool, Collector, FieldError};

pub type OrderPage = ListPage<Order>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only this customer's orders (always set for customers).
    pub user: Option<UserId>,
    pub status: Option<OrderStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Only orders with flags (or only those without).
    pub flagged: Option<bool>,
}

impl OrderFilter {
    pub fn matches(&self, o: &Order) -> bool {
        self.user.as_ref().is_none_or(|u| &o.user_id == u)
            && self.status.is_none_or(|s| o.status == s)
            && self.from.is_none_or(|t| o.created_at >= t)
            && self.to.is_none_or(|t| o.created_at < t)
            && self.flagged.is_none_or(|f| o.flags.is_empty() != f)
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&format!(
            "u={:?};s={:?};f={:?};t={:?}{}",
            self.user.as_ref().map(UserId::as_str),
            self.status.map(OrderStatus::as_str),
            self.from.map(|t| t.timestamp_millis()),
            self.to.map(|t| t.timestamp_millis()),
            // Only when set, so cursors made before the filter existed still hold.
            self.flagged.map(|f| format!(";x={f}")).unwrap_or_default(),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSort {
    pub descending: bool,
}

impl OrderSort {
    pub const ALLOWED: [&'static str; 2] = ["-created_at", "created_at"];

    pub fn as_str(self) -> &'static str {
        if self.descending {
            "-created_at"
        } else {
            "created_at"
        }
    }

    pub fn value_of(o: &Order) -> SortValue {
        SortValue::Int(o.created_at.timestamp_millis())
    }

    pub fn compare(self, a: &Order, b: &Order) -> std::cmp::Ordering {
        let ord = a
            .created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id));
        if self.descending {
            ord.reverse()
        } else {
            ord
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    pub filter: OrderFilter,
    pub sort: OrderSort,
    pub limit: u32,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default)]
pub struct RawOrderQuery {
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub sort: Option<String>,
    pub paging: PageRequest,
    /// `true` or `false`.
    pub flagged: Option<String>,
}

/// A time bound from a query: an RFC 3339 time, or a date meaning that day's
/// start in India (UTC+05:30), where Bazaar's days are counted.
pub fn parse_instant(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)?
                .and_local_timezone(super::analytics::ist())
                .single()
                .map(|t| t.with_timezone(&Utc))
        })
        .ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_time",
                "must be a date (2026-11-27, India time) or an RFC 3339 time (2026-11-27T10:00:00Z)",
            )
        })
}

crate::list_query!(OrderQuery, Order);

impl OrderQuery {
    /// `user` is the customer the list is limited to (`None` for staff, who
    /// see everyone's).
    pub fn parse(raw: &RawOrderQuery, user: Option<UserId>) -> Result<Self, QueryError> {
        let mut errors = Collector::default();
        let status = raw
            .status
            .as_deref()
            .and_then(|s| errors.take(OrderStatus::parse("status", s)));
        let from = raw
            .from
            .as_deref()
            .and_then(|t| errors.take(parse_instant("from", t)));
        let to = raw
            .to
            .as_deref()
            .and_then(|t| errors.take(parse_instant("to", t)));
        // `from` at or after `to` is an empty range, not an error: nothing matches it.
        // (The contract cannot relate two parameters, so it allows the pair.)
        let flagged = raw
            .flagged
            .as_deref()
            .and_then(|f| errors.take(parse_bool("flagged", f)));
        let sort = match raw.sort.as_deref() {
            None | Some("-created_at") => OrderSort { descending: true },
            Some("created_at") => OrderSort { descending: false },
            Some(_) => {
                errors.push(FieldError::new(
                    "sort",
                    "unknown_sort",
                    format!("must be one of: {}", OrderSort::ALLOWED.join(", ")),
                ));
                OrderSort { descending: true }
            }
        };
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = OrderFilter {
            user,
            status,
            from,
            to,
            flagged,
        };
        let pagination = super::listing::pagination(
            page,
            raw.paging.cursor.as_deref(),
            sort.as_str(),
            &filter.fingerprint(),
            false,
        )?;
        Ok(Self {
            filter,
            sort,
            limit,
            pagination,
        })
    }

    pub fn offset(&self) -> u64 {
        super::listing::offset(&self.pagination, self.limit)
    }

    pub fn next_cursor(&self, last: &Order) -> String {
        Cursor {
            after_value: OrderSort::value_of(last),
            after_id: last.id.to_string(),
        }
        .encode(self.sort.as_str(), &self.filter.fingerprint())
    }
}
