//! Products in MongoDB: the `products` collection, its indexes, and the
//! [`ProductRepository`] port. Each operation lives with its job: documents and their
//! mapping in `mapping`, reads (get, list, relevance) and the list filter in `queries`,
//! facet counts in `facets`, product writes in `writes`, and stock with its holds in
//! `stock`.

mod facets;
mod mapping;
mod queries;
mod stock;
mod writes;

use async_trait::async_trait;
use bson::doc;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::{Collection, Database};

use crate::domain::facets::{FacetSet, Facets};
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::product::Product;
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery};
use crate::store::mongo::{classify, index};
use crate::store::{ProductRepository, StoreError};
use mapping::{HolderDoc, ProductDoc};

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
                // Sparse: documents not yet migrated have no `skus` (see `migrate`).
                index(doc! { "skus": 1 }, "skus_unique", true, true),
                index(doc! { "variants.price": 1 }, "variants_price", false, false),
            ])
            .await
            .map_err(classify)?;
        let holders = db.collection::<HolderDoc>("products");
        let products = Self {
            collection,
            holders,
        };
        products.migrate().await?;
        Ok(products)
    }

    /// Brings documents written by earlier versions up to date, and answers how many it
    /// changed: those written before search existed lack its derived fields, those
    /// written before variants existed lack `skus` (so the SKU index cannot see them) and
    /// a `search` that holds their SKU, and those written before the option facet lack
    /// `option_values` (so it cannot count them). Products without options need nothing else: their
    /// default variant is the document's own fields. Idempotent and cheap when there is
    /// nothing to do; every start runs it (`docs/catalog.md`, "Variants").
    pub async fn migrate(&self) -> Result<u64, StoreError> {
        let mut stale = self
            .collection
            .find(doc! { "$or": [
                { "search": { "$exists": false } },
                { "skus": { "$exists": false } },
                { "option_values": { "$exists": false } },
            ] })
            .await
            .map_err(classify)?;
        let mut changed = 0;
        while let Some(doc) = stale.try_next().await.map_err(classify)? {
            let id = doc.id;
            let product = doc.into_product()?;
            let fresh = ProductDoc::from_product(&product)?;
            // Only the fields derived from the product, at the version they were derived
            // from: a concurrent edit writes them itself.
            let result = self
                .collection
                .update_one(
                    doc! { "_id": id, "version": product.version as i64 },
                    doc! { "$set": {
                        "name_folded": fresh.name_folded,
                        "search": fresh.search,
                        "skus": fresh.skus,
                        "option_values": bson::to_bson(&fresh.option_values)
                            .map_err(|e| StoreError::Other(e.into()))?,
                    } },
                )
                .await
                .map_err(classify)?;
            changed += result.modified_count;
        }
        Ok(changed)
    }
}

#[async_trait]
impl ProductRepository for MongoProducts {
    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        writes::insert(self, product).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        queries::get(self, id).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        writes::update(self, product, expected_version).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        writes::delete(self, id, expected_version).await
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        queries::list(self, query).await
    }

    #[tracing::instrument(skip_all)]
    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError> {
        facets::facets(self, filter, wanted).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, variant_id = %variant, quantity, hold = %hold))]
    async fn reserve(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        stock::reserve(self, id, variant, quantity, hold, now).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, variant_id = %variant, quantity))]
    async fn release(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        stock::release(self, id, variant, quantity, now).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, hold = %hold))]
    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError> {
        stock::drop_hold(self, id, hold).await
    }

    #[tracing::instrument(skip_all, fields(product_id = %id, hold = %hold))]
    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        stock::release_hold(self, id, hold, now).await
    }

    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        stock::holds_before(self, cutoff, limit).await
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
