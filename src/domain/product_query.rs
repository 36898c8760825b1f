//! The product list query language: filters and sorting (pagination is shared,
//! see [`super::listing`]).

use super::facets::FacetSet;
use super::listing::{fingerprint, Cursor, ListPage, PageRequest, Pagination, Paging, SortValue};
use super::money::Paise;
use super::product::{Categories, Category, Product, Tag};
use super::search::{relevance_key, split_relevance_key, SearchText};
use super::validation::{parse_bool, Collector, FieldError};

pub use super::listing::{QueryError, LIMIT_DEFAULT, LIMIT_MAX, PAGE_MAX};
pub use super::search::Q_MAX;

/// One page of products.
pub type ProductPage = ListPage<Product>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub category: Option<Category>,
    pub price_min: Option<Paise>,
    pub price_max: Option<Paise>,
    pub tag: Option<Tag>,
    pub q: Option<SearchText>,
    /// `Some(true)`: only products with a variant that can be bought now (see
    /// [`Product::is_buyable`]); `Some(false)`: only those with none.
    pub in_stock: Option<bool>,
}

impl ProductFilter {
    pub fn matches(&self, p: &Product) -> bool {
        self.category.as_ref().is_none_or(|c| &p.category == c)
            && self.price_matches(p)
            && self.tag.as_ref().is_none_or(|t| p.tags.contains(t))
            && self.q.as_ref().is_none_or(|q| q.matches(p))
            && self.in_stock.is_none_or(|want| p.is_buyable() == want)
    }

    /// Whether any of the product's variants costs within the price bounds.
    fn price_matches(&self, p: &Product) -> bool {
        p.variants.iter().any(|v| {
            self.price_min.is_none_or(|min| v.price >= min)
                && self.price_max.is_none_or(|max| v.price <= max)
        })
    }

    /// A short digest of the filter, so a cursor is only accepted by the query it came from.
    pub fn fingerprint(&self) -> String {
        let mut canonical = format!(
            "c={:?};min={:?};max={:?};t={:?};q={:?}",
            self.category.as_ref().map(Category::as_str),
            self.price_min.map(Paise::get),
            self.price_max.map(Paise::get),
            self.tag.as_ref().map(Tag::as_str),
            self.q.as_ref().map(SearchText::as_str),
        );
        // Only when set: cursors handed out before `in_stock` existed stay valid.
        if let Some(in_stock) = self.in_stock {
            canonical.push_str(&format!(";s={in_stock}"));
        }
        fingerprint(&canonical)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Price,
    CreatedAt,
    Name,
    /// Best match for `q` first (see [`super::search::Rank`]), then by name.
    Relevance,
}

/// A sort order. Ties are always broken by id in the same direction, so the order
/// is total and keyset pagination is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    pub const ALLOWED: [&'static str; 6] = [
        "price",
        "-price",
        "created_at",
        "-created_at",
        "name",
        "relevance",
    ];

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
            "relevance" if !descending => SortField::Relevance,
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
            (SortField::Relevance, _) => "relevance",
        }
    }

    /// Whether the sort key is text (name-like) rather than a number.
    pub fn text_key(self) -> bool {
        matches!(self.field, SortField::Name | SortField::Relevance)
    }

    /// The sort key of `p`; `q` is the search text (only relevance needs it).
    pub fn value_of(self, p: &Product, q: Option<&SearchText>) -> SortValue {
        match self.field {
            SortField::Price => SortValue::Int(p.price.get()),
            SortField::CreatedAt => SortValue::Int(p.created_at.timestamp_millis()),
            SortField::Name => SortValue::Text(p.name.as_str().to_owned()),
            SortField::Relevance => SortValue::Text(match q {
                Some(q) => relevance_key(q.rank(p), p.name.as_str()),
                None => p.name.as_str().to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub filter: ProductFilter,
    pub sort: Sort,
    pub limit: u32,
    pub pagination: Pagination,
    /// Counts to compute for the whole filtered set alongside the page.
    pub facets: FacetSet,
}

crate::list_query!(ProductQuery, Product);

impl ProductQuery {
    /// Items to skip in page mode.
    pub fn offset(&self) -> u64 {
        super::listing::offset(&self.pagination, self.limit)
    }

    /// `p`'s key in this query's order.
    pub fn sort_value(&self, p: &Product) -> SortValue {
        self.sort.value_of(p, self.filter.q.as_ref())
    }

    /// Compares two products in this query's order (ids break ties).
    pub fn compare(&self, a: &Product, b: &Product) -> std::cmp::Ordering {
        let ord = self
            .sort_value(a)
            .cmp(&self.sort_value(b))
            .then_with(|| a.id.cmp(&b.id));
        if self.sort.descending {
            ord.reverse()
        } else {
            ord
        }
    }

    /// The `next_cursor` to hand out after `last`.
    pub fn next_cursor(&self, last: &Product) -> String {
        Cursor {
            after_value: self.sort_value(last),
            after_id: last.id.to_string(),
        }
        .encode(self.sort.as_str(), &self.filter.fingerprint())
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
    pub paging: PageRequest,
    /// Comma-separated facet names.
    pub facets: Option<String>,
    /// `true` or `false`.
    pub in_stock: Option<String>,
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
        // `price_max` below `price_min` is an empty range, not an error: nothing matches it.
        // (The contract cannot relate two parameters, so it allows the pair.)
        let tag = raw
            .tag
            .as_deref()
            .and_then(|t| errors.take(Tag::parse("tag", t)));
        let q = raw
            .q
            .as_deref()
            .and_then(|q| errors.take(SearchText::parse("q", q)).flatten());
        let in_stock = raw
            .in_stock
            .as_deref()
            .and_then(|s| errors.take(parse_bool("in_stock", s)));
        // With search text, best matches come first unless another order is asked for.
        let default_sort = match q {
            Some(_) => Sort {
                field: SortField::Relevance,
                descending: false,
            },
            None => Sort::DEFAULT,
        };
        let sort = match raw.sort.as_deref() {
            Some(s) => errors.take(Sort::parse("sort", s)).unwrap_or(default_sort),
            None => default_sort,
        };
        // Without search text every product is as relevant as any other: `relevance` is
        // then the default order. (The contract cannot make `sort` depend on `q`.)
        let sort = if sort.field == SortField::Relevance && q.is_none() {
            Sort::DEFAULT
        } else {
            sort
        };
        let facets = raw
            .facets
            .as_deref()
            .and_then(|f| errors.take(FacetSet::parse("facets", f)))
            .unwrap_or_default();
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = ProductFilter {
            category,
            price_min,
            price_max,
            tag,
            q,
            in_stock,
        };
        let pagination = super::listing::pagination(
            page,
            raw.paging.cursor.as_deref(),
            sort.as_str(),
            &filter.fingerprint(),
            sort.text_key(),
        )?;
        if let (SortField::Relevance, Pagination::Cursor(Some(c))) = (sort.field, &pagination) {
            if !matches!(&c.after_value, SortValue::Text(key) if split_relevance_key(key).is_some())
            {
                return Err(QueryError::Cursor(
                    "the cursor is malformed; use a `next_cursor` from a previous page".into(),
                ));
            }
        }
        Ok(Self {
            filter,
            sort,
            limit,
            pagination,
            facets,
        })
    }
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
            category: Some("cars".into()),
            in_stock: Some("yes".into()),
            paging: PageRequest {
                limit: Some(10_000),
                ..Default::default()
            },
            ..Default::default()
        };
        let QueryError::Invalid(errors) = ProductQuery::parse(&raw, &cats()).unwrap_err() else {
            panic!("expected field errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["category", "price_min", "in_stock", "sort", "limit"]
        );
    }

    #[test]
    fn in_stock_binds_cursors_only_when_it_is_sent() {
        let with = |in_stock: Option<&str>| {
            ProductQuery::parse(
                &RawProductQuery {
                    in_stock: in_stock.map(Into::into),
                    ..Default::default()
                },
                &cats(),
            )
            .unwrap()
            .filter
        };
        assert_eq!(with(Some("true")).in_stock, Some(true));
        assert_eq!(with(Some("false")).in_stock, Some(false));
        // The digest of a query without it is the one released before it existed.
        assert_eq!(
            with(None).fingerprint(),
            fingerprint("c=None;min=None;max=None;t=None;q=None")
        );
        assert_ne!(with(Some("true")).fingerprint(), with(None).fingerprint());
        assert_ne!(
            with(Some("true")).fingerprint(),
            with(Some("false")).fingerprint()
        );
    }

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_query() {
        let raw = |sort: &str, price_min: Option<i64>, cursor: Option<String>| RawProductQuery {
            sort: Some(sort.into()),
            price_min,
            paging: PageRequest {
                cursor,
                ..Default::default()
            },
            ..Default::default()
        };
        let first = ProductQuery::parse(&raw("-price", None, None), &cats()).unwrap();
        let cursor = Cursor {
            after_value: SortValue::Int(500),
            after_id: super::super::ids::ProductId::generate().to_string(),
        };
        let token = cursor.encode("-price", &first.filter.fingerprint());
        let next = ProductQuery::parse(&raw("-price", None, Some(token.clone())), &cats()).unwrap();
        assert_eq!(next.pagination, Pagination::Cursor(Some(cursor)));
        for bad in [
            raw("price", None, Some(token.clone())),
            raw("-price", Some(1), Some(token)),
            raw("-price", None, Some("not a cursor!".into())),
            raw("-price", None, Some("eyJ4IjoxfQ".into())),
        ] {
            assert!(
                matches!(
                    ProductQuery::parse(&bad, &cats()),
                    Err(QueryError::Cursor(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn search_text_sorts_by_relevance_unless_told_otherwise() {
        let with_q = |q: Option<&str>, sort: Option<&str>| {
            ProductQuery::parse(
                &RawProductQuery {
                    q: q.map(Into::into),
                    sort: sort.map(Into::into),
                    ..Default::default()
                },
                &cats(),
            )
        };
        assert_eq!(
            with_q(Some("tea"), None).unwrap().sort.as_str(),
            "relevance"
        );
        assert_eq!(
            with_q(Some("tea"), Some("-price")).unwrap().sort.as_str(),
            "-price"
        );
        assert_eq!(with_q(None, None).unwrap().sort, Sort::DEFAULT);
        assert_eq!(
            with_q(None, Some("relevance")).unwrap().sort,
            Sort::DEFAULT,
            "without q, relevance is the default order"
        );
    }
}
