//! Products in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};

use super::paginate;
use crate::domain::facets::{FacetSet, Facets};
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::product::{Product, StockShort};
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery};
use crate::domain::time::truncate_to_millis;
use crate::store::{ProductRepository, StoreError};

#[derive(Default)]
pub struct MemoryProducts {
    by_id: RwLock<HashMap<ProductId, Product>>,
    /// Taken only while `by_id` is held for writing (or after it), so a
    /// reservation and its hold change together.
    holds: Mutex<Vec<StockHold>>,
}

impl MemoryProducts {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether another product holds any of `product`'s SKUs, as its own or a variant's.
fn sku_taken(map: &HashMap<ProductId, Product>, product: &Product) -> bool {
    let skus = product.skus();
    map.values()
        .filter(|p| p.id != product.id)
        .any(|p| p.skus().iter().any(|s| skus.contains(s)))
}

fn short(why: StockShort) -> StoreError {
    match why {
        StockShort::NoVariant => StoreError::NotFound,
        StockShort::Insufficient { available } => StoreError::InsufficientStock { available },
    }
}

#[async_trait]
impl ProductRepository for MemoryProducts {
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        if sku_taken(&map, product) {
            return Err(StoreError::Duplicate { field: "sku" });
        }
        if map.contains_key(&product.id) {
            return Err(StoreError::Duplicate { field: "id" });
        }
        map.insert(product.id.clone(), product.clone());
        Ok(())
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        Ok(self.by_id.read().get(id).cloned())
    }

    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        match map.get(&product.id) {
            None => return Err(StoreError::NotFound),
            Some(current) if current.version != expected_version => {
                return Err(StoreError::VersionConflict)
            }
            Some(_) => {}
        }
        if sku_taken(&map, product) {
            return Err(StoreError::Duplicate { field: "sku" });
        }
        map.insert(product.id.clone(), product.clone());
        Ok(())
    }

    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        match (map.get(id), expected_version) {
            (None, _) => Err(StoreError::NotFound),
            (Some(p), Some(v)) if p.version != v => Err(StoreError::VersionConflict),
            _ => {
                map.remove(id);
                self.holds.lock().retain(|h| &h.product_id != id);
                Ok(())
            }
        }
    }

    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let map = self.by_id.read();
        let mut matching: Vec<&Product> =
            map.values().filter(|p| query.filter.matches(p)).collect();
        matching.sort_by(|a, b| query.compare(a, b));
        Ok(paginate(
            matching,
            &query.pagination,
            query.limit,
            query.sort.descending,
            |p| (query.sort_value(p), p.id.to_string()),
        ))
    }

    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError> {
        let map = self.by_id.read();
        Ok(Facets::count(
            wanted,
            map.values().filter(|p| filter.matches(p)),
        ))
    }

    async fn reserve(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let mut map = self.by_id.write();
        let current = map.get(id).ok_or(StoreError::NotFound)?;
        let next = current.reserved(variant, quantity, now).map_err(short)?;
        if next.variant(variant).is_some_and(|v| v.stock.is_some()) {
            self.holds.lock().push(StockHold {
                product_id: id.clone(),
                variant_id: variant.clone(),
                id: hold.clone(),
                quantity,
                at: truncate_to_millis(now),
            });
        }
        map.insert(id.clone(), next.clone());
        Ok(next)
    }

    async fn release(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let mut map = self.by_id.write();
        let current = map.get(id).ok_or(StoreError::NotFound)?;
        let next = current.released(variant, quantity, now).map_err(short)?;
        map.insert(id.clone(), next.clone());
        Ok(next)
    }

    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError> {
        self.holds
            .lock()
            .retain(|h| !(&h.product_id == id && &h.id == hold));
        Ok(())
    }

    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut map = self.by_id.write();
        let mut holds = self.holds.lock();
        let Some(at) = holds
            .iter()
            .position(|h| &h.product_id == id && &h.id == hold)
        else {
            return Ok(false);
        };
        let taken = holds.remove(at);
        // A variant removed meanwhile has nowhere to take its units back.
        if let Some(Ok(next)) = map
            .get(id)
            .map(|current| current.released(&taken.variant_id, taken.quantity, now))
        {
            map.insert(id.clone(), next);
        }
        Ok(true)
    }

    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        let mut old: Vec<StockHold> = self
            .holds
            .lock()
            .iter()
            .filter(|h| h.at < cutoff)
            .cloned()
            .collect();
        old.sort_by_key(|h| h.at);
        old.truncate(limit as usize);
        Ok(old)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
