//! Stock: reserving units under a named hold, giving units back, and the holds a
//! sweep finds once they are old.

use bson::oid::ObjectId;
use bson::{doc, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::{FindOneAndUpdateOptions, ReturnDocument, UpdateOptions};

use super::mapping::{object_id, HoldDoc};
use super::MongoProducts;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::product::Product;
use crate::domain::time::truncate_to_millis;
use crate::store::mongo::classify;
use crate::store::{ProductRepository, StoreError};

/// Where a variant's units are counted in the product's document: a default variant's
/// are the document's own `stock` (as before variants existed), another's are its entry
/// in `variants`, reached through the array filter `v`.
struct StockAt {
    path: &'static str,
    array_filters: Option<Vec<Document>>,
}

impl StockAt {
    fn of(id: &ProductId, variant: &VariantId) -> Self {
        if variant.as_str() == id.as_str() {
            Self {
                path: "stock",
                array_filters: None,
            }
        } else {
            Self {
                path: "variants.$[v].stock",
                array_filters: Some(vec![doc! { "v.id": variant.as_str() }]),
            }
        }
    }

    /// Adds to `filter` that the variant exists with at least `units` counted.
    fn at_least(&self, filter: &mut Document, variant: &VariantId, units: i64) {
        if self.array_filters.is_none() {
            filter.insert("stock", doc! { "$gte": units });
            // The product still is its own default variant.
            filter.insert("variants.0", doc! { "$exists": false });
        } else {
            filter.insert(
                "variants",
                doc! { "$elemMatch": { "id": variant.as_str(), "stock": { "$gte": units } } },
            );
        }
    }
}

pub(super) async fn reserve(
    products: &MongoProducts,
    id: &ProductId,
    variant: &VariantId,
    quantity: u32,
    hold: &HoldId,
    now: DateTime<Utc>,
) -> Result<Product, StoreError> {
    let units = i64::from(quantity);
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    let at = StockAt::of(id, variant);
    let mut filter = doc! { "_id": object_id(id)? };
    at.at_least(&mut filter, variant, units);
    let taken = products
        .collection
        .find_one_and_update(
            filter,
            doc! {
                "$inc": { at.path: -units, "version": 1 },
                "$set": { "updated_at": now },
                "$push": { "holds": {
                    "id": hold.as_str(),
                    "variant_id": variant.as_str(),
                    "quantity": units,
                    "at": now,
                } },
            },
        )
        .with_options(
            FindOneAndUpdateOptions::builder()
                .return_document(ReturnDocument::After)
                .array_filters(at.array_filters)
                .build(),
        )
        .await
        .map_err(classify)?;
    match taken {
        Some(doc) => doc.into_product(),
        None => products.stock_unmatched(id, variant).await,
    }
}

pub(super) async fn release(
    products: &MongoProducts,
    id: &ProductId,
    variant: &VariantId,
    quantity: u32,
    now: DateTime<Utc>,
) -> Result<Product, StoreError> {
    let units = i64::from(quantity);
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    let at = StockAt::of(id, variant);
    let mut filter = doc! { "_id": object_id(id)? };
    at.at_least(&mut filter, variant, 0);
    let returned = products
        .collection
        .find_one_and_update(
            filter,
            doc! { "$inc": { at.path: units, "version": 1 }, "$set": { "updated_at": now } },
        )
        .with_options(
            FindOneAndUpdateOptions::builder()
                .return_document(ReturnDocument::After)
                .array_filters(at.array_filters)
                .build(),
        )
        .await
        .map_err(classify)?;
    match returned {
        Some(doc) => doc.into_product(),
        None => products.stock_unmatched(id, variant).await,
    }
}

pub(super) async fn drop_hold(
    products: &MongoProducts,
    id: &ProductId,
    hold: &HoldId,
) -> Result<(), StoreError> {
    products
        .collection
        .update_one(
            doc! { "_id": object_id(id)? },
            doc! { "$pull": { "holds": { "id": hold.as_str() } } },
        )
        .await
        .map_err(classify)?;
    Ok(())
}

pub(super) async fn release_hold(
    products: &MongoProducts,
    id: &ProductId,
    hold: &HoldId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let oid = object_id(id)?;
    let Some(held) = products.hold(oid, hold).await? else {
        return Ok(false);
    };
    let variant = held
        .variant_id
        .map_or_else(|| VariantId::default_of(id), VariantId::trusted);
    let at = StockAt::of(id, &variant);
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    // Matching on the hold itself makes the give-back happen once, however
    // many sweeps (or replicas) try it.
    let mut filter = doc! {
        "_id": oid,
        "holds": { "$elemMatch": { "id": hold.as_str(), "quantity": held.quantity } },
    };
    at.at_least(&mut filter, &variant, 0);
    let returned = products
        .collection
        .update_one(
            filter,
            doc! {
                "$inc": { at.path: held.quantity, "version": 1 },
                "$set": { "updated_at": now },
                "$pull": { "holds": { "id": hold.as_str() } },
            },
        )
        .with_options(
            UpdateOptions::builder()
                .array_filters(at.array_filters)
                .build(),
        )
        .await
        .map_err(classify)?;
    if returned.modified_count == 1 {
        return Ok(true);
    }
    // The variant's stock became unlimited (or the variant went) meanwhile: nothing to
    // give back.
    products.drop_hold(id, hold).await?;
    Ok(false)
}

pub(super) async fn holds_before(
    products: &MongoProducts,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<StockHold>, StoreError> {
    let cutoff_bson = bson::DateTime::from_chrono(cutoff);
    let mut cursor = products
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

impl MongoProducts {
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
    /// missing (the product or its variant), unlimited (nothing to change), or short.
    async fn stock_unmatched(
        &self,
        id: &ProductId,
        variant: &VariantId,
    ) -> Result<Product, StoreError> {
        let Some(p) = self.get(id).await? else {
            return Err(StoreError::NotFound);
        };
        match p.variant(variant).map(|v| v.stock) {
            None => Err(StoreError::NotFound),
            Some(None) => Ok(p),
            Some(Some(available)) => Err(StoreError::InsufficientStock { available }),
        }
    }
}
