//! `JsonBody<T>`: a JSON request body parsed by serde, so that a wrong type, a
//! missing field or an unknown field is reported with the field's path — which
//! poem-openapi's own `Json<T>` does not say. The schema still comes from `T`'s
//! `Object` derive, so the contract describes exactly what is parsed here.
//!
//! Both payloads read a body the pipeline's `Guard` has already decoded and
//! capped at the body limit (`pipeline::body`), so nothing here can be made to
//! hold more than that.

use bytes::Bytes;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::domain::validation::FieldError;
use crate::errors::{AppError, ErrorCode};

pub struct JsonBody<T>(pub T);

impl<T: Type + Send> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime::Mime>().is_ok_and(|m| {
            m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
        })
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = Bytes::from_request(request, body).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::new(
                ErrorCode::MalformedBody,
                "the request body is empty; send a JSON object",
            )
            .into());
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(value) => Ok(Self(value)),
            Err(e) => Err(describe(&e).into()),
        }
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Send);

/// The name inside the first pair of backticks of a serde message, e.g. `name`
/// in "missing field `name`".
fn quoted(message: &str) -> Option<&str> {
    message.split('`').nth(1)
}

fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let inner = e.inner();
    if !matches!(inner.classify(), Category::Data) {
        return AppError::new(
            ErrorCode::MalformedBody,
            format!("the request body is not valid JSON: {inner}"),
        );
    }
    let path = e.path().to_string();
    let message = inner.to_string();
    // serde_json appends " at line L column C"; the field path says more.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .replace("expected i64", "expected an integer")
        .replace("expected u64", "expected a non-negative integer");
    let parent = if path == "." { String::new() } else { path };
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    let (field, code) = if message.starts_with("missing field") {
        (
            quoted(&message).map(join).unwrap_or_else(|| parent.clone()),
            "required",
        )
    } else if message.starts_with("unknown field") {
        // Here serde_path_to_error's path already ends at the unknown field.
        (parent.clone(), "unknown_field")
    } else {
        (parent.clone(), "invalid_type")
    };
    let field = if field.is_empty() {
        "body".to_owned()
    } else {
        field
    };
    // The body does not match the schema: 400. (422 is for bodies that match
    // it but break a rule, reported by the domain.)
    AppError {
        errors: vec![FieldError::new(field.clone(), code, message.clone())],
        ..AppError::new(ErrorCode::MalformedBody, format!("`{field}`: {message}"))
    }
}

/// Checks each item of a batch against the item's schema in the contract: the limits
/// its `Object` derive declares (lengths, counts, ranges, patterns), which serde does not
/// hold. A batch whose items break the schema is refused whole (422, `items[i]` in
/// `errors`) instead of answering 200 with those items failed: the contract calls such a
/// request invalid, so the server must too. Items that fit the schema still succeed or
/// fail each on its own.
pub fn check_items<T: ToJSON + ParseFromJSON>(items: &[T]) -> Result<(), AppError> {
    let errors: Vec<FieldError> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            T::parse_from_json(item.to_json()).err().map(|e| {
                FieldError::new(
                    format!("items[{index}]"),
                    "invalid",
                    super::problem::clean_reason(e.message()),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(AppError::validation(errors))
}

/// A JSON body kept as the exact bytes received, for signatures computed over
/// them (webhooks): parsing and re-serialising would change what was signed.
pub struct RawJson(pub Vec<u8>);

impl Payload for RawJson {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<serde_json::Value>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("A Razorpay webhook event, exactly as Razorpay sent it."),
            example: Some(serde_json::json!({
                "entity": "event",
                "account_id": "acc_BFQ7uQEaa7j2z7",
                "event": "payment.captured",
                "contains": ["payment"],
                "payload": {"payment": {"entity": {
                    "id": "pay_IH4NVgf4Dreq1l", "entity": "payment", "amount": 306564,
                    "currency": "INR", "status": "captured", "order_id": "order_IEIaMR65cu6nz3",
                    "method": "upi", "captured": true
                }}},
                "created_at": 1767225721
            })),
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for RawJson {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        // The bytes as received (and decoded from any content coding), never
        // re-serialised: Razorpay's signature is over exactly these.
        Ok(Self(Bytes::from_request(request, body).await?.into()))
    }
}

impl_apirequest_for_payload!(RawJson);
