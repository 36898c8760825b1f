//! The HTTP adapter: routes, the contract, and the middleware around them.
//!
//! Handlers live in one module per resource (`products/`, `files`, `ops`, …) and only
//! translate between HTTP and the use cases ([`crate::app::catalog`], [`crate::app::files`], …).

use std::future::Future;
use std::sync::Arc;

use futures::future::Either;
use poem::middleware::{Compression, Cors};
use poem::{Endpoint, EndpointExt, Request, Response, Route};

pub mod addresses;
pub mod admin;
pub mod allow;
pub mod auth;
pub mod cart;
pub mod conditional;
pub mod contract;
pub mod dev;
pub mod dev_uploads;
pub mod docs;
pub mod error_sets;
pub mod files;
pub mod id_param;
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
pub mod wire;

use crate::state::AppState;
use crate::telemetry::metrics;
use contract::{api_service, contract_document, operation_paths, Api};
use idempotency::{Idempotency, IdempotentOperations};
use pipeline::{Guard, Outer, Pipeline};

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
                IdempotentOperations::declared_in(
                    &<contract::Apis as poem_openapi::OpenApi>::meta(),
                ),
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
