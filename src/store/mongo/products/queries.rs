//! Reading products: one by id, a page (by a sort field's keyset, or by relevance
//! rank for a search), and the filter documents lists and facets share.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;

use super::mapping::{object_id, ProductDoc};
use super::MongoProducts;
use crate::domain::ids::ProductId;
use crate::domain::listing::{ListPage, Pagination, SortValue};
use crate::domain::product::Product;
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery, SortField};
use crate::domain::search::{split_relevance_key, Rank, SearchText};
use crate::store::mongo::{and, classify, find_page, keyset_after, regex_literal, PageSpec};
use crate::store::StoreError;

pub(super) async fn get(
    products: &MongoProducts,
    id: &ProductId,
) -> Result<Option<Product>, StoreError> {
    let found = products
        .collection
        .find_one(doc! { "_id": object_id(id)? })
        .await
        .map_err(classify)?;
    found.map(ProductDoc::into_product).transpose()
}

pub(super) async fn list(
    products: &MongoProducts,
    query: &ProductQuery,
) -> Result<ProductPage, StoreError> {
    let field = query.sort.field;
    if let (SortField::Relevance, Some(q)) = (field, &query.filter.q) {
        return products.list_by_relevance(query, q).await;
    }
    let after = match &query.pagination {
        Pagination::Cursor(Some(c)) => {
            Some((sort_value_bson(&c.after_value, field), c.after_id.as_str()))
        }
        _ => None,
    };
    let spec = PageSpec {
        field: sort_field_name(field),
        descending: query.sort.descending,
        after,
        pagination: &query.pagination,
        limit: query.limit,
    };
    find_page(
        &products.collection,
        filter_document(&query.filter),
        spec,
        ProductDoc::into_product,
    )
    .await
}

impl MongoProducts {
    /// The page of a `sort=relevance` query: one keyset query per rank, best
    /// first, each ordered by name, until the page is full. (No text index or
    /// aggregation needed, so it runs the same on any MongoDB-wire server.)
    async fn list_by_relevance(
        &self,
        query: &ProductQuery,
        q: &SearchText,
    ) -> Result<ProductPage, StoreError> {
        let base = filter_document(&query.filter);
        let tier = |rank: Rank| rank_document(rank, q);
        let (start, after) = match &query.pagination {
            Pagination::Cursor(Some(cursor)) => {
                let SortValue::Text(key) = &cursor.after_value else {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "relevance cursor without a text key"
                    )));
                };
                let (rank, name) = split_relevance_key(key).ok_or_else(|| {
                    StoreError::Other(anyhow::anyhow!("relevance cursor with a malformed key"))
                })?;
                (
                    rank,
                    Some((Bson::String(name.to_owned()), cursor.after_id.as_str())),
                )
            }
            _ => (Rank::ExactName, None),
        };
        // Page mode: counts per rank find where the offset falls, and the total.
        let mut skip = query.offset();
        let mut counts = None;
        if let Pagination::Page(_) = query.pagination {
            let mut per_rank = Vec::with_capacity(Rank::ALL.len());
            for rank in Rank::ALL {
                let mut clauses = base.clone();
                clauses.push(tier(rank));
                per_rank.push(
                    self.collection
                        .count_documents(and(clauses))
                        .await
                        .map_err(classify)?,
                );
            }
            counts = Some(per_rank);
        }
        let want = u64::from(query.limit) + 1;
        let mut docs: Vec<ProductDoc> = Vec::new();
        for rank in Rank::ALL.into_iter().filter(|r| *r >= start) {
            let missing = want - docs.len() as u64;
            if missing == 0 {
                break;
            }
            if let Some(counts) = &counts {
                let in_rank = counts[rank as usize];
                if skip >= in_rank {
                    skip -= in_rank;
                    continue;
                }
            }
            let mut clauses = base.clone();
            clauses.push(tier(rank));
            if let (true, Some((name, id))) = (rank == start, &after) {
                clauses.push(keyset_after("name", name.clone(), id, false)?);
            }
            let found: Vec<ProductDoc> = self
                .collection
                .find(and(clauses))
                .sort(doc! { "name": 1, "_id": 1 })
                .skip(skip)
                .limit(missing as i64)
                .await
                .map_err(classify)?
                .try_collect()
                .await
                .map_err(classify)?;
            skip = 0;
            docs.extend(found);
        }
        let has_next = docs.len() as u64 == want;
        let items = docs
            .into_iter()
            .take(query.limit as usize)
            .map(ProductDoc::into_product)
            .collect::<Result<_, _>>()?;
        Ok(ListPage {
            items,
            has_next,
            total: counts.map(|c| c.iter().sum()),
        })
    }
}

/// The products of one relevance rank (on top of the `q` filter itself).
fn rank_document(rank: Rank, q: &SearchText) -> Document {
    let folded = q.folded();
    let contains = doc! { "name_folded": { "$regex": regex_literal(folded) } };
    match rank {
        Rank::ExactName => doc! { "name_folded": folded },
        Rank::InName => doc! { "$and": [contains, { "name_folded": { "$ne": folded } }] },
        Rank::Elsewhere => doc! { "$nor": [contains] },
    }
}

fn sort_field_name(field: SortField) -> &'static str {
    match field {
        SortField::Price => "price",
        SortField::CreatedAt => "created_at",
        SortField::Name | SortField::Relevance => "name",
    }
}

pub(super) fn filter_document(filter: &ProductFilter) -> Vec<Document> {
    let mut clauses = Vec::new();
    if let Some(c) = &filter.category {
        clauses.push(doc! { "category": c.as_str() });
    }
    let mut price = Document::new();
    if let Some(min) = filter.price_min {
        price.insert("$gte", min.get());
    }
    if let Some(max) = filter.price_max {
        price.insert("$lte", max.get());
    }
    if !price.is_empty() {
        // Any variant's price: the top-level one is a product's own, or its lowest
        // variant's, and the rest are in `variants`.
        clauses.push(doc! { "$or": [
            { "price": price.clone() },
            { "variants": { "$elemMatch": { "price": price } } },
        ] });
    }
    if let Some(t) = &filter.tag {
        clauses.push(doc! { "tags": t.as_str() });
    }
    if let Some(q) = &filter.q {
        clauses.push(doc! { "search": { "$regex": regex_literal(q.folded()) } });
    }
    if let Some(in_stock) = filter.in_stock {
        clauses.push(if in_stock {
            buyable()
        } else {
            doc! { "$nor": [buyable()] }
        });
    }
    clauses
}

/// Products with a variant that can be bought now (`Product::is_buyable`), read from the
/// stock fields themselves so it never goes stale: a default variant's stock is the
/// document's own `stock`, the others' are in `variants`. Absent or null is unlimited,
/// which `$not: { $lte: 0 }` keeps along with units left. No index: most of a catalog
/// is buyable, so the list's sort index serves `in_stock=true` as well as any would,
/// and one on stock would be rewritten by every reservation.
fn buyable() -> Document {
    let left = doc! { "$not": { "$lte": 0 } };
    doc! { "$or": [
        { "variants.0": { "$exists": false }, "stock": left.clone() },
        { "variants": { "$elemMatch": { "stock": left } } },
    ] }
}

fn sort_value_bson(value: &SortValue, field: SortField) -> Bson {
    match (value, field) {
        (SortValue::Int(ms), SortField::CreatedAt) => {
            Bson::DateTime(bson::DateTime::from_millis(*ms))
        }
        (SortValue::Int(n), _) => Bson::Int64(*n),
        (SortValue::Text(s), _) => Bson::String(s.clone()),
    }
}
