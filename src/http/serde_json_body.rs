//! JSON response bodies written by serde straight to bytes.
//!
//! poem-openapi's `Json<T>` first builds a `serde_json::Value` tree of the whole
//! body, then serialises the tree; on the hottest read (one product) building and
//! dropping that tree was a measurable share of the request (docs/benchmarks.md).
//! [`EncodedJson<T>`] sends bytes from [`EncodedJson::encode`] (or kept from an
//! earlier encoding) and keeps `T`'s schema in the contract; a test holds serde's
//! bytes equal to poem-openapi's for the types that use it.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

const JSON: &str = "application/json; charset=utf-8";

/// An encoded JSON body, documented as a `T`.
pub struct EncodedJson<T>(Bytes, PhantomData<fn() -> T>);

impl<T> EncodedJson<T> {
    /// Bytes encoded earlier from a `T`.
    pub fn new(bytes: Bytes) -> Self {
        Self(bytes, PhantomData)
    }
}

impl<T: Serialize> EncodedJson<T> {
    pub fn encode(value: &T) -> Self {
        Self::new(encode(value))
    }
}

/// `value` as JSON. Our response types always serialise (string keys, no
/// failing `Serialize`), so an error here would be a bug; it yields an empty body.
pub fn encode(value: &impl Serialize) -> Bytes {
    serde_json::to_vec(value).unwrap_or_default().into()
}

impl<T: Type> Payload for EncodedJson<T> {
    const CONTENT_TYPE: &'static str = JSON;

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
        Response::builder().content_type(JSON).body(self.0)
    }
}

/// Dates as poem-openapi writes them (`to_rfc3339`), so both encodings agree.
pub fn rfc3339<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}
