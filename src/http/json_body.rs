//! `JsonBody<T>`: a JSON request body parsed by serde, so that a wrong type, a
//! missing field or an unknown field is reported with the field's path — which
//! poem-openapi's own `Json<T>` does not say. The schema still comes from `T`'s
//! `Object` derive, so the contract describes exactly what is parsed here.
//!
//! After serde, [`check_schema`] holds the body to what the rest of `T`'s schema
//! says and serde does not: `null` only where the schema is `nullable`, objects
//! where it says object; [`CheckedJsonBody`] also to the limits the `Object`
//! derive declares (lengths, patterns, ranges, item counts). The contract and the
//! server so refuse the same bodies.
//!
//! Both payloads read a body the pipeline's `Guard` has already decoded and
//! capped at the body limit (`pipeline::body`), so nothing here can be made to
//! hold more than that.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::Value;

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::validation::FieldError;

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

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        parse(request, body, false).await.map(Self)
    }
}

/// A [`JsonBody`] whose schema limits (lengths, patterns, ranges, item counts) are checked
/// here, at parsing: for bodies with fields no domain rule reads (a sign-in's `device`),
/// that the server acts on before it validates them (a sign-in is refused while the account
/// is locked), or whose domain rule is looser (roles are read as a set). Other bodies leave those limits to the domain, which reports every invalid
/// field at once, with its own codes, and is at least as strict as the contract.
pub struct CheckedJsonBody<T>(pub T);

impl<T: Type + Send> Payload for CheckedJsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for CheckedJsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        parse(request, body, true).await.map(Self)
    }
}

impl_apirequest_for_payload!(CheckedJsonBody<T>, T: Type + DeserializeOwned + Send);

/// A [`JsonBody`] the client may leave out (an operation whose body only adds
/// optional detail, such as a cancellation's `reason`): no body, or an empty one,
/// with or without a `Content-Type`, is `None`; a body that is there is parsed and
/// checked as [`JsonBody`] does, and must say it is JSON.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: Type + Send> Payload for OptionalJsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for OptionalJsonBody<T> {
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Bytes as FromRequest>::from_request(request, body).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse_bytes(&bytes, false).map(|t| Self(Some(t)))
    }
}

impl<'a, T: Type + DeserializeOwned + Send> poem_openapi::ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if !Self::check_content_type(content_type) => {
                Err(poem_openapi::error::ContentTypeError::NotSupported {
                    content_type: content_type.to_string(),
                }
                .into())
            }
            Some(_) => <Self as ParsePayload>::from_request(request, body).await,
            // No type: only an absent body is accepted.
            None => {
                let bytes = <Bytes as FromRequest>::from_request(request, body).await?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    Ok(Self(None))
                } else {
                    Err(poem_openapi::error::ContentTypeError::ExpectContentType.into())
                }
            }
        }
    }
}

async fn parse<T: Type + DeserializeOwned>(
    request: &Request,
    body: &mut RequestBody,
    limits: bool,
) -> poem::Result<T> {
    let bytes = Bytes::from_request(request, body).await?;
    parse_bytes(&bytes, limits)
}

fn parse_bytes<T: Type + DeserializeOwned>(bytes: &Bytes, limits: bool) -> poem::Result<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::new(
            ErrorCode::MalformedBody,
            "the request body is empty; send a JSON object",
        )
        .into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(de).map_err(|e| describe(&e))?;
    // serde took it, so the bytes are JSON.
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::new(ErrorCode::MalformedBody, e.to_string()))?;
    check_schema::<T>(&value, limits)?;
    Ok(parsed)
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

/// Holds a body serde accepted to the rest of `T`'s schema: a `null` where the schema is
/// not `nullable`, or another type than the schema's, is a body that does not match it
/// (400, like serde's own type errors; serde reads `null` as an absent `Option` and a
/// struct from an array too), and a value outside a declared limit is refused with 422
/// naming the field, as the domain's own rules are (with `limits`).
fn check_schema<T: Type>(value: &Value, limits: bool) -> Result<(), AppError> {
    let mut found = Found::default();
    found.walk(registry_of::<T>(), &T::schema_ref(), value, "");
    if let Some((field, message)) = found.types.into_iter().next() {
        return Err(AppError {
            errors: vec![FieldError::new(
                field.clone(),
                "invalid_type",
                message.clone(),
            )],
            ..AppError::new(ErrorCode::MalformedBody, format!("`{field}`: {message}"))
        });
    }
    if !limits || found.limits.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(found.limits))
    }
}

/// The schemas `T`'s own refers to, registered once per body type (a fixed few, named
/// uniquely in the contract) rather than on every request.
fn registry_of<T: Type>() -> &'static Registry {
    static REGISTRIES: OnceLock<Mutex<HashMap<String, &'static Registry>>> = OnceLock::new();
    let mut registries = REGISTRIES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let name = T::name();
    if let Some(registry) = registries.get(name.as_ref()) {
        return registry;
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let registry: &'static Registry = Box::leak(Box::new(registry));
    registries.insert(name.into_owned(), registry);
    registry
}

#[derive(Default)]
struct Found {
    /// Values of another type than the schema's (and where), such as a `null` the schema
    /// does not allow or an array for an object (serde reads a struct from either).
    types: Vec<(String, String)>,
    /// Values outside the schema's limits.
    limits: Vec<FieldError>,
}

impl Found {
    fn walk(&mut self, registry: &Registry, schema: &MetaSchemaRef, value: &Value, path: &str) {
        let schema = match schema {
            MetaSchemaRef::Inline(schema) => &**schema,
            MetaSchemaRef::Reference(name) => match registry.schemas.get(name) {
                Some(schema) => schema,
                None => return,
            },
        };
        let field = || {
            if path.is_empty() {
                "body".to_owned()
            } else {
                path.to_owned()
            }
        };
        if value.is_null() {
            if !schema.nullable {
                let message = "must not be null; leave the field out instead";
                self.types.push((field(), message.to_owned()));
            }
            return;
        }
        let fits = match schema.ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !fits {
            let message = format!("must be of type {}", schema.ty);
            self.types.push((field(), message));
            return;
        }
        for part in &schema.all_of {
            self.walk(registry, part, value, path);
        }
        let mut limit = |code: &'static str, message: String| {
            self.limits.push(FieldError::new(field(), code, message));
        };
        match value {
            Value::String(s) => {
                let len = s.chars().count();
                if let Some(max) = schema.max_length.filter(|max| len > *max) {
                    limit("too_long", format!("must be at most {max} characters"));
                }
                if let Some(min) = schema.min_length.filter(|min| len < *min) {
                    limit("too_short", format!("must be at least {min} characters"));
                }
                if let Some(pattern) = &schema.pattern {
                    if !matches(pattern, s) {
                        limit("invalid_format", format!("must match `{pattern}`"));
                    }
                }
            }
            Value::Number(n) => {
                let n = n.as_f64().unwrap_or_default();
                if let Some(max) = schema.maximum {
                    let exclusive = schema.exclusive_maximum.unwrap_or(false);
                    if n > max || (exclusive && n >= max) {
                        limit("out_of_range", format!("must be at most {max}"));
                    }
                }
                if let Some(min) = schema.minimum {
                    let exclusive = schema.exclusive_minimum.unwrap_or(false);
                    if n < min || (exclusive && n <= min) {
                        limit("out_of_range", format!("must be at least {min}"));
                    }
                }
            }
            Value::Array(items) => {
                if let Some(max) = schema.max_items.filter(|max| items.len() > *max) {
                    limit("too_many", format!("must hold at most {max} items"));
                }
                if let Some(min) = schema.min_items.filter(|min| items.len() < *min) {
                    limit("too_few", format!("must hold at least {min} items"));
                }
                if let Some(item) = &schema.items {
                    for (i, v) in items.iter().enumerate() {
                        self.walk(registry, item, v, &format!("{path}[{i}]"));
                    }
                }
            }
            Value::Object(fields) => {
                for (name, property) in &schema.properties {
                    if let Some(v) = fields.get(*name) {
                        let path = if path.is_empty() {
                            (*name).to_owned()
                        } else {
                            format!("{path}.{name}")
                        };
                        self.walk(registry, property, v, &path);
                    }
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }
}

/// Whether `s` matches the schema's `pattern` (unanchored, as JSON Schema reads it).
/// Compiled once per pattern; the patterns are the contract's, a fixed few.
fn matches(pattern: &str, s: &str) -> bool {
    static COMPILED: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let mut compiled = COMPILED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !compiled.contains_key(pattern) {
        compiled.insert(pattern.to_owned(), Regex::new(pattern).ok());
    }
    compiled[pattern].as_ref().is_none_or(|re| re.is_match(s))
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
