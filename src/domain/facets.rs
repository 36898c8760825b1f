//! Facets: counts of the products matching a list query, by category, by tag, by
//! price range and by option value, so a storefront can draw its filter sidebar from
//! the same answer.

use super::money::Paise;
use super::product::Product;
use super::validation::FieldError;

/// Tags are counted for the most frequent ones only; a catalog may have thousands.
pub const TAGS_SHOWN: usize = 20;
/// Option names counted, the most offered first: each product has at most 3 options,
/// but a catalog may name many (Size, Colour, Pack, Flavour…).
pub const OPTION_NAMES_SHOWN: usize = 10;
/// Values counted per option name, the most offered first (an option allows up to 30
/// per product, and products differ).
pub const OPTION_VALUES_SHOWN: usize = 20;

/// Price ranges in paise: `[from, to)`, the last open-ended. ₹0–499, ₹500–999,
/// ₹1,000–2,499, ₹2,500–4,999, ₹5,000 and up.
pub const PRICE_BOUNDS: [i64; 5] = [0, 50_000, 100_000, 250_000, 500_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Category,
    Tags,
    PriceRange,
    Options,
}

impl Facet {
    pub const NAMES: [&'static str; 4] = ["category", "tags", "price_range", "options"];

    fn parse(name: &str) -> Option<Self> {
        match name {
            "category" => Some(Self::Category),
            "tags" => Some(Self::Tags),
            "price_range" => Some(Self::PriceRange),
            "options" => Some(Self::Options),
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
    pub options: bool,
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
                Some(Facet::Options) => set.options = true,
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
        if self.options {
            names.push("options");
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

/// How many products offer an option name, and each of its values (see
/// [`Product::offered_values`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionCount {
    pub name: String,
    pub count: u64,
    pub values: Vec<ValueCount>,
}

/// Counts for the facets asked for (`None` for those not asked for). Value
/// counts are most frequent first, ties by value; every price range is listed,
/// empty ones with 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub category: Option<Vec<ValueCount>>,
    pub tags: Option<Vec<ValueCount>>,
    pub price_range: Option<Vec<RangeCount>>,
    pub options: Option<Vec<OptionCount>>,
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

/// The option facet from per-name counts and per-(name, value) counts: the
/// [`OPTION_NAMES_SHOWN`] most offered names, each with its [`OPTION_VALUES_SHOWN`] most
/// offered values, both in [`top`]'s order.
pub fn option_counts(
    names: Vec<ValueCount>,
    values: Vec<(String, ValueCount)>,
) -> Vec<OptionCount> {
    let mut by_name: std::collections::HashMap<String, Vec<ValueCount>> = Default::default();
    for (name, count) in values {
        by_name.entry(name).or_default().push(count);
    }
    top(names, OPTION_NAMES_SHOWN)
        .into_iter()
        .map(|n| OptionCount {
            values: top(
                by_name.remove(&n.value).unwrap_or_default(),
                OPTION_VALUES_SHOWN,
            ),
            name: n.value,
            count: n.count,
        })
        .collect()
}

impl Facets {
    /// Counts `products` (already filtered) directly: the in-memory backend's way,
    /// and the reference the database's is held to.
    pub fn count<'a>(wanted: FacetSet, products: impl Iterator<Item = &'a Product>) -> Self {
        use std::collections::HashMap;
        let mut categories: HashMap<&str, u64> = HashMap::new();
        let mut tags: HashMap<&str, u64> = HashMap::new();
        let mut prices = [0u64; PRICE_BOUNDS.len()];
        let mut names: HashMap<&str, u64> = HashMap::new();
        let mut offered: HashMap<(&str, &str), u64> = HashMap::new();
        for p in products {
            *categories.entry(p.category.as_str()).or_default() += 1;
            for t in &p.tags {
                *tags.entry(t.as_str()).or_default() += 1;
            }
            prices[price_bucket(p.price.get())] += 1;
            for o in &p.options {
                *names.entry(o.name.as_str()).or_default() += 1;
            }
            for pair in p.offered_values() {
                *offered.entry(pair).or_default() += 1;
            }
        }
        let values_of = |map: HashMap<&str, u64>| {
            map.into_iter()
                .map(|(value, count)| ValueCount {
                    value: value.to_owned(),
                    count,
                })
                .collect::<Vec<_>>()
        };
        Self {
            category: wanted
                .category
                .then(|| top(values_of(categories), usize::MAX)),
            tags: wanted.tags.then(|| top(values_of(tags), TAGS_SHOWN)),
            price_range: wanted.price_range.then(|| price_ranges(prices)),
            options: wanted.options.then(|| {
                let values = offered
                    .into_iter()
                    .map(|((name, value), count)| {
                        let value = value.to_owned();
                        (name.to_owned(), ValueCount { value, count })
                    })
                    .collect();
                option_counts(values_of(names), values)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_lists_parse_and_unknown_names_are_refused() {
        let set = FacetSet::parse("facets", "options, tags, price_range").unwrap();
        assert!(set.tags && set.price_range && set.options && !set.category);
        assert_eq!(set.as_param(), "tags,price_range,options");
        let err = FacetSet::parse("facets", "category,colour").unwrap_err();
        assert_eq!(err.code, "unknown_facet");
        assert!(err.message.contains("colour"));
    }

    #[test]
    fn option_counts_keep_the_most_offered_names_and_values() {
        let count = |value: &str, count| ValueCount {
            value: value.into(),
            count,
        };
        let names = (0..12)
            .map(|i| count(&format!("N{i:02}"), 12 - i))
            .collect();
        let values = (0..25)
            .map(|i| ("N00".to_owned(), count(&format!("v{i:02}"), i % 2 + 1)))
            .collect();
        let shown = option_counts(names, values);
        assert_eq!(shown.len(), OPTION_NAMES_SHOWN);
        assert_eq!((shown[0].name.as_str(), shown[0].count), ("N00", 12));
        assert_eq!(shown[0].values.len(), OPTION_VALUES_SHOWN);
        assert_eq!(
            shown[0].values[0],
            count("v01", 2),
            "most first, ties by value"
        );
        assert_eq!(shown[0].values[12], count("v00", 1));
        assert!(shown[1].values.is_empty());
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
