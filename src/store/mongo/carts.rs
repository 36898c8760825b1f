//! Carts in MongoDB: one document per owner, keyed by the owner's key
//! (`user:{id}` or `guest:{token hash}`), written whole under its version. A TTL
//! index deletes guest carts after `expires_at`; until the server gets round to
//! it, reads treat an expired cart as gone.

use async_trait::async_trait;
use bson::doc;
use chrono::{DateTime, Utc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use super::classify;
use crate::domain::cart::{Cart, CartLine, CartOwner};
use crate::domain::ids::{ProductId, VariantId};
use crate::store::{CartRepository, StoreError};

pub struct MongoCarts {
    collection: Collection<CartDoc>,
}

impl MongoCarts {
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<CartDoc>("carts");
        let ttl = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .name("expires_at_ttl".to_owned())
                    .expire_after(std::time::Duration::ZERO)
                    .build(),
            )
            .build();
        collection.create_index(ttl).await.map_err(classify)?;
        Ok(Self { collection })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CartDoc {
    #[serde(rename = "_id")]
    key: String,
    lines: Vec<LineDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    coupon: Option<String>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<bson::DateTime>,
    version: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct LineDoc {
    product_id: String,
    variant_id: String,
    quantity: i64,
    added_at: bson::DateTime,
}

impl CartDoc {
    fn from_cart(cart: &Cart) -> Self {
        Self {
            key: cart.owner.key(),
            lines: cart
                .lines
                .iter()
                .map(|l| LineDoc {
                    product_id: l.product_id.as_str().to_owned(),
                    variant_id: l.variant_id.as_str().to_owned(),
                    quantity: i64::from(l.quantity),
                    added_at: bson::DateTime::from_chrono(l.added_at),
                })
                .collect(),
            coupon: cart.coupon.clone(),
            created_at: bson::DateTime::from_chrono(cart.created_at),
            updated_at: bson::DateTime::from_chrono(cart.updated_at),
            expires_at: cart.expires_at.map(bson::DateTime::from_chrono),
            version: cart.version as i64,
        }
    }

    fn into_cart(self) -> Result<Cart, StoreError> {
        let corrupt = || StoreError::Other(anyhow::anyhow!("cart {} is malformed", self.key));
        let owner = CartOwner::from_key(&self.key).ok_or_else(corrupt)?;
        let lines = self
            .lines
            .into_iter()
            .map(|l| {
                Some(CartLine {
                    product_id: ProductId::parse(&l.product_id).ok()?,
                    variant_id: VariantId::parse(&l.variant_id).ok()?,
                    quantity: u32::try_from(l.quantity).ok()?,
                    added_at: l.added_at.to_chrono(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(corrupt)?;
        Ok(Cart {
            owner,
            lines,
            coupon: self.coupon,
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            expires_at: self.expires_at.map(bson::DateTime::to_chrono),
            version: u64::try_from(self.version).map_err(|_| corrupt())?,
        })
    }
}

#[async_trait]
impl CartRepository for MongoCarts {
    async fn get(&self, owner: &CartOwner, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": owner.key() })
            .await
            .map_err(classify)?;
        let cart = found.map(CartDoc::into_cart).transpose()?;
        Ok(cart.filter(|c| !c.is_expired(now)))
    }

    async fn put(&self, cart: &Cart, expected_version: u64) -> Result<(), StoreError> {
        let doc = CartDoc::from_cart(cart);
        let filter = if expected_version == 0 {
            match self.collection.insert_one(&doc).await.map_err(classify) {
                Ok(_) => return Ok(()),
                // Only an expired cart may be taken over as if there were none.
                Err(StoreError::Duplicate { .. }) => doc! {
                    "_id": &doc.key,
                    "expires_at": { "$lte": bson::DateTime::from_chrono(cart.updated_at) },
                },
                Err(e) => return Err(e),
            }
        } else {
            doc! { "_id": &doc.key, "version": expected_version as i64 }
        };
        let result = self
            .collection
            .replace_one(filter, &doc)
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn delete(&self, owner: &CartOwner) -> Result<(), StoreError> {
        self.collection
            .delete_one(doc! { "_id": owner.key() })
            .await
            .map_err(classify)?;
        Ok(())
    }
}
