//! How every list is asked for and answers: the paging parameters as one argument
//! ([`Paging`]), and items with paging fields and navigation links ([`page_of`]).

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object};

use super::params::{CursorText, Limit, PageNumber};
use super::problem::clean_reason;
use crate::app::errors::AppError;
use crate::domain::listing::{ListPage, ListQuery, PageRequest, Pagination, PAGE_MAX};

/// `limit`, `cursor` and `page`, the paging parameters every list takes, as one argument
/// of a list operation: `paging: Paging`. The contract declares them as an object
/// parameter exploded into the query (`style: form`), which the document spells out as the
/// three plain parameters it means (`contract::flatten_query_objects`).
pub struct Paging(pub PageRequest);

impl Paging {
    /// The parameters, with what each takes and means.
    fn parameters() -> Vec<(&'static str, MetaSchemaRef)> {
        let described = |schema: MetaSchemaRef, description: &'static str| match schema {
            MetaSchemaRef::Inline(schema) => MetaSchemaRef::Inline(Box::new(MetaSchema {
                description: Some(description),
                ..*schema
            })),
            reference => reference,
        };
        vec![
            (
                "limit",
                described(Limit::schema_ref(), "Items per page, 1–100 (default 20)."),
            ),
            (
                "cursor",
                described(
                    CursorText::schema_ref(),
                    "Opaque cursor from a previous page's `next_cursor`.",
                ),
            ),
            (
                "page",
                described(
                    PageNumber::schema_ref(),
                    "Page number from 1 (page mode, with totals), at most 10000; a `cursor` \
                     sent with it is ignored.",
                ),
            ),
        ]
    }
}

/// The last value of query parameter `name` parsed as `T`, or `invalid_parameter`.
fn query_value<T: ParseFromParameter>(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<T>, AppError> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| T::parse_from_parameter(v))
        .transpose()
        .map_err(|e| AppError::invalid_parameter(name, clean_reason(&e.into_message())))
}

impl<'a> ApiExtractor<'a> for Paging {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = ();
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Query)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            properties: Self::parameters(),
            ..MetaSchema::new("object")
        })))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        Ok(Self(PageRequest {
            limit: query_value::<Limit>(&pairs, "limit")?.map(|l| l.0),
            cursor: query_value::<CursorText>(&pairs, "cursor")?.map(|c| c.0),
            page: query_value::<PageNumber>(&pairs, "page")?.map(|p| p.0),
        }))
    }
}

/// Navigation links of a list page; each is a relative URL ready to request.
#[derive(Debug, Clone, Object)]
pub struct PageLinks {
    #[oai(rename = "self")]
    pub this: String,
    /// The first page.
    pub first: String,
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
    /// Page mode only.
    #[oai(skip_serializing_if_is_none)]
    pub prev: Option<String>,
    /// Page mode only.
    #[oai(skip_serializing_if_is_none)]
    pub last: Option<String>,
}

/// The paging part of a list response.
pub struct PageInfo {
    pub limit: u32,
    pub has_next: bool,
    pub has_prev: bool,
    pub next_cursor: Option<String>,
    pub page: Option<u32>,
    pub total: Option<u64>,
    pub total_pages: Option<u64>,
    pub links: PageLinks,
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The paging fields and links of `page`, the answer to `query` (as `paging` asked for
/// it) at `base`, whose filters and sort are `params` (name, value) in a fixed order.
pub fn page_of<Q: ListQuery>(
    base: &str,
    params: &[(&str, Option<String>)],
    paging: &PageRequest,
    query: &Q,
    page: &ListPage<Q::Item>,
) -> PageInfo {
    page_info(
        base,
        params,
        query.limit(),
        query.pagination(),
        paging.cursor.as_deref(),
        page.has_next,
        page.total,
        || page.items.last().map(|last| query.cursor_after(last)),
    )
}

/// Builds the paging fields and links of a page at `base`, whose filters and
/// sort are `params` (name, value) in a fixed order.
// The arguments are the independent facts of one page; a struct for them
// would only be filled in once, right here in the caller.
#[allow(clippy::too_many_arguments)]
fn page_info(
    base: &str,
    params: &[(&str, Option<String>)],
    limit: u32,
    pagination: &Pagination,
    cursor_sent: Option<&str>,
    has_next: bool,
    total: Option<u64>,
    next_cursor: impl FnOnce() -> Option<String>,
) -> PageInfo {
    let mut query: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    query.push(format!("limit={limit}"));
    let query = query.join("&");
    let with = |extra: Option<(&str, String)>| match extra {
        Some((k, v)) => format!("{base}?{query}&{k}={}", encode(&v)),
        None => format!("{base}?{query}"),
    };
    match pagination {
        Pagination::Page(n) => {
            let n = u64::from(*n);
            let total = total.unwrap_or(0);
            let total_pages = total.div_ceil(u64::from(limit)).max(1);
            let page_link = |p: u64| with(Some(("page", p.to_string())));
            PageInfo {
                limit,
                has_next,
                has_prev: n > 1,
                next_cursor: None,
                page: Some(n as u32),
                total: Some(total),
                total_pages: Some(total_pages),
                links: PageLinks {
                    this: page_link(n),
                    first: page_link(1),
                    next: has_next.then(|| page_link(n + 1)),
                    prev: (n > 1).then(|| page_link((n - 1).min(total_pages))),
                    last: Some(page_link(total_pages.min(u64::from(PAGE_MAX)))),
                },
            }
        }
        Pagination::Cursor(current) => {
            let next_cursor = if has_next { next_cursor() } else { None };
            PageInfo {
                limit,
                has_next,
                has_prev: current.is_some(),
                page: None,
                total: None,
                total_pages: None,
                links: PageLinks {
                    this: with(cursor_sent.map(|c| ("cursor", c.to_owned()))),
                    first: with(None),
                    next: next_cursor.clone().map(|c| with(Some(("cursor", c)))),
                    prev: None,
                    last: None,
                },
                next_cursor,
            }
        }
    }
}

/// Declares a list response object: `items` plus the shared paging fields.
#[macro_export]
macro_rules! list_object {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $crate::list_object!($(#[$doc])* $name, $item; {});
    };
    // With extra fields after `links`, each starting as its `Default`.
    ($(#[$doc:meta])* $name:ident, $item:ty; { $($(#[$fdoc:meta])* $field:ident: $fty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, poem_openapi::Object)]
        $(#[$doc])*
        pub struct $name {
            pub items: Vec<$item>,
            pub limit: u32,
            pub has_next: bool,
            pub has_prev: bool,
            /// Cursor mode: pass as `cursor` to get the next page.
            #[oai(skip_serializing_if_is_none)]
            pub next_cursor: Option<String>,
            /// Page mode: the current page, from 1.
            #[oai(skip_serializing_if_is_none)]
            pub page: Option<u32>,
            /// Page mode: matching items across all pages.
            #[oai(skip_serializing_if_is_none)]
            pub total: Option<u64>,
            /// Page mode: number of pages (at least 1).
            #[oai(skip_serializing_if_is_none)]
            pub total_pages: Option<u64>,
            pub links: $crate::http::listing::PageLinks,
            $($(#[$fdoc])* pub $field: $fty,)*
        }

        impl $name {
            pub fn new(items: Vec<$item>, info: $crate::http::listing::PageInfo) -> Self {
                Self {
                    items,
                    limit: info.limit,
                    has_next: info.has_next,
                    has_prev: info.has_prev,
                    next_cursor: info.next_cursor,
                    page: info.page,
                    total: info.total,
                    total_pages: info.total_pages,
                    links: info.links,
                    $($field: Default::default(),)*
                }
            }
        }
    };
}
