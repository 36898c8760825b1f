//! Stock: reserving units under a named hold, giving units back, and the holds a
//! sweep finds once they are old.

use bson::doc;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;

use super::mapping::{object_id, HoldDoc};
use super::MongoProducts;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::ProductId;
use crate::domain::product::Product;
use crate::domain::time::truncate_to_millis;
use crate::store::mongo::classify;
use crate::store::{ProductRepository, StoreError};

pub(super) async fn reserve(
    products: &MongoProducts,
    id: &ProductId,
    quantity: u32,
    hold: &HoldId,
    now: DateTime<Utc>,
) -> Result<Product, StoreError> {
    let units = i64::from(quantity);
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    let taken = products
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
        None => products.stock_unmatched(id).await,
    }
}

pub(super) async fn release(
    products: &MongoProducts,
    id: &ProductId,
    quantity: u32,
    now: DateTime<Utc>,
) -> Result<Product, StoreError> {
    let units = i64::from(quantity);
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    let returned = products
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
        None => products.stock_unmatched(id).await,
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
    let now = bson::DateTime::from_chrono(truncate_to_millis(now));
    // Matching on the hold itself makes the give-back happen once, however
    // many sweeps (or replicas) try it.
    let returned = products
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
