//! A JSON response body written by serde straight to bytes.
//!
//! poem-openapi's `Json<T>` first builds a `serde_json::Value` tree of the whole
//! body, then serialises the tree; on the hottest read (one product) building and
//! dropping that tree was a measurable share of the request (docs/benchmarks.md).
//! `SerdeJson<T>` keeps `T`'s schema in the contract and writes the same bytes
//! (a test holds the two encodings equal), without the tree. [`EncodedJson`] sends
//! bytes encoded earlier, for bodies worth keeping encoded.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(bytes),
            // Our own types always serialise; this would be a bug, not bad input.
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// A JSON body already encoded (by [`SerdeJson`]'s rules), documented as a `T`.
pub struct EncodedJson<T>(pub bytes::Bytes, pub std::marker::PhantomData<fn() -> T>);

impl<T> EncodedJson<T> {
    pub fn new(bytes: bytes::Bytes) -> Self {
        Self(bytes, std::marker::PhantomData)
    }
}

impl<T: Type> Payload for EncodedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for EncodedJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(self.0)
    }
}

/// Dates as poem-openapi writes them (`to_rfc3339`), so both encodings agree.
pub fn rfc3339<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}
