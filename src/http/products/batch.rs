//! `/products/batch`: creating, changing and deleting up to 100 products in one
//! request, each item on its own.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::input::{ProductInput, ProductPatchInput};
use super::{ProductBody, BASE};
use crate::app::catalog::{Catalog, ItemResult};
use crate::app::identity::Identity;
use crate::domain::precondition::IfMatch;
use crate::domain::product::Product;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::{check_items, JsonBody};
use crate::http::problem::{Problem, Problems};
use crate::http::security::{context, needs, Permit};

error_set!(
    /// Errors of a whole batch (each item's own errors are in its result).
    BatchErrors: ANY, PERMITTED, BODY;
);

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
        duplicate.code = crate::http::wire::Wire(crate::app::errors::ErrorCode::Conflict);
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

pub struct ProductBatchApi {
    pub catalog: Arc<Catalog>,
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Products")]
impl ProductBatchApi {
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
        auth: Permit<needs::ProductsWrite>,
        req: &Request,
        body: JsonBody<ProductBatchCreate>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
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
        auth: Permit<needs::ProductsWrite>,
        req: &Request,
        body: JsonBody<ProductBatchPatch>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
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
        _auth: Permit<needs::ProductsWrite>,
        req: &Request,
        body: JsonBody<ProductBatchDelete>,
    ) -> Result<BatchResponse, Problems<BatchErrors>> {
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
}
