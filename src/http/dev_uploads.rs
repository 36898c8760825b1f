//! The routes of the development object store (`providers::local_store`), mounted at
//! `/dev/uploads` outside the API contract: `PUT` uploads, `GET` downloads, each with the
//! URL the store presigned. Refusals are problems, as everywhere else.

use std::sync::Arc;

use poem::http::{header, StatusCode};
use poem::web::{Data, Path as PathParam, Query};
use poem::{handler, Body, EndpointExt, Request, Response, Route};
use serde::Deserialize;

use crate::app::errors::{AppError, ErrorCode};
use crate::providers::local_store::{LocalObjectStore, Refusal, SignatureError};

fn refused(refusal: Refusal) -> AppError {
    forbidden(match refusal {
        Refusal::Unsigned => {
            "the URL lacks `expires` and `signature`; ask the API for a presigned URL"
        }
        Refusal::BadKey => "no object can have this key",
        Refusal::Signature(SignatureError::Expired) => {
            "the URL has expired; ask the API for a new one"
        }
        Refusal::Signature(SignatureError::Invalid) => {
            "the signature does not match this method, object and Content-Type; send the \
             URL and headers exactly as the API gave them"
        }
    })
}

fn forbidden(detail: &str) -> AppError {
    AppError::new(ErrorCode::Forbidden, detail)
}

/// The query of a presigned dev URL.
#[derive(Debug, Deserialize)]
struct SignedQuery {
    expires: Option<u64>,
    signature: Option<String>,
}

/// The routes of the store, to nest at [`ROUTE_PREFIX`]: `PUT` uploads, `GET` downloads.
pub fn routes(store: Arc<LocalObjectStore>) -> impl poem::Endpoint + 'static {
    Route::new()
        .at("/*key", poem::put(upload).get(download))
        .data(store)
}

#[handler]
async fn upload(
    Data(store): Data<&Arc<LocalObjectStore>>,
    PathParam(key): PathParam<String>,
    Query(query): Query<SignedQuery>,
    req: &Request,
    body: Body,
) -> Result<StatusCode, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    store
        .check(
            "PUT",
            &key,
            content_type,
            query.expires,
            query.signature.as_deref(),
        )
        .map_err(refused)?;
    let condition = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if condition != Some("*") {
        return Err(forbidden(
            "the upload lacks its signed `If-None-Match: *` header; send the headers exactly as \
             the API gave them",
        ));
    }
    let already_there = || {
        AppError::new(
            ErrorCode::PreconditionFailed,
            "an object was already uploaded with this URL; it cannot be replaced",
        )
    };
    // Refused before the body is read; `write` holds the rule even against a race.
    if store.exists(&key).await {
        return Err(already_there());
    }
    let limit = usize::try_from(store.max_bytes()).unwrap_or(usize::MAX);
    let bytes = body.into_bytes_limit(limit).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {} bytes", store.max_bytes()),
        ),
        _ => AppError::new(ErrorCode::MalformedBody, "the upload could not be read"),
    })?;
    store
        .write(&key, content_type, &bytes)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => already_there(),
            _ => AppError::internal(anyhow::Error::new(e).context("storing a dev upload")),
        })?;
    tracing::info!(key = %key, size = bytes.len(), "dev upload stored");
    Ok(StatusCode::OK)
}

#[handler]
async fn download(
    Data(store): Data<&Arc<LocalObjectStore>>,
    PathParam(key): PathParam<String>,
    Query(query): Query<SignedQuery>,
) -> Result<Response, AppError> {
    store
        .check("GET", &key, "", query.expires, query.signature.as_deref())
        .map_err(refused)?;
    let (bytes, content_type) = match store.read(&key).await {
        Ok(found) => found,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::not_found("object"));
        }
        Err(e) => {
            return Err(AppError::internal(
                anyhow::Error::new(e).context("reading a dev upload"),
            ))
        }
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(bytes))
}
