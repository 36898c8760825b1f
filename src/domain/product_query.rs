//! The product list query language: filters, sorting and both pagination styles.
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

use super::ids::ProductId;
use super::money::Paise;
use super::product::{Categories, Category, Product, Tag};
use super::validation::{char_len, Collector, FieldError};

pub const LIMIT_DEFAULT: u32 = 20;
pub const LIMIT_MAX: u32 = 100;
pub const PAGE_MAX: u32 = 10_000;
pub const Q_MAX: usize = 200;

/// Text to look for in name and description, literally and ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    text: String,
    folded: String,
}

impl SearchText {
    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if char_len(text) > Q_MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {Q_MAX} characters"),
            ));
        }
        Ok(Some(Self {
            text: text.to_owned(),
            folded: text.to_lowercase(),
        }))
    }

    /// The text as the client sent it (trimmed). Treat it as a literal.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `haystack` contains this text, ignoring case.
    pub fn matches(&self, haystack: &str) -> bool {
        haystack.to_lowercase().contains(&self.folded)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub category: Option<Category>,
    pub price_min: Option<Paise>,
    pub price_max: Option<Paise>,
    pub tag: Option<Tag>,
    pub q: Option<SearchText>,
}

impl ProductFilter {
    pub fn matches(&self, p: &Product) -> bool {
        self.category.as_ref().is_none_or(|c| &p.category == c)
            && self.price_min.is_none_or(|min| p.price >= min)
            && self.price_max.is_none_or(|max| p.price <= max)
            && self.tag.as_ref().is_none_or(|t| p.tags.contains(t))
            && self.q.as_ref().is_none_or(|q| {
                q.matches(p.name.as_str())
                    || p.description
                        .as_ref()
                        .is_some_and(|d| q.matches(d.as_str()))
            })
    }

    /// A short digest of the filter, so a cursor is only accepted by the query it came from.
    fn fingerprint(&self) -> String {
        let canonical = format!(
            "c={:?};min={:?};max={:?};t={:?};q={:?}",
            self.category.as_ref().map(Category::as_str),
            self.price_min.map(Paise::get),
            self.price_max.map(Paise::get),
            self.tag.as_ref().map(Tag::as_str),
            self.q.as_ref().map(SearchText::as_str),
        );
        hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Price,
    CreatedAt,
    Name,
}

/// A sort order. Ties are always broken by id in the same direction, so the order
/// is total and keyset pagination is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    pub const ALLOWED: [&'static str; 5] = ["price", "-price", "created_at", "-created_at", "name"];

    /// Newest first, which is what a storefront shows by default.
    pub const DEFAULT: Sort = Sort {
        field: SortField::CreatedAt,
        descending: true,
    };

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let sort_field = match name {
            "price" => SortField::Price,
            "created_at" => SortField::CreatedAt,
            "name" if !descending => SortField::Name,
            _ => {
                return Err(FieldError::new(
                    field,
                    "unknown_sort",
                    format!("must be one of: {}", Self::ALLOWED.join(", ")),
                ))
            }
        };
        Ok(Self {
            field: sort_field,
            descending,
        })
    }

    pub fn as_str(self) -> &'static str {
        match (self.field, self.descending) {
            (SortField::Price, false) => "price",
            (SortField::Price, true) => "-price",
            (SortField::CreatedAt, false) => "created_at",
            (SortField::CreatedAt, true) => "-created_at",
            (SortField::Name, _) => "name",
        }
    }

    pub fn value_of(self, p: &Product) -> SortValue {
        match self.field {
            SortField::Price => SortValue::Int(p.price.get()),
            SortField::CreatedAt => SortValue::Int(p.created_at.timestamp_millis()),
            SortField::Name => SortValue::Text(p.name.as_str().to_owned()),
        }
    }

    /// Compares two products in this order (ids break ties).
    pub fn compare(self, a: &Product, b: &Product) -> std::cmp::Ordering {
        let ord = self
            .value_of(a)
            .cmp(&self.value_of(b))
            .then_with(|| a.id.cmp(&b.id));
        if self.descending {
            ord.reverse()
        } else {
            ord
        }
    }
}

/// A sort key value. Names compare by code point (byte order of UTF-8), as MongoDB
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
    pub after_id: ProductId,
}

#[derive(Serialize, Deserialize)]
struct CursorToken {
    s: String,
    f: String,
    v: SortValue,
    id: String,
}

impl Cursor {
    pub fn after(product: &Product, sort: Sort) -> Self {
        Self {
            after_value: sort.value_of(product),
            after_id: product.id.clone(),
        }
    }

    /// Whether `p` comes strictly after this cursor in `sort` order.
    pub fn precedes(&self, p: &Product, sort: Sort) -> bool {
        let ord = sort
            .value_of(p)
            .cmp(&self.after_value)
            .then_with(|| p.id.cmp(&self.after_id));
        if sort.descending {
            ord.is_lt()
        } else {
            ord.is_gt()
        }
    }

    pub fn encode(&self, sort: Sort, filter: &ProductFilter) -> String {
        let token = CursorToken {
            s: sort.as_str().to_owned(),
            f: filter.fingerprint(),
            v: self.after_value.clone(),
            id: self.after_id.to_string(),
        };
        let json = serde_json::to_vec(&token).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(raw: &str, sort: Sort, filter: &ProductFilter) -> Result<Self, String> {
        let malformed =
            || "the cursor is malformed; use a `next_cursor` from a previous page".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| malformed())?;
        let token: CursorToken = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        if token.s != sort.as_str() || token.f != filter.fingerprint() {
            return Err(
                "the cursor belongs to a different sort or filter; repeat the query it came from"
                    .to_owned(),
            );
        }
        let value_fits = matches!(
            (&token.v, sort.field),
            (SortValue::Int(_), SortField::Price | SortField::CreatedAt)
                | (SortValue::Text(_), SortField::Name)
        );
        let id = ProductId::parse(&token.id).map_err(|_| malformed())?;
        if !value_fits {
            return Err(malformed());
        }
        Ok(Self {
            after_value: token.v,
            after_id: id,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub filter: ProductFilter,
    pub sort: Sort,
    pub limit: u32,
    pub pagination: Pagination,
}

impl ProductQuery {
    /// Items to skip in page mode.
    pub fn offset(&self) -> u64 {
        match self.pagination {
            Pagination::Page(page) => u64::from(page - 1) * u64::from(self.limit),
            Pagination::Cursor(_) => 0,
        }
    }
}

/// List parameters as they arrive.
#[derive(Debug, Clone, Default)]
pub struct RawProductQuery {
    pub category: Option<String>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub tag: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub page: Option<i64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum QueryError {
    Invalid(Vec<FieldError>),
    Cursor(String),
}

impl ProductQuery {
    pub fn parse(raw: &RawProductQuery, categories: &Categories) -> Result<Self, QueryError> {
        let mut errors = Collector::default();
        let category = raw
            .category
            .as_deref()
            .and_then(|c| errors.take(categories.parse("category", c)));
        let price_min = raw
            .price_min
            .and_then(|p| errors.take(Paise::parse_bound("price_min", p)));
        let price_max = raw
            .price_max
            .and_then(|p| errors.take(Paise::parse_bound("price_max", p)));
        if let (Some(min), Some(max)) = (price_min, price_max) {
            if min > max {
                errors.push(FieldError::new(
                    "price_max",
                    "less_than_min",
                    "must not be less than price_min",
                ));
            }
        }
        let tag = raw
            .tag
            .as_deref()
            .and_then(|t| errors.take(Tag::parse("tag", t)));
        let q = raw
            .q
            .as_deref()
            .and_then(|q| errors.take(SearchText::parse("q", q)).flatten());
        let sort = match raw.sort.as_deref() {
            Some(s) => errors.take(Sort::parse("sort", s)).unwrap_or(Sort::DEFAULT),
            None => Sort::DEFAULT,
        };
        let limit = match raw.limit {
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
        let page = match raw.page {
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
        if raw.page.is_some() && raw.cursor.is_some() {
            errors.push(FieldError::new(
                "page",
                "conflicts_with_cursor",
                "use either `page` or `cursor`, not both",
            ));
        }
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = ProductFilter {
            category,
            price_min,
            price_max,
            tag,
            q,
        };
        let pagination = match (page, raw.cursor.as_deref()) {
            (Some(page), _) => Pagination::Page(page),
            (None, Some(raw_cursor)) => Pagination::Cursor(Some(
                Cursor::decode(raw_cursor, sort, &filter).map_err(QueryError::Cursor)?,
            )),
            (None, None) => Pagination::Cursor(None),
        };
        Ok(Self {
            filter,
            sort,
            limit,
            pagination,
        })
    }
}

/// One page of a product list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub has_next: bool,
    /// Matching products in all pages; counted in page mode only.
    pub total: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Categories {
        Categories::new(vec!["books".into()])
    }

    #[test]
    fn every_bad_parameter_is_reported() {
        let raw = RawProductQuery {
            price_min: Some(-1),
            sort: Some("colour".into()),
            limit: Some(10_000),
            category: Some("cars".into()),
            ..Default::default()
        };
        let QueryError::Invalid(errors) = ProductQuery::parse(&raw, &cats()).unwrap_err() else {
            panic!("expected field errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["category", "price_min", "sort", "limit"]);
    }

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_query() {
        let sort = Sort::parse("sort", "-price").unwrap();
        let filter = ProductFilter::default();
        let cursor = Cursor {
            after_value: SortValue::Int(500),
            after_id: ProductId::generate(),
        };
        let token = cursor.encode(sort, &filter);
        assert_eq!(Cursor::decode(&token, sort, &filter).unwrap(), cursor);
        assert!(Cursor::decode(&token, Sort::DEFAULT, &filter).is_err());
        let other = ProductFilter {
            price_min: Some(Paise::parse_bound("p", 1).unwrap()),
            ..Default::default()
        };
        assert!(Cursor::decode(&token, sort, &other).is_err());
        assert!(Cursor::decode("not a cursor!", sort, &filter).is_err());
        assert!(Cursor::decode("eyJ4IjoxfQ", sort, &filter).is_err());
    }

    #[test]
    fn regex_metacharacters_in_q_are_plain_text() {
        let q = SearchText::parse("q", ".*(").unwrap().unwrap();
        assert!(q.matches("a .*( b"));
        assert!(!q.matches("anything"));
    }
}
