//! The catalog's use cases: what happens when a product is created, read, changed,
//! deleted or listed. Knows the domain and the storage port, not HTTP.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::files::Files;
use crate::app::identity::Principal;
use crate::domain::facets::Facets;
use crate::domain::file::FileId;
use crate::domain::gst::seller::TaxSettings;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::precondition::{self, IfMatch};
use crate::domain::product::{Categories, Product, ProductDraft, ProductPatch, RawProduct};
use crate::domain::product_query::{ProductPage, ProductQuery, RawProductQuery};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::validation::FieldError;
use crate::store::{ProductRepository, StoreError};

/// The most items one batch request may hold.
pub const BATCH_MAX: usize = 100;

/// One item's outcome in a batch: each item succeeds or fails on its own.
pub type ItemResult<T> = Result<T, AppError>;

/// Refuses an empty or oversized batch before any item runs.
fn check_batch_size(len: usize) -> Result<(), AppError> {
    let (code, problem) = match len {
        0 => ("empty", "must hold at least one item"),
        n if n > BATCH_MAX => ("too_many", "holds too many items"),
        _ => return Ok(()),
    };
    Err(AppError::validation(vec![FieldError::new(
        "items",
        code,
        format!("{problem}: a batch takes 1 to {BATCH_MAX} items"),
    )]))
}

pub struct Catalog {
    products: Arc<dyn ProductRepository>,
    categories: Categories,
    /// Product images are uploaded files: complete ones, which the acting staff member
    /// uploaded or which are already public.
    files: Arc<Files>,
    /// The seller's GST settings: a product's tax class must be in their rate table.
    tax: Arc<TaxSettings>,
    clock: SharedClock,
}

fn parse_id(raw: &str) -> Result<ProductId, AppError> {
    ProductId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

impl Catalog {
    pub fn new(
        products: Arc<dyn ProductRepository>,
        categories: Categories,
        files: Arc<Files>,
        tax: Arc<TaxSettings>,
    ) -> Self {
        Self {
            products,
            categories,
            files,
            tax,
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    /// The seller's GST settings, which pricing taxes products by.
    pub fn tax(&self) -> &TaxSettings {
        &self.tax
    }

    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The time by the catalog's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Refuses images that are not complete uploads, and new ones that are neither `who`'s
    /// own uploads nor public already (a product would publish a customer's private file) —
    /// but only when the list gains an image, so an edit of the price never fails over an
    /// image added long ago. The product's images and each variant's are checked alike.
    /// Answers the images the product newly shows.
    async fn check_images(
        &self,
        who: &Principal,
        draft: &ProductDraft,
        before: &[FileId],
    ) -> Result<Vec<FileId>, AppError> {
        let lists = std::iter::once((String::new(), &draft.images)).chain(
            draft
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("variants[{i}]."), &v.images)),
        );
        let mut added: Vec<FileId> = Vec::new();
        let mut errors = Vec::new();
        for (prefix, images) in lists {
            if images.iter().all(|id| before.contains(id)) {
                continue;
            }
            match self.files.check_images(who, images, before).await {
                Ok(new) => {
                    for id in new {
                        if !added.contains(&id) {
                            added.push(id);
                        }
                    }
                }
                Err(e) if e.code == ErrorCode::ValidationFailed => {
                    errors.extend(e.errors.into_iter().map(|mut f| {
                        f.field = format!("{prefix}{}", f.field);
                        f
                    }));
                }
                Err(e) => return Err(e),
            }
        }
        if errors.is_empty() {
            Ok(added)
        } else {
            Err(AppError::validation(errors))
        }
    }

    /// Marks images public once a product shows them. The product is saved by then, so a
    /// failure here is logged rather than answered: it only keeps other managers from
    /// reusing the images and keeps them in their uploader's quota.
    async fn publish(&self, added: &[FileId]) {
        if added.is_empty() {
            return;
        }
        if let Err(e) = self.files.publish(added).await {
            tracing::warn!(error = %e, "marking product images public failed");
        }
    }

    /// Where to fetch one of a product's images: a short-lived download URL.
    /// 404 unless the product shows that image and the file is still there.
    pub async fn image_url(&self, id: &str, file_id: &str) -> Result<String, AppError> {
        let product = self.get(id).await?;
        let missing = || AppError::not_found("image");
        let file_id = FileId::parse(file_id).map_err(|_| missing())?;
        if !product.all_images().contains(&&file_id) {
            return Err(missing());
        }
        let view = self
            .files
            .public_view(&file_id)
            .await?
            .ok_or_else(missing)?;
        view.download.map(|d| d.url).ok_or_else(missing)
    }

    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    /// A product as written, checked against the configured categories and rate table.
    fn parse_draft(&self, raw: &RawProduct) -> Result<ProductDraft, AppError> {
        ProductDraft::parse(raw, &self.categories, &self.tax.rates).map_err(AppError::validation)
    }

    /// Creates a product on behalf of `who`, whose uploads its images may be.
    pub async fn create(&self, who: &Principal, raw: RawProduct) -> Result<Product, AppError> {
        let draft = self.parse_draft(&raw)?;
        let added = self.check_images(who, &draft, &[]).await?;
        let product = Product::create(draft, self.clock.now());
        self.products.insert(&product).await?;
        self.publish(&added).await;
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
        who: &Principal,
        id: &str,
        raw: RawProduct,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        let current = self.get(id).await?;
        let draft = self.parse_draft(&raw)?;
        self.save_revision(who, &current, draft, if_match).await
    }

    pub async fn patch(
        &self,
        who: &Principal,
        id: &str,
        patch: ProductPatch,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        let current = self.get(id).await?;
        let draft = self.parse_draft(&current.patched(patch))?;
        self.save_revision(who, &current, draft, if_match).await
    }

    /// Writes the next version of `current`. With `If-Match` the client's version
    /// is the condition (412 if it is stale); without, the version just read is,
    /// so a concurrent writer still cannot be overwritten silently (409).
    async fn save_revision(
        &self,
        who: &Principal,
        current: &Product,
        draft: ProductDraft,
        if_match: Option<IfMatch>,
    ) -> Result<Product, AppError> {
        check_precondition(current, if_match.as_ref())?;
        let before: Vec<FileId> = current.all_images().into_iter().cloned().collect();
        let added = self.check_images(who, &draft, &before).await?;
        let next = current.revise(draft, self.clock.now());
        match self.products.update(&next, current.version).await {
            Ok(()) => {
                self.publish(&added).await;
                Ok(next)
            }
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

    /// A page of products, and the facet counts the query asked for.
    pub async fn list(
        &self,
        raw: &RawProductQuery,
    ) -> Result<(ProductQuery, ProductPage, Option<Facets>), AppError> {
        let query = ProductQuery::parse(raw, &self.categories)?;
        let facets = async {
            if query.facets.is_empty() {
                return Ok(None);
            }
            self.products
                .facets(&query.filter, query.facets)
                .await
                .map(Some)
        };
        let (page, facets) = tokio::try_join!(self.products.list(&query), facets)?;
        Ok((query, page, facets))
    }

    /// Takes `quantity` units of a product variant's stock (orders call this) under
    /// `hold`; never oversells.
    pub async fn reserve(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        hold: &HoldId,
    ) -> Result<Product, AppError> {
        Ok(self
            .products
            .reserve(id, variant, quantity, hold, self.clock.now())
            .await?)
    }

    /// The product `id`, if there is one (orders resolve a line's variant with it;
    /// carts meet products that were deleted).
    pub async fn find(&self, id: &ProductId) -> Result<Option<Product>, AppError> {
        Ok(self.products.get(id).await?)
    }

    /// Forgets a hold whose order is stored.
    pub async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), AppError> {
        Ok(self.products.drop_hold(id, hold).await?)
    }

    /// Gives a hold's units back (its order was never stored); false if it was gone.
    pub async fn release_hold(&self, id: &ProductId, hold: &HoldId) -> Result<bool, AppError> {
        Ok(self
            .products
            .release_hold(id, hold, self.clock.now())
            .await?)
    }

    /// Up to `limit` holds taken before `cutoff`, oldest first.
    pub async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, AppError> {
        Ok(self.products.holds_before(cutoff, limit).await?)
    }

    /// Puts `quantity` units of a variant back.
    pub async fn release(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
    ) -> Result<Product, AppError> {
        Ok(self
            .products
            .release(id, variant, quantity, self.clock.now())
            .await?)
    }

    /// Creates each product on its own, in order (so of two items with one SKU,
    /// the second is the duplicate).
    pub async fn create_many(
        &self,
        who: &Principal,
        items: Vec<RawProduct>,
    ) -> Result<Vec<ItemResult<Product>>, AppError> {
        check_batch_size(items.len())?;
        let mut results = Vec::with_capacity(items.len());
        for raw in items {
            results.push(self.create(who, raw).await);
        }
        Ok(results)
    }

    /// Patches each product on its own, in order.
    pub async fn patch_many(
        &self,
        who: &Principal,
        items: Vec<(String, ProductPatch, Option<IfMatch>)>,
    ) -> Result<Vec<ItemResult<Product>>, AppError> {
        check_batch_size(items.len())?;
        let mut results = Vec::with_capacity(items.len());
        for (id, patch, if_match) in items {
            results.push(self.patch(who, &id, patch, if_match).await);
        }
        Ok(results)
    }

    /// Deletes each product on its own, in order; answers the ids deleted.
    pub async fn delete_many(
        &self,
        items: Vec<(String, Option<IfMatch>)>,
    ) -> Result<Vec<ItemResult<String>>, AppError> {
        check_batch_size(items.len())?;
        let mut results = Vec::with_capacity(items.len());
        for (id, if_match) in items {
            results.push(self.delete(&id, if_match).await.map(|()| id));
        }
        Ok(results)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.products.ping().await
    }
}

fn precondition_failed() -> AppError {
    AppError::precondition_failed("product")
}

fn check_precondition(current: &Product, if_match: Option<&IfMatch>) -> Result<(), AppError> {
    if precondition::met(if_match, current.version) {
        Ok(())
    } else {
        Err(precondition_failed())
    }
}
