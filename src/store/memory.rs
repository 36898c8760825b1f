//! In-memory storage: the embedded default, and the reference the MongoDB
//! implementation is held to by the conformance suite.

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::RwLock;

use super::{ProductRepository, StoreError};
use crate::domain::ids::ProductId;
use crate::domain::listing::Pagination;
use crate::domain::product::Product;
use crate::domain::product_query::{ProductPage, ProductQuery};

#[derive(Default)]
pub struct MemoryProducts {
    by_id: RwLock<HashMap<ProductId, Product>>,
}

impl MemoryProducts {
    pub fn new() -> Self {
        Self::default()
    }
}

fn sku_taken(map: &HashMap<ProductId, Product>, product: &Product) -> bool {
    map.values()
        .any(|p| p.sku == product.sku && p.id != product.id)
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
                Ok(())
            }
        }
    }

    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let map = self.by_id.read();
        let sort = query.sort;
        let mut matching: Vec<&Product> =
            map.values().filter(|p| query.filter.matches(p)).collect();
        matching.sort_by(|a, b| sort.compare(a, b));
        let limit = query.limit as usize;
        let (start, total) = match &query.pagination {
            Pagination::Page(_) => (query.offset() as usize, Some(matching.len() as u64)),
            Pagination::Cursor(None) => (0, None),
            Pagination::Cursor(Some(cursor)) => (
                matching
                    .iter()
                    .position(|p| sort.after_cursor(cursor, p))
                    .unwrap_or(matching.len()),
                None,
            ),
        };
        let rest = matching.get(start..).unwrap_or_default();
        Ok(ProductPage {
            items: rest.iter().take(limit).map(|p| (*p).clone()).collect(),
            has_next: rest.len() > limit,
            total,
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
