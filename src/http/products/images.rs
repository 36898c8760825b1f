//! `/products/{id}/images/{file_id}`: showing a product's image, by redirect.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};

use super::ReadErrors;
use crate::app::catalog::Catalog;
use crate::domain::ids::{FileId, ProductId};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::problem::Problems;

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

pub struct ProductImagesApi {
    pub catalog: Arc<Catalog>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Products")]
impl ProductImagesApi {
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
        id: Path<IdParam<ProductId>>,
        /// File id, one of the product's `images`.
        file_id: Path<IdParam<FileId>>,
    ) -> Result<ProductImageResponse, Problems<ReadErrors>> {
        let url = self
            .catalog
            .image_url(id.0.checked("id")?, file_id.0.checked("file_id")?)
            .await?;
        // Shorter than the download URL's own validity, so a cached redirect never
        // points at an expired URL.
        Ok(ProductImageResponse::Found(
            url,
            "public, max-age=60".to_owned(),
        ))
    }
}
