//! The outer half of the pipeline: the request id and span, the client's address,
//! security headers, the `Allow` header of a 405, metrics and the access log.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{header, HeaderValue, StatusCode};
use poem::PathPattern;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use super::client_ip::client_ip;
use super::{render, ClientInfo, Pipeline, RequestId, REQUEST_ID};

/// The outer half; used as `.with(Outer(pipeline))`.
pub struct Outer(pub Arc<Pipeline>);

impl<E: Endpoint> Middleware<E> for Outer {
    type Output = PipelineEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        PipelineEndpoint {
            inner,
            config: self.0.clone(),
        }
    }
}

pub struct PipelineEndpoint<E> {
    inner: E,
    config: Arc<Pipeline>,
}

/// Accepts a client's request id if it is short and plain, so it is safe to log
/// and echo; otherwise makes one.
pub(in crate::http) fn request_id(req: &Request) -> Arc<str> {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map(Arc::from)
        // From the thread's CSPRNG (seeded once from the OS): `Uuid::new_v4` would
        // make a getrandom system call on every request.
        .unwrap_or_else(|| {
            let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            Arc::from(&*id.simple().encode_lower(&mut uuid::Uuid::encode_buffer()))
        })
}

/// A browser sends `Origin` on same-origin writes too (Swagger UI's "Try it
/// out", for one). Those are not cross-origin requests, so the CORS allow-list
/// must not refuse them.
fn drop_same_origin(req: &mut Request) {
    let same = match (
        req.headers().get(header::ORIGIN),
        req.headers().get(header::HOST),
    ) {
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, rest)| rest.to_owned()))
            .is_some_and(|o| host.to_str().is_ok_and(|h| h.eq_ignore_ascii_case(&o))),
        _ => false,
    };
    if same {
        req.headers_mut().remove(header::ORIGIN);
    }
}

impl<E: Endpoint> PipelineEndpoint<E> {
    fn add_headers(&self, response: &mut Response, id: &str, path: &str) {
        let headers = response.headers_mut();
        // Room for all of them at once instead of growing the map header by header.
        headers.reserve(7);
        if let Ok(v) = HeaderValue::from_str(id) {
            headers.insert(REQUEST_ID, v);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Swagger UI needs its own scripts and styles; everything else is data.
        if !path.starts_with("/docs") {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
        if self.config.production {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

// The layers below are not `async fn`s: an `async fn` keeps the request it was
// given beside the inner future it hands it to, and every layer's future is
// copied into the next, so each such copy costs every request (docs/benchmarks.md).
impl<E: Endpoint> Endpoint for PipelineEndpoint<E> {
    type Output = Response;

    fn call(&self, mut req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let started = Instant::now();
        let id = request_id(&req);
        req.set_data(RequestId(id.clone()));
        req.set_data(ClientInfo {
            ip: client_ip(
                req.remote_addr().as_socket_addr().map(|a| a.ip()),
                req.headers(),
                &self.config.trusted_proxies,
            ),
        });
        drop_same_origin(&mut req);
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);

        async move {
            let mut response = match self.inner.call(req).await {
                Ok(response) => response.into_response(),
                Err(error) => render(error, &id, &path),
            };
            self.add_headers(&mut response, &id, &path);
            if response.status() == StatusCode::METHOD_NOT_ALLOWED
                && !response.headers().contains_key(header::ALLOW)
            {
                // RFC 9110 requires a 405 to say which methods the resource supports.
                if let Some(allow) = self.config.allowed_methods.for_path(&path) {
                    if let Ok(value) = HeaderValue::from_str(allow) {
                        response.headers_mut().insert(header::ALLOW, value);
                    }
                }
            }
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            // Operations are labelled with their path in the contract
            // (`/api/v1/products/{id}`); other routes with their pattern.
            let pattern = response.data::<PathPattern>().map(|p| p.0.clone());
            let route = response
                .data::<OperationId>()
                .and_then(|op| self.config.operation_paths.get(op.0))
                .map(String::as_str)
                .or(pattern.as_deref().filter(|r| !r.is_empty()))
                .unwrap_or("unmatched");
            self.config
                .metrics
                .observe(route, method.as_str(), status, elapsed);
            tracing::info!(
                status,
                route,
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "request finished"
            );
            Ok(response)
        }
        .instrument(span)
    }
}
