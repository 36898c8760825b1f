//! The HTTP adapter: routes, the contract, and the middleware around them.
//!
//! Handlers live in one module per tag (`products`, `files`, `ops`, …) and only
//! translate between HTTP and the use cases ([`crate::app::catalog`], [`crate::app::files`], …).

use std::sync::Arc;

use futures::future::Either;
use poem::middleware::{Compression, Cors};
use poem::{Endpoint, EndpointExt, Request, Response, Route};
use poem_openapi::{ContactObject, ExtraHeader, LicenseObject, OpenApiService, Tags};
use std::future::Future;

pub mod admin;
pub mod allow;
pub mod auth;
pub mod dev;
pub mod dev_uploads;
pub mod docs;
pub mod files;
pub mod idempotency;
pub mod json_body;
pub mod listing;
pub mod ops;
pub mod orders;
pub mod params;
pub mod pipeline;
pub mod problem;
pub mod products;
pub mod security;
mod serde_json_body;
pub mod users;

use crate::state::AppState;
use crate::telemetry::metrics;
use admin::AdminApi;
use auth::AuthApi;
use dev::DevApi;
use files::FilesApi;
use idempotency::Idempotency;
use ops::OpsApi;
use orders::{OrdersAdminApi, OrdersApi, PaymentsDevApi};
use pipeline::{Guard, Outer, Pipeline};
use products::ProductsApi;
use users::UsersApi;

#[derive(Tags)]
pub enum ApiTags {
    /// Sign-up with phone and OTP, sign-in, token refresh and sign-out.
    Auth,
    /// The signed-in user's profile, preferences and sessions.
    Users,
    /// The product catalog: create, read, change, delete and list products.
    Products,
    /// Orders, checkout with Razorpay, and Razorpay's webhooks.
    Orders,
    /// Uploads straight to the object store through presigned URLs, and their files.
    Files,
    /// Users, the audit trail and the outbox of customer notices, for admins.
    Admin,
    /// Development helpers; absent in production.
    Development,
    /// Health checks and metrics for operators and orchestrators.
    Operations,
}

const DESCRIPTION: &str = r#"The backend of a storefront MVP, India first.

**Conventions**

* Every error is an RFC 9457 problem document (`application/problem+json`) with a stable
  `code`, the `request_id`, per-field `errors` and `retryable`. Codes are listed in
  `docs/errors.md`.
* Money is an integer number of **paise** plus a `currency` (`INR`).
* Every response carries `X-Request-Id`; send your own (1–128 of `A-Z a-z 0-9 - _ . :`) to trace a call.
* Reads return an `ETag`; send it as `If-None-Match` to get 304, or as `If-Match` on
  `PUT`/`PATCH`/`DELETE` to refuse a write over someone else's change (412).
* Lists take `limit` (1–100) and paginate by opaque `cursor` (default) or by `page` (with totals;
  a `cursor` sent with `page` is ignored), and answer `links` to follow.
* A query parameter may appear only once.
* Protected operations take `Authorization: Bearer <access_token>` (from `POST /api/v1/auth/login`
  or `otp/verify`); refresh it with `POST /api/v1/auth/refresh`.
* Requests are rate-limited per client and route group; answers carry `RateLimit-Limit`,
  `RateLimit-Remaining` and `RateLimit-Reset`, and a 429 carries `Retry-After`.
* Operations that declare the optional `Idempotency-Key` header (such as `otp/send`) are safe
  to retry: send a new random UUID (1–255 printable ASCII characters) for each action and the
  same one when retrying it. The request then runs once; copies of it get the first answer
  again, with `Idempotent-Replayed: true`, for 24 hours by default. The key on a different
  request answers 422 `idempotency_key_reused`; a copy sent while the first is still running
  answers 409 `idempotency_in_flight` with `Retry-After`. Keys belong to the signed-in user
  (callers without a token share one space) and to one operation. Answers that invite a retry
  (5xx, 429) are not kept, so the retry runs the operation again.
"#;

/// The API as poem-openapi sees it: every operation of the contract.
pub type Api = OpenApiService<
    (
        AuthApi,
        UsersApi,
        ProductsApi,
        OrdersApi,
        OrdersAdminApi,
        PaymentsDevApi,
        FilesApi,
        AdminApi,
        DevApi,
        OpsApi,
    ),
    (),
>;

pub fn api_service(state: &AppState) -> Api {
    let ops = OpsApi {
        catalog: state.catalog.clone(),
        kv: state.kv.clone(),
        backends: state.backends,
        breakers: state.breakers.clone(),
        metrics: state.metrics.clone(),
        metrics_access: metrics::MetricsAccess::api_listener(&state.settings),
        timeout: state.settings.storage.backend_timeout,
        draining: state.draining.clone(),
    };
    let products = ProductsApi {
        catalog: state.catalog.clone(),
        identity: state.identity.clone(),
        encoded: moka::sync::Cache::builder()
            .max_capacity(state.settings.cache.l1_capacity)
            .build(),
    };
    let identity = || state.identity.clone();
    let apis = (
        AuthApi {
            identity: identity(),
        },
        UsersApi {
            identity: identity(),
        },
        products,
        OrdersApi {
            orders: state.orders.clone(),
            identity: identity(),
        },
        OrdersAdminApi {
            orders: state.orders.clone(),
            identity: identity(),
        },
        PaymentsDevApi {
            orders: state.orders.clone(),
            fake: state
                .razorpay_fake
                .clone()
                .filter(|_| state.settings.env != crate::config::Environment::Production),
        },
        FilesApi {
            files: state.files.clone(),
            identity: identity(),
        },
        AdminApi {
            identity: identity(),
            outbox: state.outbox.clone(),
        },
        DevApi {
            identity: identity(),
        },
        ops,
    );
    OpenApiService::new(apis, "Bazaar API", env!("CARGO_PKG_VERSION"))
        .description(DESCRIPTION)
        .license(LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
        .contact(ContactObject::new().name("Bazaar"))
        .server("/")
        .extra_response_header::<String, _>(ExtraHeader::new("X-Request-Id").description(
            "The request's id: the client's own if it sent a valid one, otherwise a new one.",
        ))
}

/// OpenAPI links (`responses.<status>.links`) that poem-openapi's derive cannot declare:
/// (operation, status, link name, target operation, target parameter, runtime expression).
/// They tell clients, and Schemathesis' stateful phase, how a created resource's id feeds
/// the operations on it.
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "createProduct",
        "201",
        "GetProduct",
        "getProduct",
        "id",
        "$response.body#/id",
    ),
    (
        "createProduct",
        "201",
        "UpdateProduct",
        "updateProduct",
        "id",
        "$response.body#/id",
    ),
    (
        "createProduct",
        "201",
        "ReplaceProduct",
        "replaceProduct",
        "id",
        "$response.body#/id",
    ),
    (
        "createProduct",
        "201",
        "DeleteProduct",
        "deleteProduct",
        "id",
        "$response.body#/id",
    ),
    (
        "createOrder",
        "201",
        "GetOrder",
        "getOrder",
        "id",
        "$response.body#/id",
    ),
    (
        "createOrder",
        "201",
        "CancelOrder",
        "cancelOrder",
        "id",
        "$response.body#/id",
    ),
    (
        "createOrder",
        "201",
        "CreatePayment",
        "createPayment",
        "id",
        "$response.body#/id",
    ),
    (
        "createFile",
        "201",
        "GetFile",
        "getFile",
        "id",
        "$response.body#/file/id",
    ),
    (
        "createFile",
        "201",
        "CompleteFile",
        "completeFile",
        "id",
        "$response.body#/file/id",
    ),
    (
        "createFile",
        "201",
        "DeleteFile",
        "deleteFile",
        "id",
        "$response.body#/file/id",
    ),
];

/// The contract as a document: what poem-openapi generates plus [`LINKS`]. The one place the
/// generated spec is post-processed; `/openapi.json`, `/openapi.yaml` and `bazaar openapi`
/// all serve it. A YAML value keeps the generated key order.
fn contract_document(api: &Api) -> serde_yaml::Value {
    use serde_yaml::{Mapping, Value};
    let mut doc: Value = serde_yaml::from_str(&api.spec_yaml())
        .unwrap_or_else(|e| panic!("poem-openapi's YAML must parse: {e}"));
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_mapping_mut)
        .expect("the contract has paths");
    for (operation_id, status, name, target, parameter, expression) in LINKS {
        let response = paths
            .values_mut()
            .filter_map(Value::as_mapping_mut)
            .flat_map(|item| item.values_mut())
            .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
            .and_then(|op| op.get_mut("responses"))
            .and_then(|responses| responses.get_mut(*status))
            .and_then(Value::as_mapping_mut)
            .unwrap_or_else(|| panic!("link {name}: no {status} answer of {operation_id}"));
        let links = response
            .entry("links".into())
            .or_insert_with(|| Value::Mapping(Mapping::new()))
            .as_mapping_mut()
            .expect("links is a mapping");
        let mut parameters = Mapping::new();
        parameters.insert((*parameter).into(), (*expression).into());
        let mut link = Mapping::new();
        link.insert("operationId".into(), (*target).into());
        link.insert("parameters".into(), Value::Mapping(parameters));
        links.insert((*name).into(), Value::Mapping(link));
    }
    close_request_objects(&mut doc);
    doc
}

/// Declares `additionalProperties: false` on every object a request body is made of.
/// Request bodies are parsed by serde with `deny_unknown_fields` ([`json_body`]), which
/// poem-openapi's `deny_unknown_fields` does not write into the schema; without it the
/// contract would allow fields the server refuses.
fn close_request_objects(doc: &mut serde_yaml::Value) {
    use serde_yaml::Value;
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Mapping(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner.as_str()) {
                        (Some("$ref"), Some(target)) => {
                            if let Some(name) = target.strip_prefix("#/components/schemas/") {
                                found.push(name.to_owned());
                            }
                        }
                        _ => refs(inner, found),
                    }
                }
            }
            Value::Sequence(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in doc["paths"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for operation in item.as_mapping().into_iter().flat_map(|m| m.values()) {
            refs(&operation["requestBody"], &mut pending);
        }
    }
    let mut closed = std::collections::HashSet::new();
    while let Some(name) = pending.pop() {
        if !closed.insert(name.clone()) {
            continue;
        }
        let Some(schema) = doc["components"]["schemas"]
            .get_mut(name.as_str())
            .and_then(Value::as_mapping_mut)
        else {
            continue;
        };
        refs(&Value::Mapping(schema.clone()), &mut pending);
        if schema.get("type").and_then(Value::as_str) == Some("object")
            && schema.contains_key("properties")
            && !schema.contains_key("additionalProperties")
        {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

/// The contract in JSON, as `/openapi.json` serves it.
pub fn contract_json(api: &Api) -> String {
    serde_json::to_string_pretty(&contract_document(api)).expect("the contract serialises")
}

/// The contract in YAML, as `/openapi.yaml` and `bazaar openapi` give it.
pub fn contract_yaml(api: &Api) -> String {
    serde_yaml::to_string(&contract_document(api)).expect("the contract serialises")
}

/// Maps each operationId to its path template in the contract.
fn operation_paths(api: &Api) -> std::collections::HashMap<String, String> {
    let spec: serde_json::Value = serde_json::from_str(&api.spec()).unwrap_or_default();
    let mut paths = std::collections::HashMap::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for op in item.as_object().into_iter().flatten().map(|(_, op)| op) {
            if let Some(id) = op["operationId"].as_str() {
                paths.insert(id.to_owned(), path.clone());
            }
        }
    }
    paths
}

/// Every route's methods: the contract's operations, and the development object
/// store's uploads when it is mounted (the other routes outside the contract take
/// any method).
fn allowed_methods(api: &Api, state: &AppState) -> allow::AllowedMethods {
    let spec: serde_json::Value = serde_json::from_str(&api.spec()).unwrap_or_default();
    let mut allowed = allow::AllowedMethods::from_contract(&spec);
    if state.settings.env != crate::config::Environment::Production && state.local_files.is_some() {
        allowed.add(
            &format!("{}/*", crate::providers::local_store::ROUTE_PREFIX),
            &[poem::http::Method::PUT, poem::http::Method::GET],
        );
    }
    allowed
}

/// Sends a request straight to the API's own router unless it is for one of the
/// few routes outside the contract. The hottest reads then pass one router, not
/// three nested ones, each of which matched the path again, decoded it and boxed
/// the rest of the request (docs/benchmarks.md).
struct Dispatch<A, B> {
    api: A,
    other: B,
    /// Whether the development object store is mounted.
    uploads: bool,
}

impl<A, B> Dispatch<A, B> {
    fn outside_contract(&self, path: &str) -> bool {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        matches!(path, "/openapi.json" | "/openapi.yaml")
            || under("/docs")
            || (self.uploads && under(crate::providers::local_store::ROUTE_PREFIX))
    }
}

// Not an `async fn`: that would keep its own copy of the request beside the
// inner future, and every API request's future would carry (and copy) it.
impl<A, B> Endpoint for Dispatch<A, B>
where
    A: Endpoint<Output = Response>,
    B: Endpoint<Output = Response>,
{
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        // Boxed: that router's future is several kilobytes, and would otherwise
        // be part of (and copied with) every API request's future.
        if self.outside_contract(req.uri().path()) {
            Either::Left(Box::pin(self.other.call(req)))
        } else {
            Either::Right(self.api.call(req))
        }
    }
}

/// The whole HTTP application: the API, the contract, Swagger UI, and the pipeline.
pub fn app(state: &AppState) -> impl Endpoint + 'static {
    let api = api_service(state);
    // One document for both encodings: building it takes megabytes of trees.
    let document = contract_document(&api);
    let spec_json = {
        let spec = bytes::Bytes::from(
            serde_json::to_string_pretty(&document).expect("the contract serialises"),
        );
        poem::endpoint::make_sync(move |_| {
            Response::builder()
                .content_type("application/json")
                .body(spec.clone())
        })
    };
    let spec_yaml = {
        let spec =
            bytes::Bytes::from(serde_yaml::to_string(&document).expect("the contract serialises"));
        drop(document);
        poem::endpoint::make_sync(move |_| {
            Response::builder()
                .content_type("application/x-yaml")
                .header("Content-Disposition", "inline; filename=\"spec.yaml\"")
                .body(spec.clone())
        })
    };
    let pipeline = Arc::new(Pipeline {
        metrics: state.metrics.clone(),
        operation_paths: operation_paths(&api),
        request_timeout: state.settings.server.request_timeout,
        body_limit: state.settings.server.body_limit_bytes,
        identity: state.identity.clone(),
        trusted_proxies: state.settings.server.trusted_proxies.clone(),
        rate_limits: state.rate_limits.clone(),
        production: state.settings.env == crate::config::Environment::Production,
        allowed_methods: Arc::new(allowed_methods(&api, state)),
    });
    // Everything outside the contract: the contract itself and Swagger UI, and
    // (below) the development object store.
    let mut other = Route::new().nest_no_strip(
        "/",
        Route::new()
            .at("/openapi.json", spec_json)
            .at("/openapi.yaml", spec_yaml)
            .nest("/docs", docs::swagger_ui())
            .with(Compression::new())
            .with(Guard(pipeline.clone())),
    );
    // The development object store's presigned URLs point here. Not in the contract, never
    // in production (which requires S3), and guarded with the upload size as body limit.
    let local_files = state
        .local_files
        .clone()
        .filter(|_| state.settings.env != crate::config::Environment::Production);
    let uploads = local_files.is_some();
    if let Some(store) = local_files {
        let limits = Arc::new(Pipeline {
            body_limit: usize::try_from(store.max_bytes()).unwrap_or(usize::MAX),
            operation_paths: pipeline.operation_paths.clone(),
            metrics: pipeline.metrics.clone(),
            identity: pipeline.identity.clone(),
            trusted_proxies: pipeline.trusted_proxies.clone(),
            rate_limits: pipeline.rate_limits.clone(),
            request_timeout: pipeline.request_timeout,
            production: pipeline.production,
            allowed_methods: pipeline.allowed_methods.clone(),
        });
        other = other.nest(
            crate::providers::local_store::ROUTE_PREFIX,
            dev_uploads::routes(store).with(Guard(limits)),
        );
    }
    let routes = Dispatch {
        // Idempotency inside compression: it keeps and replays answers as the
        // operation wrote them, whatever encoding each client accepts.
        api: api
            .data(state.identity.clone())
            .with(Idempotency::new(
                state.idempotency.clone(),
                state.identity.clone(),
                state.settings.server.body_limit_bytes,
            ))
            .with(Compression::new())
            .with(Guard(pipeline.clone())),
        other,
        uploads,
    };
    let origins = &state.settings.server.cors_origins;
    let cors = (!origins.is_empty()).then(|| {
        let cors = Cors::new()
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            .allow_headers([
                "content-type",
                "authorization",
                "if-match",
                "if-none-match",
                "x-request-id",
                "idempotency-key",
            ])
            .expose_headers([
                "etag",
                "location",
                "retry-after",
                "x-request-id",
                "idempotent-replayed",
            ])
            .max_age(600);
        if origins.iter().any(|o| o == "*") {
            cors
        } else {
            origins.iter().fold(cors, |c, o| c.allow_origin(o.as_str()))
        }
    });
    routes
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .with(Outer(pipeline))
}

/// The metrics listener's application (`BAZAAR_METRICS_ADDR`): `GET /metrics`
/// and nothing else, with the token if one is set. Errors are problems, as on
/// the API listener.
pub fn metrics_app(state: &AppState) -> impl Endpoint + 'static {
    let access = metrics::MetricsAccess::own_listener(&state.settings);
    let metrics = state.metrics.clone();
    poem::endpoint::make(move |req: Request| {
        let id = pipeline::request_id(&req);
        let path = req.uri().path().to_owned();
        let answer = if path != "/metrics" {
            Err(crate::app::errors::AppError::new(
                crate::app::errors::ErrorCode::NotFound,
                "this listener serves only GET /metrics",
            ))
        } else if req.method() != poem::http::Method::GET {
            Err(crate::app::errors::AppError::new(
                crate::app::errors::ErrorCode::MethodNotAllowed,
                "this path does not support the request method",
            ))
        } else {
            let token = req
                .headers()
                .get(poem::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            access.check(token).map(|()| metrics.render())
        };
        let mut response = match answer {
            Ok(text) => Response::builder()
                .content_type("text/plain; version=0.0.4")
                .body(text),
            Err(error) => pipeline::render(error.into(), &id, &path),
        };
        if let Ok(value) = poem::http::HeaderValue::from_str(&id) {
            response.headers_mut().insert(pipeline::REQUEST_ID, value);
        }
        if response.status() == poem::http::StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(
                poem::http::header::ALLOW,
                poem::http::HeaderValue::from_static("GET"),
            );
        }
        std::future::ready(response)
    })
}
