//! `/api/v1/products`: thin handlers that translate HTTP to catalog calls.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::contract::ApiTags;
use super::json_body::{check_items, JsonBody};
use super::listing::{page_info, PageLinks};
use super::params::{
    CursorText, FacetsParam, HexId, Limit, PageNumber, PaiseBound, SearchText, SortParam, TagParam,
};
use super::problem::{Problem, Problems};
use super::security::{context, require, BearerAuth};
use super::serde_json_body::{encode, rfc3339, EncodedJson};
use crate::app::catalog::{Catalog, IfMatch, ItemResult};
use crate::domain::facets::Facets;
use crate::domain::product::{Product, ProductPatch, RawProduct};
use crate::domain::product_query::{ProductPage, ProductQuery, RawProductQuery};
use crate::{error_set, list_object};

error_set!(
    /// Errors of reading one product.
    ReadErrors: 400, 404, 429, 500, 503
);
error_set!(
    /// Errors of listing products.
    ListErrors: 400, 429, 500, 503
);
error_set!(
    /// Errors of creating a product.
    CreateErrors: 400, 401, 403, 409, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of changing a product.
    UpdateErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of deleting a product.
    DeleteErrors: 400, 401, 403, 404, 412, 429, 500, 503
);
error_set!(
    /// Errors of a whole batch (each item's own errors are in its result).
    BatchErrors: 400, 401, 403, 413, 415, 422, 429, 500, 503
);

const BASE: &str = "/api/v1/products";

// Serialised by serde (`EncodedJson`); the serde attributes
// mirror the `oai` ones, and a test holds both encodings equal.
/// A product in the catalog.
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
            sku: "TEE-RED-M".into(),
            name: "Cotton T-shirt, red, M".into(),
            description: Some("100% cotton, pre-shrunk.".into()),
            price: 49_900,
            currency: "INR".into(),
            category: "fashion".into(),
            tags: vec!["cotton".into(), "summer".into()],
            stock: Some(25),
            images: vec!["6650c0ffee0000000000f11e".into()],
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }
}

// Input types are parsed by serde (see `json_body`); their `validator`s only
// describe the rules in the contract. The domain enforces them, reporting every
// invalid field at once.

/// A product as clients write it (create, or replace with `PUT`).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// 1–64 characters: letters, digits, `-`, `_`, `.`. Unique, case-insensitively.
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    pub sku: String,
    /// 1–200 characters after trimming, no control characters.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub name: String,
    /// Plain text, at most 5000 characters; HTML is refused.
    #[oai(validator(max_length = 5000))]
    pub description: Option<String>,
    /// Price in paise, greater than 0 (₹499 is `49900`).
    #[oai(validator(minimum(value = "1"), maximum(value = "100000000000")))]
    pub price: i64,
    /// ISO 4217 code; only `INR` is accepted. Defaults to `INR`.
    #[oai(validator(pattern = "^INR$"))]
    pub currency: Option<String>,
    /// One of the configured categories (`BAZAAR_PRODUCT_CATEGORIES`).
    pub category: String,
    /// At most 10 tags of 1–20 characters (letters, digits, spaces, `-`); duplicates are dropped.
    #[oai(validator(
        max_items = 10,
        min_length = 1,
        max_length = 20,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub tags: Option<Vec<String>>,
    /// Units in stock, 0 to 1000000000; absent or `null` for unlimited.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub stock: Option<i64>,
    /// Up to 10 ids of **complete** uploads (`POST /api/v1/files`, then `complete`), in display order.
    /// An id new to the product must be your own upload or an image another product already
    /// shows; anyone else's file is `file_not_found`.
    #[oai(validator(max_items = 10, pattern = "^[0-9a-fA-F]{24}$"))]
    pub images: Option<Vec<String>>,
}

impl Example for ProductInput {
    fn example() -> Self {
        Self {
            sku: "TEE-RED-M".into(),
            name: "Cotton T-shirt, red, M".into(),
            description: Some("100% cotton, pre-shrunk.".into()),
            price: 49_900,
            currency: Some("INR".into()),
            category: "fashion".into(),
            tags: Some(vec!["cotton".into(), "summer".into()]),
            stock: Some(25),
            images: Some(vec!["6650c0ffee0000000000f11e".into()]),
        }
    }
}

impl From<ProductInput> for RawProduct {
    fn from(i: ProductInput) -> Self {
        Self {
            sku: i.sku,
            name: i.name,
            description: i.description,
            price: i.price,
            currency: i.currency.unwrap_or_else(|| "INR".into()),
            category: i.category,
            tags: i.tags.unwrap_or_default(),
            stock: i.stock,
            images: i.images.unwrap_or_default(),
        }
    }
}

/// Fields to change (JSON merge-patch semantics): absent fields stay as they are;
/// `description: null` removes the description. The rules of `ProductInput` apply.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchInput {
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    #[oai(skip_serializing_if_is_none)]
    pub sku: Option<String>,
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    #[oai(nullable, validator(max_length = 5000))]
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    /// Price in paise, greater than 0.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000000000")))]
    #[oai(skip_serializing_if_is_none)]
    pub price: Option<i64>,
    #[oai(validator(pattern = "^INR$"))]
    #[oai(skip_serializing_if_is_none)]
    pub currency: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub category: Option<String>,
    #[oai(validator(
        max_items = 10,
        min_length = 1,
        max_length = 20,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<Vec<String>>,
    /// Units in stock; `null` makes it unlimited.
    #[oai(
        nullable,
        validator(minimum(value = "0"), maximum(value = "1000000000"))
    )]
    #[serde(default)]
    pub stock: MaybeUndefined<i64>,
    /// Replaces the image list; every id must name a complete upload, and a new one must be
    /// your own upload or an image another product already shows.
    #[oai(validator(max_items = 10, pattern = "^[0-9a-fA-F]{24}$"))]
    #[oai(skip_serializing_if_is_none)]
    pub images: Option<Vec<String>>,
}

impl Example for ProductPatchInput {
    fn example() -> Self {
        Self {
            sku: None,
            name: None,
            description: MaybeUndefined::Undefined,
            price: Some(44_900),
            currency: None,
            category: None,
            tags: Some(vec!["cotton".into(), "sale".into()]),
            stock: MaybeUndefined::Value(40),
            images: None,
        }
    }
}

impl From<ProductPatchInput> for ProductPatch {
    fn from(p: ProductPatchInput) -> Self {
        Self {
            sku: p.sku,
            name: p.name,
            description: match p.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            price: p.price,
            currency: p.currency,
            category: p.category,
            tags: p.tags,
            stock: match p.stock {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(n) => Some(Some(n)),
            },
            images: p.images,
        }
    }
}

list_object!(
    /// One page of products.
    ///
    /// Cursor mode (the default): follow `next_cursor` (or `links.next`) until
    /// `has_next` is false; inserts made meanwhile never shift or repeat items.
    /// Page mode (`page=N`): also reports `total` and `total_pages`.
    #[oai(example)]
    ProductList,
    ProductBody;
    {
        /// Counts for the whole filtered set (all pages), when `facets` asked for them.
        #[oai(skip_serializing_if_is_none)]
        facets: Option<FacetCounts>
    }
);

/// How many products of the filtered set have a value.
#[derive(Debug, Clone, Object)]
pub struct FacetValueCount {
    pub value: String,
    pub count: u64,
}

/// How many products of the filtered set cost from `from` up to (not including) `to` paise.
#[derive(Debug, Clone, Object)]
pub struct PriceRangeCount {
    pub from: i64,
    /// Absent for the last, open-ended range.
    #[oai(skip_serializing_if_is_none)]
    pub to: Option<i64>,
    pub count: u64,
}

/// Facet counts; only the facets asked for are present.
#[derive(Debug, Clone, Default, Object)]
pub struct FacetCounts {
    /// Every category with products, most first.
    #[oai(skip_serializing_if_is_none)]
    pub category: Option<Vec<FacetValueCount>>,
    /// The 20 most used tags, most first.
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<Vec<FacetValueCount>>,
    /// Fixed ranges (₹0–499, ₹500–999, ₹1,000–2,499, ₹2,500–4,999, ₹5,000+), all listed.
    #[oai(skip_serializing_if_is_none)]
    pub price_range: Option<Vec<PriceRangeCount>>,
}

impl From<Facets> for FacetCounts {
    fn from(f: Facets) -> Self {
        let values = |v: Vec<crate::domain::facets::ValueCount>| {
            v.into_iter()
                .map(|c| FacetValueCount {
                    value: c.value,
                    count: c.count,
                })
                .collect()
        };
        Self {
            category: f.category.map(values),
            tags: f.tags.map(values),
            price_range: f.price_range.map(|ranges| {
                ranges
                    .into_iter()
                    .map(|r| PriceRangeCount {
                        from: r.from.get(),
                        to: r.to.map(|t| t.get()),
                        count: r.count,
                    })
                    .collect()
            }),
        }
    }
}

impl Example for ProductList {
    fn example() -> Self {
        Self {
            items: vec![ProductBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: Some(1),
            total: Some(1),
            total_pages: Some(1),
            links: PageLinks {
                this: format!("{BASE}?category=fashion&page=1"),
                first: format!("{BASE}?category=fashion&page=1"),
                next: None,
                prev: None,
                last: Some(format!("{BASE}?category=fashion&page=1")),
            },
            facets: Some(FacetCounts {
                category: None,
                tags: Some(vec![FacetValueCount {
                    value: "cotton".into(),
                    count: 1,
                }]),
                price_range: None,
            }),
        }
    }
}

#[derive(ApiResponse)]
pub enum CreateProductResponse {
    /// The product was created.
    #[oai(status = 201)]
    Created(
        EncodedJson<ProductBody>,
        /// URL of the new product.
        #[oai(header = "Location")]
        String,
        /// The product's version tag, for `If-Match` on later updates.
        #[oai(header = "ETag")]
        String,
    ),
}

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
pub enum GetProductResponse {
    /// The product.
    #[oai(status = 200)]
    Ok(EncodedJson<ProductBody>, #[oai(header = "ETag")] String),
    /// The product has not changed since the `If-None-Match` tag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
pub enum ListProductsResponse {
    /// A page of products.
    #[oai(status = 200)]
    Ok(Json<ProductList>, #[oai(header = "ETag")] String),
    /// The page has not changed since the `If-None-Match` tag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum ProductImageResponse {
    /// Redirects to the image's bytes through a download URL that works for a few
    /// minutes: use this endpoint as the `src` of an `<img>`, never the URL it redirects to.
    #[oai(status = 302)]
    Found(
        #[oai(header = "Location")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[derive(ApiResponse)]
pub enum UpdateProductResponse {
    /// The product as it is now.
    #[oai(status = 200)]
    Ok(EncodedJson<ProductBody>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum DeleteProductResponse {
    /// The product was deleted.
    #[oai(status = 204)]
    Deleted,
}

/// Products to create in one request.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductBatchCreate {
    /// 1 to 100 products, created in order, each on its own.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub items: Vec<ProductInput>,
}

/// One product to change in a batch.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductBatchPatchItem {
    /// Product id.
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    pub id: String,
    /// Only change the product if it is still at this version (like `If-Match`);
    /// absent or null: whatever its version.
    #[oai(
        nullable,
        validator(minimum(value = "0"), maximum(value = "9007199254740991"))
    )]
    pub version: Option<u64>,
    /// The fields to change, as for `PATCH /products/{id}`.
    pub changes: ProductPatchInput,
}

/// Products to change in one request.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductBatchPatch {
    /// 1 to 100 changes, applied in order, each on its own.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub items: Vec<ProductBatchPatchItem>,
}

/// One product to delete in a batch.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductBatchDeleteItem {
    /// Product id.
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    pub id: String,
    /// Only delete the product if it is still at this version (like `If-Match`);
    /// absent or null: whatever its version.
    #[oai(
        nullable,
        validator(minimum(value = "0"), maximum(value = "9007199254740991"))
    )]
    pub version: Option<u64>,
}

/// Products to delete in one request.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductBatchDelete {
    /// 1 to 100 deletions, applied in order, each on its own.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub items: Vec<ProductBatchDeleteItem>,
}

impl Example for ProductBatchCreate {
    fn example() -> Self {
        Self {
            items: vec![ProductInput::example()],
        }
    }
}

impl Example for ProductBatchPatch {
    fn example() -> Self {
        Self {
            items: vec![ProductBatchPatchItem {
                id: ProductBody::example().id,
                version: Some(1),
                changes: ProductPatchInput::example(),
            }],
        }
    }
}

impl Example for ProductBatchDelete {
    fn example() -> Self {
        Self {
            items: vec![ProductBatchDeleteItem {
                id: ProductBody::example().id,
                version: Some(3),
            }],
        }
    }
}

/// What happened to one item of a batch.
#[derive(Debug, Clone, Object)]
pub struct BatchItemResult {
    /// The item's position in the request, from 0.
    pub index: u32,
    /// The status the item would have had as a request of its own (201, 200, 204, 404, 409, 422, …).
    pub status: u16,
    /// The product's id, when known.
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<String>,
    /// The product as it is now (create and change).
    #[oai(skip_serializing_if_is_none)]
    pub product: Option<ProductBody>,
    /// Why the item failed.
    #[oai(skip_serializing_if_is_none)]
    pub problem: Option<Problem>,
}

/// The outcome of a batch: one result per item, in request order.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct BatchResult {
    pub succeeded: u32,
    pub failed: u32,
    pub results: Vec<BatchItemResult>,
}

impl Example for BatchResult {
    fn example() -> Self {
        let mut duplicate = Problem::example();
        duplicate.status = 409;
        duplicate.code = "conflict".into();
        duplicate.title = "Conflict".into();
        duplicate.kind = "urn:problem-type:bazaar:conflict".into();
        duplicate.detail = "a record with this sku already exists".into();
        duplicate.instance = format!("{BASE}/batch");
        duplicate.errors = vec![];
        duplicate.retryable = false;
        Self {
            succeeded: 1,
            failed: 1,
            results: vec![
                BatchItemResult {
                    index: 0,
                    status: 201,
                    id: Some(ProductBody::example().id),
                    product: Some(ProductBody::example()),
                    problem: None,
                },
                BatchItemResult {
                    index: 1,
                    status: 409,
                    id: None,
                    product: None,
                    problem: Some(duplicate),
                },
            ],
        }
    }
}

#[derive(ApiResponse)]
pub enum BatchResponse {
    /// Every item was tried; see each result's `status` (some may have failed).
    #[oai(status = 200)]
    Ok(Json<BatchResult>),
}

/// Builds a batch's answer; `ok_status` is an item's status on success.
fn batch_result<T>(
    req: &Request,
    results: Vec<ItemResult<T>>,
    ok_status: u16,
    ids: &[Option<String>],
    describe: impl Fn(&T) -> (Option<String>, Option<ProductBody>),
) -> BatchResult {
    let request_id = context(req).request_id;
    let instance = req.uri().path().to_owned();
    let mut succeeded = 0;
    let results: Vec<BatchItemResult> = results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            let given_id = ids.get(index).cloned().flatten();
            match result {
                Ok(value) => {
                    succeeded += 1;
                    let (id, product) = describe(&value);
                    BatchItemResult {
                        index: index as u32,
                        status: ok_status,
                        id: id.or(given_id),
                        product,
                        problem: None,
                    }
                }
                Err(error) => BatchItemResult {
                    index: index as u32,
                    status: error.code.status(),
                    id: given_id,
                    product: None,
                    problem: Some(Problem::from_error(&error, &request_id, &instance)),
                },
            }
        })
        .collect();
    BatchResult {
        succeeded,
        failed: results.len() as u32 - succeeded,
        results,
    }
}

fn created(p: &Product) -> (Option<String>, Option<ProductBody>) {
    (Some(p.id.to_string()), Some(p.into()))
}

/// A batch item's `version` as the precondition `If-Match` would give.
fn version_precondition(version: Option<u64>) -> Option<IfMatch> {
    version.map(|v| IfMatch::Versions(vec![v]))
}

/// A product's strong entity tag.
fn etag(p: &Product) -> String {
    format!("\"v{}\"", p.version)
}

/// Reads `If-Match`: `*`, or a list of tags (strong comparison, RFC 9110).
fn parse_if_match(raw: Option<&str>) -> Option<IfMatch> {
    let raw = raw?.trim();
    if raw == "*" {
        return Some(IfMatch::Any);
    }
    let versions = raw
        .split(',')
        .map(str::trim)
        .filter(|t| !t.starts_with("W/"))
        .filter_map(|t| t.strip_prefix("\"v")?.strip_suffix('"')?.parse().ok())
        .collect();
    Some(IfMatch::Versions(versions))
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110).
fn none_match_hits(raw: Option<&str>, tag: &str) -> bool {
    let Some(raw) = raw else { return false };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    raw.trim() == "*" || raw.split(',').any(|t| bare(t) == bare(tag))
}

fn list_body(
    raw: &RawProductQuery,
    query: &ProductQuery,
    page: ProductPage,
    facets: Option<Facets>,
) -> ProductList {
    let params = [
        ("category", raw.category.clone()),
        ("price_min", raw.price_min.map(|v| v.to_string())),
        ("price_max", raw.price_max.map(|v| v.to_string())),
        ("tag", raw.tag.clone()),
        ("q", raw.q.clone()),
        (
            "sort",
            raw.sort.as_ref().map(|_| query.sort.as_str().to_owned()),
        ),
        (
            "facets",
            (!query.facets.is_empty()).then(|| query.facets.as_param()),
        ),
    ];
    let info = page_info(
        BASE,
        &params,
        query.limit,
        &query.pagination,
        raw.cursor.as_deref(),
        page.has_next,
        page.total,
        || page.items.last().map(|last| query.next_cursor(last)),
    );
    let mut list = ProductList::new(page.items.iter().map(ProductBody::from).collect(), info);
    list.facets = facets.map(Into::into);
    list
}

fn list_etag(body: &ProductList) -> String {
    let json = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(body)).unwrap_or_default();
    format!("W/\"{}\"", hex::encode(&Sha256::digest(&json)[..12]))
}

pub struct ProductsApi {
    pub catalog: Arc<Catalog>,
    pub identity: Arc<crate::app::identity::Identity>,
    /// Encoded product bodies by id, each with the version it encodes: the most
    /// read body of the API is encoded once per version, not once per request.
    /// Keyed by version, so it can never answer an older product than the one read.
    pub encoded: moka::sync::Cache<String, (u64, bytes::Bytes)>,
}

impl ProductsApi {
    /// `product`'s JSON body, encoded at most once per version.
    fn encoded_body(&self, product: &Product) -> bytes::Bytes {
        let id = product.id.as_str();
        if let Some((version, bytes)) = self.encoded.get(id) {
            if version == product.version {
                return bytes;
            }
        }
        let bytes = encode(&ProductBody::from(product));
        self.encoded
            .insert(id.to_owned(), (product.version, bytes.clone()));
        bytes
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Products")]
impl ProductsApi {
    /// Create a product
    ///
    /// Needs `products:write` (catalog managers and admins). Every invalid
    /// field is reported at once in the problem's `errors`. A SKU that is
    /// already taken answers 409.
    #[oai(path = "/products", method = "post", operation_id = "createProduct")]
    async fn create_product(
        &self,
        auth: BearerAuth,
        body: JsonBody<ProductInput>,
        req: &Request,
    ) -> Result<CreateProductResponse, Problems<CreateErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        let product = self.catalog.create(&auth.0, body.0.into()).await?;
        let location = format!("{BASE}/{}", product.id);
        let tag = etag(&product);
        Ok(CreateProductResponse::Created(
            EncodedJson::encode(&(&product).into()),
            location,
            tag,
        ))
    }

    /// Get a product
    ///
    /// Send the `ETag` of a copy you hold as `If-None-Match` to get 304 when it
    /// has not changed.
    #[oai(path = "/products/:id", method = "get", operation_id = "getProduct")]
    async fn get_product(
        &self,
        /// Product id (24 hexadecimal characters).
        id: Path<HexId>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<GetProductResponse, Problems<ReadErrors>> {
        let product = self.catalog.get(id.0.checked("id")?).await?;
        let tag = etag(&product);
        if none_match_hits(if_none_match.0.as_deref(), &tag) {
            return Ok(GetProductResponse::NotModified(tag));
        }
        Ok(GetProductResponse::Ok(
            EncodedJson::new(self.encoded_body(&product)),
            tag,
        ))
    }

    /// Show a product's image
    ///
    /// Public, like the product. Redirects (302) to the image file; 404 unless
    /// the product lists that image and the file still exists.
    #[oai(
        path = "/products/:id/images/:file_id",
        method = "get",
        operation_id = "getProductImage"
    )]
    async fn get_product_image(
        &self,
        /// Product id (24 hexadecimal characters).
        id: Path<HexId>,
        /// File id, one of the product's `images`.
        file_id: Path<String>,
    ) -> Result<ProductImageResponse, Problems<ReadErrors>> {
        let url = self
            .catalog
            .image_url(id.0.checked("id")?, &file_id.0)
            .await?;
        // Shorter than the download URL's own validity, so a cached redirect never
        // points at an expired URL.
        Ok(ProductImageResponse::Found(
            url,
            "public, max-age=60".to_owned(),
        ))
    }

    /// List products
    ///
    /// Filters combine with AND. Two pagination styles: by default cursor
    /// pagination (follow `next_cursor`); send `page` for numbered pages with
    /// totals. `cursor` and `page` cannot be combined, and a cursor only works
    /// with the filters and sort it was issued for.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/products", method = "get", operation_id = "listProducts")]
    async fn list_products(
        &self,
        /// Only products in this category.
        category: Query<Option<String>>,
        /// Lowest price in paise (inclusive).
        price_min: Query<Option<PaiseBound>>,
        /// Highest price in paise (inclusive).
        price_max: Query<Option<PaiseBound>>,
        /// Only products with this tag.
        tag: Query<Option<TagParam>>,
        /// Text to find in name, description or tags: literal, case- and
        /// accent-insensitive, at most 200 characters. Results come best match
        /// first (exact name, then name, then elsewhere) unless `sort` says otherwise.
        q: Query<Option<SearchText>>,
        /// Sort order: `price`, `-price`, `created_at`, `-created_at` (default
        /// without `q`, newest first), `name`, or `relevance` (default with `q`; without it, the default order).
        sort: Query<Option<SortParam>>,
        /// Items per page, 1–100 (default 20).
        limit: Query<Option<Limit>>,
        /// Opaque cursor from a previous page's `next_cursor`.
        cursor: Query<Option<CursorText>>,
        /// Page number from 1 (page mode, with totals), at most 10000.
        page: Query<Option<PageNumber>>,
        /// Counts to return for the whole filtered set: a comma-separated list
        /// of `category`, `tags`, `price_range`.
        facets: Query<Option<FacetsParam>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
    ) -> Result<ListProductsResponse, Problems<ListErrors>> {
        let raw = RawProductQuery {
            category: category.0,
            price_min: price_min.0.map(|p| p.0),
            price_max: price_max.0.map(|p| p.0),
            tag: tag.0.map(String::from),
            q: q.0.map(|q| q.0),
            sort: sort.0.map(|s| s.0),
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0.map(|c| c.0),
            page: page.0.map(|p| p.0),
            facets: facets.0.map(|f| f.0),
        };
        let (query, page, facets) = self.catalog.list(&raw).await?;
        let body = list_body(&raw, &query, page, facets);
        let tag = list_etag(&body);
        if none_match_hits(if_none_match.0.as_deref(), &tag) {
            return Ok(ListProductsResponse::NotModified(tag));
        }
        Ok(ListProductsResponse::Ok(Json(body), tag))
    }

    /// Replace a product
    ///
    /// Sends the whole product. With `If-Match` the write only happens if the
    /// product is still at that version (412 otherwise); without it, a write that
    /// races another answers 409.
    #[oai(
        path = "/products/:id",
        method = "put",
        operation_id = "replaceProduct"
    )]
    async fn replace_product(
        &self,
        auth: BearerAuth,
        req: &Request,
        /// Product id (24 hexadecimal characters).
        id: Path<HexId>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<ProductInput>,
    ) -> Result<UpdateProductResponse, Problems<UpdateErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        let precondition = parse_if_match(if_match.0.as_deref());
        let product = self
            .catalog
            .replace(&auth.0, id.0.checked("id")?, body.0.into(), precondition)
            .await?;
        let tag = etag(&product);
        Ok(UpdateProductResponse::Ok(
            EncodedJson::encode(&(&product).into()),
            tag,
        ))
    }

    /// Update some fields of a product
    ///
    /// Merge-patch semantics: only the fields sent change; `description: null`
    /// removes it. `If-Match` works as for replace.
    #[oai(
        path = "/products/:id",
        method = "patch",
        operation_id = "updateProduct"
    )]
    async fn update_product(
        &self,
        auth: BearerAuth,
        req: &Request,
        /// Product id (24 hexadecimal characters).
        id: Path<HexId>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: JsonBody<ProductPatchInput>,
    ) -> Result<UpdateProductResponse, Problems<UpdateErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        let precondition = parse_if_match(if_match.0.as_deref());
        let product = self
            .catalog
            .patch(&auth.0, id.0.checked("id")?, body.0.into(), precondition)
            .await?;
        let tag = etag(&product);
        Ok(UpdateProductResponse::Ok(
            EncodedJson::encode(&(&product).into()),
            tag,
        ))
    }

    /// Create products in a batch
    ///
    /// Needs `products:write`. Up to 100 products, created in order; each item
    /// succeeds or fails on its own (a bad item does not stop the others) and
    /// gets its own result. The request itself fails only when it is not a
    /// valid batch: not JSON of this shape (400), empty or over 100 items, or an
    /// item outside its schema (422).
    #[oai(
        path = "/products/batch",
        method = "post",
        operation_id = "createProductsBatch"
    )]
    async fn create_products_batch(
        &self,
        auth: BearerAuth,
        req: &Request,
        body: JsonBody<ProductBatchCreate>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        check_items(&body.0.items)?;
        let items = body.0.items.into_iter().map(Into::into).collect();
        let results = self.catalog.create_many(&auth.0, items).await?;
        Ok(BatchResponse::Ok(Json(batch_result(
            req,
            results,
            201,
            &[],
            created,
        ))))
    }

    /// Change products in a batch
    ///
    /// Needs `products:write`. Up to 100 changes with merge-patch semantics, in
    /// order, each on its own; an item's `version` works like `If-Match`.
    #[oai(
        path = "/products/batch",
        method = "patch",
        operation_id = "updateProductsBatch"
    )]
    async fn update_products_batch(
        &self,
        auth: BearerAuth,
        req: &Request,
        body: JsonBody<ProductBatchPatch>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        check_items(&body.0.items)?;
        let ids: Vec<Option<String>> = body.0.items.iter().map(|i| Some(i.id.clone())).collect();
        let items = body
            .0
            .items
            .into_iter()
            .map(|i| (i.id, i.changes.into(), version_precondition(i.version)))
            .collect();
        let results = self.catalog.patch_many(&auth.0, items).await?;
        Ok(BatchResponse::Ok(Json(batch_result(
            req, results, 200, &ids, created,
        ))))
    }

    /// Delete products in a batch
    ///
    /// Needs `products:write`. Up to 100 deletions, in order, each on its own;
    /// an item's `version` works like `If-Match`.
    #[oai(
        path = "/products/batch",
        method = "delete",
        operation_id = "deleteProductsBatch"
    )]
    async fn delete_products_batch(
        &self,
        auth: BearerAuth,
        req: &Request,
        body: JsonBody<ProductBatchDelete>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        check_items(&body.0.items)?;
        let ids: Vec<Option<String>> = body.0.items.iter().map(|i| Some(i.id.clone())).collect();
        let items = body
            .0
            .items
            .into_iter()
            .map(|i| (i.id, version_precondition(i.version)))
            .collect();
        let results = self.catalog.delete_many(items).await?;
        Ok(BatchResponse::Ok(Json(batch_result(
            req,
            results,
            204,
            &ids,
            |id: &String| (Some(id.clone()), None),
        ))))
    }

    /// Delete a product
    #[oai(
        path = "/products/:id",
        method = "delete",
        operation_id = "deleteProduct"
    )]
    async fn delete_product(
        &self,
        auth: BearerAuth,
        req: &Request,
        /// Product id (24 hexadecimal characters).
        id: Path<HexId>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
    ) -> Result<DeleteProductResponse, Problems<DeleteErrors>> {
        require(&self.identity, &auth.0, "products:write", req).await?;
        let precondition = parse_if_match(if_match.0.as_deref());
        self.catalog
            .delete(id.0.checked("id")?, precondition)
            .await?;
        Ok(DeleteProductResponse::Deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_our_tags_and_ignores_weak_or_foreign_ones() {
        assert_eq!(parse_if_match(Some("*")), Some(IfMatch::Any));
        assert_eq!(
            parse_if_match(Some("\"v3\", W/\"v4\", \"abc\"")),
            Some(IfMatch::Versions(vec![3]))
        );
        assert_eq!(parse_if_match(None), None);
    }

    #[test]
    fn serde_writes_a_product_exactly_as_poem_openapi_does() {
        use poem_openapi::types::ToJSON;
        let mut with_description = ProductBody::example();
        with_description.updated_at += chrono::Duration::milliseconds(123);
        let mut without = ProductBody::example();
        without.description = None;
        without.stock = None;
        for body in [with_description, without] {
            let ours = serde_json::to_string(&body).unwrap();
            let theirs = serde_json::to_string(&body.to_json()).unwrap();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match_hits(Some("W/\"v2\""), "\"v2\""));
        assert!(none_match_hits(Some("\"x\", \"v2\""), "\"v2\""));
        assert!(!none_match_hits(Some("\"v1\""), "\"v2\""));
        assert!(none_match_hits(Some("*"), "\"v2\""));
    }
}
