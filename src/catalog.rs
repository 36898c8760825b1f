//! The catalog's use cases: what happens when a product is created, read, changed,
//! deleted or listed. Knows the domain and the storage port, not HTTP.

use std::sync::Arc;

use chrono::Utc;

use crate::domain::ids::ProductId;
use crate::domain::product::{Categories, Product, ProductDraft, ProductPatch, RawProduct};
use crate::domain::product_query::{ProductPage, ProductQuery, RawProductQuery};
use crate::errors::{AppError, ErrorCode};
use crate::store::{ProductRepository, StoreError};

/// An `If-Match` precondition, already read from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `If-Match: *`: the product must exist.
    Any,
    /// The product must be at one of these versions. Empty when no tag sent
    /// could be ours, so it never matches.
    Versions(Vec<u64>),
}

impl IfMatch {
    fn allows(&self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(v) => v.contains(&version),
        }
    }
}

pub struct Catalog {
    products: Arc<dyn ProductRepository>,
    categories: Categories,
}

fn parse_id(raw: &str) -> Result<ProductId, AppError> {
    ProductId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

fn parse_draft(raw: &RawProduct, categories: &Categories) -> Result<ProductDraft, AppError> {
    ProductDraft::parse(raw, categories).map_err(AppError::validation)
}

impl Catalog {
    pub fn new(products: Arc<dyn ProductRepository>, categories: Categories) -> Self {
        Self {
            products,
            categories,
        }
    }

    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    pub async fn create(&self, raw: RawProduct) -> Result<Product, AppError> {
        let draft = parse_draft(&raw, &self.categories)?;
        let product = Product::create(draft, Utc::now());
        self.products.insert(&product).await?;
        Ok(product)
    }

    pub async fn get(&self, id: &str) -> Result<Product, AppError> {
        let id = parse_id(id)?;
        self.products
            .get(&id)
            .await?
            .ok_or_else(|| AppError::not_found("product"))
    }

    pub async fn replace(
        &self,
        id: &str,
        raw: RawProduct,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        let current = self.get(id).await?;
        let draft = parse_draft(&raw, &self.categories)?;
        self.save_revision(&current, draft, if_match).await
    }

    pub async fn patch(
        &self,
        id: &str,
        patch: ProductPatch,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        let current = self.get(id).await?;
        let draft = parse_draft(&current.patched(patch), &self.categories)?;
        self.save_revision(&current, draft, if_match).await
    }

    /// Writes the next version of `current`. With `If-Match` the client's version
    /// is the condition (412 if it is stale); without, the version just read is,
    /// so a concurrent writer still cannot be overwritten silently (409).
    async fn save_revision(
        &self,
        current: &Product,
        draft: ProductDraft,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        check_precondition(current, if_match.as_ref())?;
        let next = current.revise(draft, Utc::now());
        match self.products.update(&next, current.version).await {
            Ok(()) => Ok(next),
            Err(StoreError::VersionConflict) if if_match.is_some() => Err(precondition_failed()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, id: &str, if_match: Option<IfMatch>) -> Result<(), AppError> {
        let current = self.get(id).await?;
        check_precondition(&current, if_match.as_ref())?;
        let expected = if_match.is_some().then_some(current.version);
        match self.products.delete(&current.id, expected).await {
            Ok(()) => Ok(()),
            Err(StoreError::VersionConflict) => Err(precondition_failed()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(
        &self,
        raw: &RawProductQuery,
    ) -> Result<(ProductQuery, ProductPage), AppError> {
        let query = ProductQuery::parse(raw, &self.categories)?;
        let page = self.products.list(&query).await?;
        Ok((query, page))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.products.ping().await
    }
}

fn precondition_failed() -> AppError {
    AppError::new(
        ErrorCode::PreconditionFailed,
        "the product has changed since the ETag in If-Match; read it again and retry",
    )
}

fn check_precondition(current: &Product, if_match: Option<&IfMatch>) -> Result<(), AppError> {
    match if_match {
        Some(m) if !m.allows(current.version) => Err(precondition_failed()),
        _ => Ok(()),
    }
}
