//! `/products`: creating a product, and listing them with filters, facets and pages.

use std::sync::Arc;

use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sha2::{Digest, Sha256};

use super::input::ProductInput;
use super::{etag, ProductBody, BASE};
use crate::app::catalog::Catalog;
use crate::app::identity::Identity;
use crate::domain::facets::Facets;
use crate::domain::product_query::{ProductPage, ProductQuery, RawProductQuery};
use crate::http::conditional::{not_modified, ETag, IfNoneMatch};
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::listing::{page_of, PageLinks, Paging};
use crate::http::params::{BoolText, FacetsParam, PaiseBound, SearchText, SortParam, TagParam};
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::serde_json_body::EncodedJson;
use crate::{error_set, list_object};

error_set!(
    /// Errors of listing products.
    ListErrors: ANY, LIST;
);
error_set!(
    /// Errors of creating a product.
    CreateErrors: ANY, PERMITTED, BODY; Conflict
);

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

/// How many products of the filtered set offer an option name (`count`), and each of its
/// values (a product counts once per value any of its variants has).
#[derive(Debug, Clone, Object)]
pub struct OptionFacetCount {
    pub name: String,
    pub count: u64,
    /// The 20 most offered values, most first.
    pub values: Vec<FacetValueCount>,
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
    /// The 10 option names most offered (e.g. `Size`, `Colour`), most first, each with
    /// its values.
    #[oai(skip_serializing_if_is_none)]
    pub options: Option<Vec<OptionFacetCount>>,
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
            options: f.options.map(|options| {
                options
                    .into_iter()
                    .map(|o| OptionFacetCount {
                        name: o.name,
                        count: o.count,
                        values: values(o.values),
                    })
                    .collect()
            }),
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
                options: None,
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
pub enum ListProductsResponse {
    /// A page of products.
    #[oai(status = 200)]
    Ok(Json<ProductList>, #[oai(header = "ETag")] String),
    /// The page has not changed since the `If-None-Match` tag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
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
        ("in_stock", raw.in_stock.clone()),
        (
            "sort",
            raw.sort.as_ref().map(|_| query.sort.as_str().to_owned()),
        ),
        (
            "facets",
            (!query.facets.is_empty()).then(|| query.facets.as_param()),
        ),
    ];
    let info = page_of(BASE, &params, &raw.paging, query, &page);
    let mut list = ProductList::new(page.items.iter().map(ProductBody::from).collect(), info);
    list.facets = facets.map(Into::into);
    list
}

fn list_etag(body: &ProductList) -> ETag {
    let json = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(body)).unwrap_or_default();
    ETag::weak(&hex::encode(&Sha256::digest(&json)[..12]))
}

pub struct ProductCollectionApi {
    pub catalog: Arc<Catalog>,
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Products")]
impl ProductCollectionApi {
    /// Create a product
    ///
    /// Needs `products:write` (catalog managers and admins). Every invalid
    /// field is reported at once in the problem's `errors`. A SKU that is
    /// already taken answers 409.
    #[oai(path = "/products", method = "post", operation_id = "createProduct")]
    async fn create_product(
        &self,
        auth: Permit<needs::ProductsWrite>,
        body: JsonBody<ProductInput>,
    ) -> Result<CreateProductResponse, Problems<CreateErrors>> {
        let product = self.catalog.create(&auth.0, body.0.into()).await?;
        let location = format!("{BASE}/{}", product.id);
        Ok(CreateProductResponse::Created(
            EncodedJson::encode(&(&product).into()),
            location,
            etag(&product).into(),
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
        paging: Paging,
        /// Counts to return for the whole filtered set: a comma-separated list
        /// of `category`, `tags`, `price_range`, `options` (per option name and value).
        facets: Query<Option<FacetsParam>>,
        /// `true`: only products with a variant that can be bought now (unlimited
        /// stock, or units left); `false`: only products with none.
        in_stock: Query<Option<BoolText>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<IfNoneMatch>>,
    ) -> Result<ListProductsResponse, Problems<ListErrors>> {
        let raw = RawProductQuery {
            category: category.0,
            price_min: price_min.0.map(|p| p.0),
            price_max: price_max.0.map(|p| p.0),
            tag: tag.0.map(String::from),
            q: q.0.map(|q| q.0),
            sort: sort.0.map(|s| s.0),
            paging: paging.0,
            facets: facets.0.map(|f| f.0),
            in_stock: in_stock.0.map(String::from),
        };
        let (query, page, facets) = self.catalog.list(&raw).await?;
        let body = list_body(&raw, &query, page, facets);
        let tag = list_etag(&body);
        if not_modified(if_none_match.0.as_ref(), &tag) {
            return Ok(ListProductsResponse::NotModified(tag.into()));
        }
        Ok(ListProductsResponse::Ok(Json(body), tag.into()))
    }
}
