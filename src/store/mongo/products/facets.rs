//! Facet counts over a filter: one aggregation, `$match` then a `$facet` branch per
//! facet asked for.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;

use super::queries::filter_document;
use super::MongoProducts;
use crate::domain::facets::{
    self, FacetSet, Facets, ValueCount, OPTION_NAMES_SHOWN, OPTION_VALUES_SHOWN, PRICE_BOUNDS,
    TAGS_SHOWN,
};
use crate::domain::money::Paise;
use crate::domain::product_query::ProductFilter;
use crate::store::mongo::{and, classify};
use crate::store::StoreError;

pub(super) async fn facets(
    products: &MongoProducts,
    filter: &ProductFilter,
    wanted: FacetSet,
) -> Result<Facets, StoreError> {
    let branches = branches(wanted);
    if branches.is_empty() {
        return Ok(Facets::default());
    }
    let pipeline = [
        doc! { "$match": and(filter_document(filter)) },
        doc! { "$facet": branches },
    ];
    let mut cursor = products
        .collection
        .aggregate(pipeline)
        .await
        .map_err(classify)?;
    let result = cursor
        .try_next()
        .await
        .map_err(classify)?
        .unwrap_or_default();
    let values = |name: &str, keep: usize| facets::top(value_counts(&result, name), keep);
    let price_range = wanted.price_range.then(|| {
        let mut counts = [0u64; PRICE_BOUNDS.len()];
        for (from, count) in groups(&result, "price_range") {
            if let Some(from) = count_as_i64(&from) {
                counts[facets::price_bucket(from)] += count;
            }
        }
        facets::price_ranges(counts)
    });
    Ok(Facets {
        category: wanted.category.then(|| values("category", usize::MAX)),
        tags: wanted.tags.then(|| values("tags", TAGS_SHOWN)),
        price_range,
        options: wanted.options.then(|| {
            facets::option_counts(value_counts(&result, "option_names"), options(&result))
        }),
    })
}

/// The `$facet` branches for the facets `wanted`.
fn branches(wanted: FacetSet) -> Document {
    let mut branches = Document::new();
    if wanted.category {
        branches.insert(
            "category",
            vec![doc! { "$group": { "_id": "$category", "n": { "$sum": 1 } } }],
        );
    }
    if wanted.tags {
        branches.insert(
            "tags",
            vec![
                doc! { "$unwind": "$tags" },
                doc! { "$group": { "_id": "$tags", "n": { "$sum": 1 } } },
                doc! { "$sort": { "n": -1, "_id": 1 } },
                doc! { "$limit": TAGS_SHOWN as i64 },
            ],
        );
    }
    if wanted.price_range {
        let mut boundaries: Vec<i64> = PRICE_BOUNDS.to_vec();
        boundaries.push(Paise::MAX + 1);
        branches.insert(
            "price_range",
            vec![doc! { "$bucket": {
                "groupBy": "$price",
                "boundaries": boundaries,
                "output": { "n": { "$sum": 1 } },
            } }],
        );
    }
    if wanted.options {
        // `option_values` holds each offered pair once per product, so a group's size
        // is a count of products. Names: a product per (product, name) first.
        branches.insert(
            "option_names",
            vec![
                doc! { "$unwind": "$option_values" },
                doc! { "$group": { "_id": { "p": "$_id", "name": "$option_values.name" } } },
                doc! { "$group": { "_id": "$_id.name", "n": { "$sum": 1 } } },
                doc! { "$sort": { "n": -1, "_id": 1 } },
                doc! { "$limit": OPTION_NAMES_SHOWN as i64 },
            ],
        );
        // Values: one row per name, its values in `facets::top`'s order, cut to the
        // bound here so the answer stays small however many values a catalog has.
        branches.insert(
            "options",
            vec![
                doc! { "$unwind": "$option_values" },
                doc! { "$group": {
                    "_id": { "name": "$option_values.name", "value": "$option_values.value" },
                    "n": { "$sum": 1 },
                } },
                doc! { "$sort": { "n": -1, "_id.value": 1 } },
                doc! { "$group": {
                    "_id": "$_id.name",
                    "values": { "$push": { "value": "$_id.value", "n": "$n" } },
                } },
                doc! { "$project": {
                    "values": { "$slice": ["$values", OPTION_VALUES_SHOWN as i64] },
                } },
            ],
        );
    }
    branches
}

/// The rows of branch `name` as (`_id`, `n`).
fn groups(result: &Document, name: &str) -> Vec<(Bson, u64)> {
    rows(result, name)
        .map(|row| {
            let id = row.get("_id").cloned().unwrap_or(Bson::Null);
            (id, count_of(row.get("n")))
        })
        .collect()
}

fn rows<'a>(result: &'a Document, name: &str) -> impl Iterator<Item = &'a Document> {
    result
        .get_array(name)
        .into_iter()
        .flatten()
        .filter_map(Bson::as_document)
}

/// The rows of branch `name` as counts of text values.
fn value_counts(result: &Document, name: &str) -> Vec<ValueCount> {
    groups(result, name)
        .into_iter()
        .filter_map(|(id, count)| match id {
            Bson::String(value) => Some(ValueCount { value, count }),
            _ => None,
        })
        .collect()
}

/// The `options` branch as (name, value count) pairs.
fn options(result: &Document) -> Vec<(String, ValueCount)> {
    let mut pairs = Vec::new();
    for row in rows(result, "options") {
        let (Ok(name), Ok(values)) = (row.get_str("_id"), row.get_array("values")) else {
            continue;
        };
        for value in values.iter().filter_map(Bson::as_document) {
            if let Ok(text) = value.get_str("value") {
                let count = count_of(value.get("n"));
                let value = text.to_owned();
                pairs.push((name.to_owned(), ValueCount { value, count }));
            }
        }
    }
    pairs
}

/// A `$sum` result, whatever integer width the server chose.
fn count_of(value: Option<&Bson>) -> u64 {
    value.and_then(count_as_i64).map_or(0, |n| n.max(0) as u64)
}

fn count_as_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}
