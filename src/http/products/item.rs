//! `/products/{id}`: reading one product (with `If-None-Match`), replacing, updating
//! and deleting it (with `If-Match`), through `http::conditional`.

use std::sync::Arc;

use poem_openapi::param::{Header, Path};
use poem_openapi::{ApiResponse, OpenApi};

use super::input::{ProductInput, ProductPatchInput};
use super::{etag, ProductBody, ReadErrors};
use crate::app::catalog::Catalog;
use crate::app::identity::Identity;
use crate::domain::ids::ProductId;
use crate::domain::product::Product;
use crate::error_set;
use crate::http::conditional::{not_modified, precondition, IfMatchHeader, IfNoneMatch};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::serde_json_body::{encode, EncodedJson};

error_set!(
    /// Errors of changing a product.
    UpdateErrors: ANY, PERMITTED, BODY; NotFound, Conflict, VersionConflict, PreconditionFailed
);
error_set!(
    /// Errors of deleting a product.
    DeleteErrors: ANY, PERMITTED; NotFound, PreconditionFailed
);

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

pub struct ProductItemApi {
    pub catalog: Arc<Catalog>,
    pub identity: Arc<Identity>,
    /// Encoded product bodies by id, each with the version it encodes: the most
    /// read body of the API is encoded once per version, not once per request.
    /// Keyed by version, so it can never answer an older product than the one read.
    pub encoded: moka::sync::Cache<String, (u64, bytes::Bytes)>,
}

impl ProductItemApi {
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
impl ProductItemApi {
    /// Get a product
    ///
    /// Send the `ETag` of a copy you hold as `If-None-Match` to get 304 when it
    /// has not changed.
    #[oai(path = "/products/:id", method = "get", operation_id = "getProduct")]
    async fn get_product(
        &self,
        /// Product id (24 hexadecimal characters).
        id: Path<IdParam<ProductId>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<IfNoneMatch>>,
    ) -> Result<GetProductResponse, Problems<ReadErrors>> {
        let product = self.catalog.get(id.0.checked("id")?).await?;
        let tag = etag(&product);
        if not_modified(if_none_match.0.as_ref(), &tag) {
            return Ok(GetProductResponse::NotModified(tag.into()));
        }
        Ok(GetProductResponse::Ok(
            EncodedJson::new(self.encoded_body(&product)),
            tag.into(),
        ))
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
        auth: Permit<needs::ProductsWrite>,
        /// Product id (24 hexadecimal characters).
        id: Path<IdParam<ProductId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<ProductInput>,
    ) -> Result<UpdateProductResponse, Problems<UpdateErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let product = self
            .catalog
            .replace(&auth.0, id.0.checked("id")?, body.0.into(), precondition)
            .await?;
        let tag = etag(&product);
        Ok(UpdateProductResponse::Ok(
            EncodedJson::encode(&(&product).into()),
            tag.into(),
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
        auth: Permit<needs::ProductsWrite>,
        /// Product id (24 hexadecimal characters).
        id: Path<IdParam<ProductId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<ProductPatchInput>,
    ) -> Result<UpdateProductResponse, Problems<UpdateErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let product = self
            .catalog
            .patch(&auth.0, id.0.checked("id")?, body.0.into(), precondition)
            .await?;
        let tag = etag(&product);
        Ok(UpdateProductResponse::Ok(
            EncodedJson::encode(&(&product).into()),
            tag.into(),
        ))
    }

    /// Delete a product
    #[oai(
        path = "/products/:id",
        method = "delete",
        operation_id = "deleteProduct"
    )]
    async fn delete_product(
        &self,
        _auth: Permit<needs::ProductsWrite>,
        /// Product id (24 hexadecimal characters).
        id: Path<IdParam<ProductId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
    ) -> Result<DeleteProductResponse, Problems<DeleteErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        self.catalog
            .delete(id.0.checked("id")?, precondition)
            .await?;
        Ok(DeleteProductResponse::Deleted)
    }
}
