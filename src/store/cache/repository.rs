//! The cache as a [`ProductRepository`]: reads go through both levels, writes go to the
//! database and then invalidate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::l2_entries::{CachedFacets, CachedItem, CachedPage};
use super::{CachedProducts, PREFIX};
use crate::domain::facets::{FacetSet, Facets};
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::listing::{fingerprint, Pagination};
use crate::domain::product::Product;
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery};
use crate::store::{ProductRepository, StoreError};

/// A stable digest of a list query (filter, sort, page size and position).
fn list_digest(query: &ProductQuery) -> String {
    let position = match &query.pagination {
        Pagination::Page(n) => format!("page={n}"),
        Pagination::Cursor(None) => "first".to_owned(),
        Pagination::Cursor(Some(c)) => format!("after={:?}/{}", c.after_value, c.after_id),
    };
    fingerprint(&format!(
        "{}|{}|{}|{position}",
        query.filter.fingerprint(),
        query.sort.as_str(),
        query.limit
    ))
}

#[async_trait]
impl ProductRepository for CachedProducts {
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        self.inner.insert(product).await?;
        self.invalidate(&product.id).await;
        Ok(())
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        self.read::<_, CachedItem, _>(
            &self.lookups.product,
            &self.items,
            id.as_str(),
            || format!("{PREFIX}:gen:{id}"),
            |t| format!("{PREFIX}:item:{id}:{t}"),
            || self.inner.get(id),
        )
        .await
    }

    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        let result = self.inner.update(product, expected_version).await;
        // Also on a conflict: what the cache holds may be what lost the race.
        self.invalidate(&product.id).await;
        result
    }

    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let result = self.inner.delete(id, expected_version).await;
        self.invalidate(id).await;
        result
    }

    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let digest = list_digest(query);
        self.read::<_, CachedPage, _>(
            &self.lookups.list,
            &self.pages,
            &digest,
            || format!("{PREFIX}:ns"),
            |t| format!("{PREFIX}:list:{t}:{digest}"),
            || self.inner.list(query),
        )
        .await
    }

    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError> {
        let digest = fingerprint(&format!("{}|{}", filter.fingerprint(), wanted.as_param()));
        self.read::<_, CachedFacets, _>(
            &self.lookups.facets,
            &self.facets,
            &digest,
            || format!("{PREFIX}:ns"),
            |t| format!("{PREFIX}:facets:{t}:{digest}"),
            || self.inner.facets(filter, wanted),
        )
        .await
    }

    async fn reserve(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let result = self.inner.reserve(id, variant, quantity, hold, now).await;
        if result.is_ok() {
            self.invalidate(id).await;
        }
        result
    }

    async fn release(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let result = self.inner.release(id, variant, quantity, now).await;
        if result.is_ok() {
            self.invalidate(id).await;
        }
        result
    }

    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError> {
        // The product as callers see it does not change: nothing to invalidate.
        self.inner.drop_hold(id, hold).await
    }

    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let released = self.inner.release_hold(id, hold, now).await;
        if matches!(released, Ok(true)) {
            self.invalidate(id).await;
        }
        released
    }

    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        self.inner.holds_before(cutoff, limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
