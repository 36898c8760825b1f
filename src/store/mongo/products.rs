//! Products in MongoDB.

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{
    and, classify, find_page, index, keyset_after, regex_literal, why_unmatched, PageSpec,
};
use crate::domain::facets::{self, FacetSet, Facets, ValueCount, PRICE_BOUNDS, TAGS_SHOWN};
use crate::domain::file::FileId;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::ProductId;
use crate::domain::listing::{ListPage, Pagination, SortValue};
use crate::domain::money::{Currency, Paise};
use crate::domain::product::{Category, Description, Product, ProductName, Sku, Tag};
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery, SortField};
use crate::domain::search::{fold, searchable_text, split_relevance_key, Rank, SearchText};
use crate::domain::time::truncate_to_millis;
use crate::store::{ProductRepository, StoreError};

pub struct MongoProducts {
    collection: Collection<ProductDoc>,
    /// The same collection, read for the stock holds only.
    holders: Collection<HolderDoc>,
}

impl MongoProducts {
    /// Opens the `products` collection and makes sure its indexes exist.
    /// Creating an index that already exists with the same definition is a no-op,
    /// so every replica may run this at startup.
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<ProductDoc>("products");
        collection
            .create_indexes([
                index(doc! { "sku": 1 }, "sku_unique", true, false),
                index(
                    doc! { "created_at": -1, "_id": -1 },
                    "created_at",
                    false,
                    false,
                ),
                index(doc! { "price": 1, "_id": 1 }, "price", false, false),
                index(doc! { "name": 1, "_id": 1 }, "name", false, false),
                index(
                    doc! { "category": 1, "created_at": -1, "_id": -1 },
                    "category_created_at",
                    false,
                    false,
                ),
                index(doc! { "tags": 1 }, "tags", false, false),
                index(
                    doc! { "name_folded": 1, "name": 1, "_id": 1 },
                    "name_folded",
                    false,
                    false,
                ),
                index(doc! { "holds.at": 1 }, "holds_at", false, false),
            ])
            .await
            .map_err(classify)?;
        let holders = db.collection::<HolderDoc>("products");
        let products = Self {
            collection,
            holders,
        };
        products.backfill_search_fields().await?;
        Ok(products)
    }

    /// Products written before search existed lack its derived fields; give them
    /// theirs, so search finds every product. Cheap when there is nothing to do.
    async fn backfill_search_fields(&self) -> Result<(), StoreError> {
        let mut stale = self
            .collection
            .find(doc! { "search": { "$exists": false } })
            .await
            .map_err(classify)?;
        while let Some(doc) = stale.try_next().await.map_err(classify)? {
            let id = doc.id;
            let product = doc.into_product()?;
            let fresh = ProductDoc::from_product(&product)?;
            self.collection
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "name_folded": fresh.name_folded, "search": fresh.search } },
                )
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

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

    /// The hold named `hold` on the product, if it has one.
    async fn hold(&self, id: ObjectId, hold: &HoldId) -> Result<Option<HoldDoc>, StoreError> {
        let holder = self
            .holders
            .find_one(doc! { "_id": id })
            .projection(doc! { "holds": 1 })
            .await
            .map_err(classify)?;
        Ok(holder.and_then(|h| h.holds.into_iter().find(|h| h.id == hold.as_str())))
    }

    /// Answers the product after a conditional stock write matched nothing:
    /// missing, unlimited (nothing to change), or short.
    async fn stock_unmatched(&self, id: &ProductId) -> Result<Product, StoreError> {
        match self.get(id).await? {
            None => Err(StoreError::NotFound),
            Some(p) => match p.stock {
                None => Ok(p),
                Some(available) => Err(StoreError::InsufficientStock { available }),
            },
        }
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

#[derive(Debug, Serialize, Deserialize)]
struct ProductDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    sku: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    price: i64,
    currency: String,
    category: String,
    tags: Vec<String>,
    /// Absent or null: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stock: Option<i64>,
    #[serde(default)]
    images: Vec<String>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    version: i64,
    /// Derived for search (see `domain::search`): the folded name, and the folded
    /// name, description and tags. Never read back into the product.
    #[serde(default)]
    name_folded: String,
    #[serde(default)]
    search: String,
}

/// A product document seen only for its stock holds (`domain::hold`).
#[derive(Debug, Deserialize)]
struct HolderDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(default)]
    holds: Vec<HoldDoc>,
}

#[derive(Debug, Deserialize)]
struct HoldDoc {
    id: String,
    quantity: i64,
    at: bson::DateTime,
}

impl HoldDoc {
    fn into_hold(self, product_id: ProductId) -> StockHold {
        StockHold {
            product_id,
            id: HoldId::trusted(self.id),
            quantity: u32::try_from(self.quantity).unwrap_or(0),
            at: self.at.to_chrono(),
        }
    }
}

fn object_id(id: &ProductId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

impl ProductDoc {
    fn from_product(p: &Product) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&p.id)?,
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            currency: p.currency.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            stock: p.stock.map(i64::from),
            images: p.images.iter().map(|i| i.to_string()).collect(),
            created_at: bson::DateTime::from_chrono(p.created_at),
            updated_at: bson::DateTime::from_chrono(p.updated_at),
            version: p.version as i64,
            name_folded: fold(p.name.as_str()),
            search: searchable_text(p),
        })
    }

    fn into_product(self) -> Result<Product, StoreError> {
        let currency = Currency::parse("currency", &self.currency)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored product: {}", e.message)))?;
        Ok(Product {
            id: ProductId::trusted(self.id.to_hex()),
            sku: Sku::trusted(self.sku),
            name: ProductName::trusted(self.name),
            description: self.description.map(Description::trusted),
            price: Paise::trusted(self.price),
            currency,
            category: Category::trusted(self.category),
            tags: self.tags.into_iter().map(Tag::trusted).collect(),
            stock: self.stock.map(|s| u32::try_from(s).unwrap_or(0)),
            images: self.images.into_iter().map(FileId::trusted).collect(),
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            version: self.version as u64,
        })
    }
}

fn sort_field_name(field: SortField) -> &'static str {
    match field {
        SortField::Price => "price",
        SortField::CreatedAt => "created_at",
        SortField::Name | SortField::Relevance => "name",
    }
}

fn filter_document(filter: &ProductFilter) -> Vec<Document> {
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
        clauses.push(doc! { "price": price });
    }
    if let Some(t) = &filter.tag {
        clauses.push(doc! { "tags": t.as_str() });
    }
    if let Some(q) = &filter.q {
        clauses.push(doc! { "search": { "$regex": regex_literal(q.folded()) } });
    }
    clauses
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

#[async_trait]
impl ProductRepository for MongoProducts {
    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        let doc = ProductDoc::from_product(product)?;
        self.collection.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        found.map(ProductDoc::into_product).transpose()
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        let doc = ProductDoc::from_product(product)?;
        let id = doc.id;
        // `$set` rather than a replacement: the document's stock holds are not
        // part of the product and must survive an edit.
        let mut set = bson::to_document(&doc).map_err(|e| StoreError::Other(e.into()))?;
        set.remove("_id");
        let unset: Document = ["description", "stock"]
            .into_iter()
            .filter(|field| !set.contains_key(*field))
            .map(|field| (field.to_owned(), Bson::String(String::new())))
            .collect();
        let mut change = doc! { "$set": set };
        if !unset.is_empty() {
            change.insert("$unset", unset);
        }
        let result = self
            .collection
            .update_one(
                doc! { "_id": id, "version": expected_version as i64 },
                change,
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, id).await)
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let oid = object_id(id)?;
        let mut filter = doc! { "_id": oid };
        if let Some(v) = expected_version {
            filter.insert("version", v as i64);
        }
        let result = self.collection.delete_one(filter).await.map_err(classify)?;
        if result.deleted_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, oid).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let field = query.sort.field;
        if let (SortField::Relevance, Some(q)) = (field, &query.filter.q) {
            return self.list_by_relevance(query, q).await;
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
            &self.collection,
            filter_document(&query.filter),
            spec,
            ProductDoc::into_product,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError> {
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
        if branches.is_empty() {
            return Ok(Facets::default());
        }
        let pipeline = [
            doc! { "$match": and(filter_document(filter)) },
            doc! { "$facet": branches },
        ];
        let mut cursor = self
            .collection
            .aggregate(pipeline)
            .await
            .map_err(classify)?;
        let result = cursor
            .try_next()
            .await
            .map_err(classify)?
            .unwrap_or_default();
        let groups = |name: &str| -> Vec<(Bson, u64)> {
            result
                .get_array(name)
                .map(|rows| {
                    rows.iter()
                        .filter_map(Bson::as_document)
                        .map(|row| {
                            let id = row.get("_id").cloned().unwrap_or(Bson::Null);
                            (id, count_of(row.get("n")))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let values = |name: &str, keep: usize| {
            let counts = groups(name)
                .into_iter()
                .filter_map(|(id, count)| match id {
                    Bson::String(value) => Some(ValueCount { value, count }),
                    _ => None,
                })
                .collect();
            facets::top(counts, keep)
        };
        let price_range = wanted.price_range.then(|| {
            let mut counts = [0u64; PRICE_BOUNDS.len()];
            for (from, count) in groups("price_range") {
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
        })
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, quantity, hold = %hold))]
    async fn reserve(
        &self,
        id: &ProductId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let units = i64::from(quantity);
        let now = bson::DateTime::from_chrono(truncate_to_millis(now));
        let taken = self
            .collection
            .find_one_and_update(
                doc! { "_id": object_id(id)?, "stock": { "$gte": units } },
                doc! {
                    "$inc": { "stock": -units, "version": 1 },
                    "$set": { "updated_at": now },
                    "$push": { "holds": { "id": hold.as_str(), "quantity": units, "at": now } },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?;
        match taken {
            Some(doc) => doc.into_product(),
            None => self.stock_unmatched(id).await,
        }
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, quantity))]
    async fn release(
        &self,
        id: &ProductId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let units = i64::from(quantity);
        let now = bson::DateTime::from_chrono(truncate_to_millis(now));
        let returned = self
            .collection
            .find_one_and_update(
                doc! { "_id": object_id(id)?, "stock": { "$gte": 0 } },
                doc! { "$inc": { "stock": units, "version": 1 }, "$set": { "updated_at": now } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?;
        match returned {
            Some(doc) => doc.into_product(),
            None => self.stock_unmatched(id).await,
        }
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, hold = %hold))]
    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError> {
        self.collection
            .update_one(
                doc! { "_id": object_id(id)? },
                doc! { "$pull": { "holds": { "id": hold.as_str() } } },
            )
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, hold = %hold))]
    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let oid = object_id(id)?;
        let Some(held) = self.hold(oid, hold).await? else {
            return Ok(false);
        };
        let now = bson::DateTime::from_chrono(truncate_to_millis(now));
        // Matching on the hold itself makes the give-back happen once, however
        // many sweeps (or replicas) try it.
        let returned = self
            .collection
            .update_one(
                doc! {
                    "_id": oid,
                    "stock": { "$gte": 0 },
                    "holds": { "$elemMatch": { "id": hold.as_str(), "quantity": held.quantity } },
                },
                doc! {
                    "$inc": { "stock": held.quantity, "version": 1 },
                    "$set": { "updated_at": now },
                    "$pull": { "holds": { "id": hold.as_str() } },
                },
            )
            .await
            .map_err(classify)?;
        if returned.modified_count == 1 {
            return Ok(true);
        }
        // The stock became unlimited meanwhile: nothing to give back.
        self.drop_hold(id, hold).await?;
        Ok(false)
    }

    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        let cutoff_bson = bson::DateTime::from_chrono(cutoff);
        let mut cursor = self
            .holders
            .find(doc! { "holds.at": { "$lt": cutoff_bson } })
            .projection(doc! { "holds": 1 })
            .await
            .map_err(classify)?;
        let mut old = Vec::new();
        while let Some(holder) = cursor.try_next().await.map_err(classify)? {
            let product_id = ProductId::trusted(holder.id.to_hex());
            old.extend(
                holder
                    .holds
                    .into_iter()
                    .filter(|h| h.at.to_chrono() < cutoff)
                    .map(|h| h.into_hold(product_id.clone())),
            );
        }
        old.sort_by_key(|h| h.at);
        old.truncate(limit as usize);
        Ok(old)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.collection
            .client()
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(classify)?;
        Ok(())
    }
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
