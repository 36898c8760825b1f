//! `/api/v1/products`: thin handlers that translate HTTP to catalog calls. One
//! `#[OpenApi]` struct per path, since the contract groups a path's methods together:
//! the collection (`collection`), one product (`item`), its images (`images`) and
//! batches (`batch`), combined in [`ProductsApi`] in the contract's order. The product's
//! representation and its entity tags are shared here; what clients write is in `input`.

mod batch;
mod collection;
mod images;
mod input;
mod item;
mod variants;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::Object;

use super::conditional::ETag;
use super::serde_json_body::rfc3339;
use crate::app::catalog::Catalog;
use crate::app::identity::Identity;
use crate::domain::product::Product;
use crate::error_set;
use batch::ProductBatchApi;
use collection::ProductCollectionApi;
use images::ProductImagesApi;
use item::ProductItemApi;
use variants::{ProductOptionBody, VariantBody};

/// The `Products` tag's operations, in the contract's order.
pub type ProductsApi = (
    ProductCollectionApi,
    ProductItemApi,
    ProductImagesApi,
    ProductBatchApi,
);

/// Every `/products` operation; `encoded_capacity` bounds the cache of encoded product
/// bodies.
pub fn api(catalog: Arc<Catalog>, identity: Arc<Identity>, encoded_capacity: u64) -> ProductsApi {
    (
        ProductCollectionApi {
            catalog: catalog.clone(),
            identity: identity.clone(),
        },
        ProductItemApi {
            catalog: catalog.clone(),
            identity: identity.clone(),
            encoded: moka::sync::Cache::builder()
                .max_capacity(encoded_capacity)
                .build(),
        },
        ProductImagesApi {
            catalog: catalog.clone(),
        },
        ProductBatchApi { catalog, identity },
    )
}

error_set!(
    /// Errors of reading one product.
    ReadErrors: ANY; NotFound
);

const BASE: &str = "/api/v1/products";

// Serialised by serde (`EncodedJson`); the serde attributes
// mirror the `oai` ones, and a test holds both encodings equal.
/// A product in the catalog. With options, `sku` is the product's own (style) SKU,
/// `price` its lowest variant's, `stock` the sum of its variants' (`null` if any is
/// unlimited) and `images` its gallery; each variant has its own.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(example, rename = "Product")]
pub struct ProductBody {
    /// Server-assigned id, 24 hexadecimal characters.
    pub id: String,
    /// Stock-keeping unit, unique in the catalog, stored upper-case.
    pub sku: String,
    pub name: String,
    /// Plain text; absent when the product has none.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Price in paise (₹1 = 100 paise), a positive integer.
    pub price: i64,
    /// ISO 4217 currency code; always `INR` for now.
    pub currency: String,
    /// One of the configured categories.
    pub category: String,
    /// Lower-case tags, at most 10.
    pub tags: Vec<String>,
    /// Units left to sell; `null` means unlimited.
    #[oai(nullable)]
    pub stock: Option<u32>,
    /// Image file ids, in display order. Show one with
    /// `GET /api/v1/products/{id}/images/{file_id}` (a redirect to the bytes).
    pub images: Vec<String>,
    /// What its variants choose from; empty for a product without options.
    pub options: Vec<ProductOptionBody>,
    /// Its sellable units, never empty: a product without options has one, whose id is
    /// the product's.
    pub variants: Vec<VariantBody>,
    /// HSN or SAC code tax invoices classify it by; absent: the seller's default.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsn_code: Option<String>,
    /// Its tax class in the seller's rate table; absent: the seller's default.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Grows by one on every change. The `ETag` is derived from it.
    pub version: u64,
}

impl From<&Product> for ProductBody {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.to_string(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            currency: p.currency.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            stock: p.stock,
            images: p.images.iter().map(|i| i.to_string()).collect(),
            options: p.options.iter().map(Into::into).collect(),
            variants: p.variants.iter().map(|v| VariantBody::of(p, v)).collect(),
            hsn_code: p.hsn_code.as_ref().map(|c| c.as_str().to_owned()),
            tax_class: p.tax_class.as_ref().map(|c| c.as_str().to_owned()),
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

impl Example for ProductBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        Self {
            id: "6650c0ffee0000000000abcd".into(),
            sku: "TEE-RED".into(),
            name: "Cotton T-shirt, red".into(),
            description: Some("100% cotton, pre-shrunk.".into()),
            price: 49_900,
            currency: "INR".into(),
            category: "fashion".into(),
            tags: vec!["cotton".into(), "summer".into()],
            stock: Some(25),
            images: vec!["6650c0ffee0000000000f11e".into()],
            options: vec![ProductOptionBody::example()],
            variants: vec![VariantBody::example()],
            hsn_code: Some("6109".into()),
            tax_class: Some("standard_12_to_5".into()),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }
}

/// A product's entity tag.
fn etag(p: &Product) -> ETag {
    ETag::of_version(p.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_writes_a_product_exactly_as_poem_openapi_does() {
        use poem_openapi::types::ToJSON;
        let mut with_description = ProductBody::example();
        with_description.updated_at += chrono::Duration::milliseconds(123);
        let mut without = ProductBody::example();
        without.description = None;
        without.stock = None;
        without.hsn_code = None;
        without.tax_class = None;
        for body in [with_description, without] {
            let ours = serde_json::to_string(&body).unwrap();
            let theirs = serde_json::to_string(&body.to_json()).unwrap();
            assert_eq!(ours, theirs);
        }
    }
}
