//! Facets: counts of the products matching a list query, by category, by tag and
//! by price range, so a storefront can draw its filter sidebar from the same answer.

use super::money::Paise;
use super::product::Product;
use super::validation::FieldError;

/// Tags are counted for the most frequent ones only; a catalog may have thousands.
pub const TAGS_SHOWN: usize = 20;

/// Price ranges in paise: `[from, to)`, the last open-ended. ₹0–499, ₹500–999,
/// ₹1,000–2,499, ₹2,500–4,999, ₹5,000 and up.
pub const PRICE_BOUNDS: [i64; 5] = [0, 50_000, 100_000, 250_000, 500_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Category,
    Tags,
    PriceRange,
}

impl Facet {
    pub const NAMES: [&'static str; 3] = ["category", "tags", "price_range"];

    fn parse(name: &str) -> Option<Self> {
        match name {
            "category" => Some(Self::Category),
            "tags" => Some(Self::Tags),
            "price_range" => Some(Self::PriceRange),
            _ => None,
        }
    }
}

/// The facets a query asked for; empty when it asked for none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FacetSet {
    pub category: bool,
    pub tags: bool,
    pub price_range: bool,
}

impl FacetSet {
    /// Reads a comma-separated list such as `category,tags`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut set = Self::default();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Facet::parse(name) {
                Some(Facet::Category) => set.category = true,
                Some(Facet::Tags) => set.tags = true,
                Some(Facet::PriceRange) => set.price_range = true,
                None => {
                    return Err(FieldError::new(
                        field,
                        "unknown_facet",
                        format!(
                            "unknown facet `{name}`; must be a comma-separated list of: {}",
                            Facet::NAMES.join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The canonical spelling, for cache keys and links.
    pub fn as_param(&self) -> String {
        let mut names = Vec::new();
        if self.category {
            names.push("category");
        }
        if self.tags {
            names.push("tags");
        }
        if self.price_range {
            names.push("price_range");
        }
        names.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCount {
    pub from: Paise,
    /// Exclusive; `None` for the open-ended last range.
    pub to: Option<Paise>,
    pub count: u64,
}

/// Counts for the facets asked for (`None` for those not asked for). Value
/// counts are most frequent first, ties by value; every price range is listed,
/// empty ones with 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub category: Option<Vec<ValueCount>>,
    pub tags: Option<Vec<ValueCount>>,
    pub price_range: Option<Vec<RangeCount>>,
}

/// The index of the price range `price` falls in.
pub fn price_bucket(price: i64) -> usize {
    PRICE_BOUNDS
        .iter()
        .rposition(|from| price >= *from)
        .unwrap_or(0)
}

/// Every price range with its count from `counts[i]`.
pub fn price_ranges(counts: [u64; PRICE_BOUNDS.len()]) -> Vec<RangeCount> {
    PRICE_BOUNDS
        .iter()
        .enumerate()
        .map(|(i, from)| RangeCount {
            from: Paise::trusted(*from),
            to: PRICE_BOUNDS.get(i + 1).map(|to| Paise::trusted(*to)),
            count: counts[i],
        })
        .collect()
}

/// Orders value counts (most first, then by value) and keeps at most `keep`.
pub fn top(mut counts: Vec<ValueCount>, keep: usize) -> Vec<ValueCount> {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counts.truncate(keep);
    counts
}

impl Facets {
    /// Counts `products` (already filtered) directly: the in-memory backend's way,
    /// and the reference the database's is held to.
    pub fn count<'a>(wanted: FacetSet, products: impl Iterator<Item = &'a Product>) -> Self {
        use std::collections::HashMap;
        let mut categories: HashMap<&str, u64> = HashMap::new();
        let mut tags: HashMap<&str, u64> = HashMap::new();
        let mut prices = [0u64; PRICE_BOUNDS.len()];
        for p in products {
            *categories.entry(p.category.as_str()).or_default() += 1;
            for t in &p.tags {
                *tags.entry(t.as_str()).or_default() += 1;
            }
            prices[price_bucket(p.price.get())] += 1;
        }
        let values = |map: HashMap<&str, u64>| {
            map.into_iter()
                .map(|(value, count)| ValueCount {
                    value: value.to_owned(),
                    count,
                })
                .collect::<Vec<_>>()
        };
        Self {
            category: wanted.category.then(|| top(values(categories), usize::MAX)),
            tags: wanted.tags.then(|| top(values(tags), TAGS_SHOWN)),
            price_range: wanted.price_range.then(|| price_ranges(prices)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_lists_parse_and_unknown_names_are_refused() {
        let set = FacetSet::parse("facets", "tags, price_range").unwrap();
        assert!(set.tags && set.price_range && !set.category);
        assert_eq!(set.as_param(), "tags,price_range");
        let err = FacetSet::parse("facets", "category,colour").unwrap_err();
        assert_eq!(err.code, "unknown_facet");
        assert!(err.message.contains("colour"));
    }

    #[test]
    fn prices_fall_in_half_open_ranges() {
        assert_eq!(price_bucket(1), 0);
        assert_eq!(price_bucket(49_999), 0);
        assert_eq!(price_bucket(50_000), 1);
        assert_eq!(price_bucket(499_999), 3);
        assert_eq!(price_bucket(10_000_000), 4);
        let ranges = price_ranges([1, 0, 0, 0, 2]);
        assert_eq!(ranges[4].to, None);
        assert_eq!(ranges[0].to.map(Paise::get), Some(50_000));
    }
}
