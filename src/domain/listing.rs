//! List conventions shared by every collection: limits, numbered pages, and
//! keyset cursors.
//!
//! Cursor pagination is keyset pagination: the cursor holds the sort value and id of
//! the last item served, and the next page starts strictly after that pair. Inserts
//! made while a client pages therefore never shift or repeat items. The cursor also
//! carries the sort and a fingerprint of the filter, so it cannot be replayed against
//! a different query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use super::ids::is_object_id;
use super::validation::{Collector, FieldError};

pub const LIMIT_DEFAULT: u32 = 20;
pub const LIMIT_MAX: u32 = 100;
pub const PAGE_MAX: u32 = 10_000;

/// A sort key value. Text compares by code point (byte order of UTF-8), as MongoDB
/// compares strings without a collation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub after_value: SortValue,
    pub after_id: String,
}

#[derive(Serialize, Deserialize)]
struct CursorToken {
    s: String,
    f: String,
    v: SortValue,
    id: String,
}

/// A short digest of a canonical filter description.
pub fn fingerprint(canonical: &str) -> String {
    hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
}

impl Cursor {
    /// Whether an item with this sort value and id comes strictly after the cursor.
    pub fn precedes(&self, value: &SortValue, id: &str, descending: bool) -> bool {
        let ord = value
            .cmp(&self.after_value)
            .then_with(|| id.cmp(self.after_id.as_str()));
        if descending {
            ord.is_lt()
        } else {
            ord.is_gt()
        }
    }

    pub fn encode(&self, sort: &str, filter_fingerprint: &str) -> String {
        let token = CursorToken {
            s: sort.to_owned(),
            f: filter_fingerprint.to_owned(),
            v: self.after_value.clone(),
            id: self.after_id.clone(),
        };
        let json = serde_json::to_vec(&token).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor issued for `sort` and the filter with `filter_fingerprint`;
    /// `text_value` says whether that sort's key is text (else an integer).
    pub fn decode(
        raw: &str,
        sort: &str,
        filter_fingerprint: &str,
        text_value: bool,
    ) -> Result<Self, String> {
        let malformed =
            || "the cursor is malformed; use a `next_cursor` from a previous page".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| malformed())?;
        let token: CursorToken = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        if token.s != sort || token.f != filter_fingerprint {
            return Err(
                "the cursor belongs to a different sort or filter; repeat the query it came from"
                    .to_owned(),
            );
        }
        let value_fits = matches!(
            (&token.v, text_value),
            (SortValue::Int(_), false) | (SortValue::Text(_), true)
        );
        if !value_fits || !is_object_id(&token.id) {
            return Err(malformed());
        }
        Ok(Self {
            after_value: token.v,
            after_id: token.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pagination {
    /// Keyset pagination; `None` is the first page.
    Cursor(Option<Cursor>),
    /// Numbered pages from 1, with totals.
    Page(u32),
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    /// Matching items in all pages; counted in page mode only.
    pub total: Option<u64>,
}

/// The paging part of every list request, as sent: `limit`, `cursor` and `page`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub page: Option<i64>,
}

/// What every parsed list query gives the code that pages through it, whatever its
/// filters: the page size, where the page starts, and the cursor after an item.
pub trait ListQuery {
    type Item;
    fn limit(&self) -> u32;
    fn pagination(&self) -> &Pagination;
    /// The cursor of the page after `last`, for this query's sort and filter.
    fn cursor_after(&self, last: &Self::Item) -> String;
}

/// Implements [`ListQuery`] for a query with `limit` and `pagination` fields and a
/// `next_cursor` method.
#[macro_export]
macro_rules! list_query {
    ($query:ty, $item:ty) => {
        impl $crate::domain::listing::ListQuery for $query {
            type Item = $item;
            fn limit(&self) -> u32 {
                self.limit
            }
            fn pagination(&self) -> &$crate::domain::listing::Pagination {
                &self.pagination
            }
            fn cursor_after(&self, last: &$item) -> String {
                self.next_cursor(last)
            }
        }
    };
}

/// Limit and page number, checked the same way for every list.
pub struct Paging {
    pub limit: u32,
    pub page: Option<u32>,
}

impl Paging {
    /// A `page` sent with a `cursor` is not an error: the page wins and the cursor is
    /// ignored ([`pagination`]). The contract cannot declare two query parameters
    /// exclusive, so refusing the pair would refuse a request it allows.
    pub fn parse(limit: Option<i64>, page: Option<i64>, errors: &mut Collector) -> Self {
        let limit = match limit {
            None => LIMIT_DEFAULT,
            Some(l) if (1..=i64::from(LIMIT_MAX)).contains(&l) => l as u32,
            Some(_) => {
                errors.push(FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("must be between 1 and {LIMIT_MAX}"),
                ));
                LIMIT_DEFAULT
            }
        };
        let page = match page {
            None => None,
            Some(p) if (1..=i64::from(PAGE_MAX)).contains(&p) => Some(p as u32),
            Some(_) => {
                errors.push(FieldError::new(
                    "page",
                    "out_of_range",
                    format!("must be between 1 and {PAGE_MAX}"),
                ));
                None
            }
        };
        Self { limit, page }
    }
}

/// The pagination a query asked for: a page number (any cursor sent with it is
/// ignored, undecoded), or a cursor issued for this sort and filter, or the first
/// cursor page.
pub fn pagination(
    page: Option<u32>,
    cursor: Option<&str>,
    sort: &str,
    filter_fingerprint: &str,
    text_value: bool,
) -> Result<Pagination, QueryError> {
    Ok(match (page, cursor) {
        (Some(p), _) => Pagination::Page(p),
        (None, Some(c)) => Pagination::Cursor(Some(
            Cursor::decode(c, sort, filter_fingerprint, text_value).map_err(QueryError::Cursor)?,
        )),
        (None, None) => Pagination::Cursor(None),
    })
}

/// Items to skip in page mode.
pub fn offset(pagination: &Pagination, limit: u32) -> u64 {
    match pagination {
        Pagination::Page(page) => u64::from(page - 1) * u64::from(limit),
        Pagination::Cursor(_) => 0,
    }
}

/// Why a list query was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum QueryError {
    Invalid(Vec<FieldError>),
    Cursor(String),
}
