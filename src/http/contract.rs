//! The contract: the API as poem-openapi builds it from the tag structs ([`api_service`]),
//! and the document served as `/openapi.json`, `/openapi.yaml` and by `bazaar openapi`
//! (the generated spec, post-processed in one place).

use poem_openapi::{ContactObject, ExtraHeader, LicenseObject, OpenApiService, Tags};

use super::addresses::AddressesApi;
use super::admin::AdminApi;
use super::auth::AuthApi;
use super::cart::checkout::CheckoutApi;
use super::cart::CartApi;
use super::dev::payments::PaymentsDevApi;
use super::dev::DevApi;
use super::files::FilesApi;
use super::ops::OpsApi;
use super::orders::admin::OrdersAdminApi;
use super::orders::fulfilment::OrderFulfilmentApi;
use super::orders::lifecycle::OrdersApi;
use super::orders::payments::PaymentsApi;
use super::products::ProductsApi;
use super::users::UsersApi;
use crate::state::AppState;
use crate::telemetry::metrics;

#[derive(Tags)]
pub enum ApiTags {
    /// Sign-up with phone and OTP, sign-in, token refresh and sign-out.
    Auth,
    /// The signed-in user's profile, preferences and sessions.
    Users,
    /// Saved delivery addresses, and India Post's pincode directory for address forms.
    Addresses,
    /// The product catalog: create, read, change, delete and list products.
    Products,
    /// The shopping cart of a customer or a guest, priced as checkout charges it.
    Cart,
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
* Products, orders and `/users/me` answer an `ETag`; send it as `If-None-Match` to get 304,
  or as `If-Match` on their changes to refuse a write over someone else's change (412).
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

/// Every operation of the contract, by tag struct.
pub type Apis = (
    AuthApi,
    UsersApi,
    AddressesApi,
    ProductsApi,
    CartApi,
    CheckoutApi,
    OrdersApi,
    OrderFulfilmentApi,
    PaymentsApi,
    OrdersAdminApi,
    PaymentsDevApi,
    FilesApi,
    AdminApi,
    DevApi,
    OpsApi,
);

/// The API as poem-openapi sees it.
pub type Api = OpenApiService<Apis, ()>;

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
    let products = super::products::api(
        state.catalog.clone(),
        state.identity.clone(),
        state.settings.cache.l1_capacity,
    );
    let identity = || state.identity.clone();
    let apis = (
        super::auth::api(identity()),
        super::users::api(identity(), state.privacy.clone()),
        AddressesApi {
            addresses: state.addresses.clone(),
        },
        products,
        CartApi {
            carts: state.carts.clone(),
        },
        CheckoutApi {
            checkout: state.checkout.clone(),
        },
        OrdersApi {
            orders: state.orders.clone(),
            identity: identity(),
        },
        OrderFulfilmentApi {
            orders: state.orders.clone(),
            identity: identity(),
        },
        PaymentsApi {
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
        super::admin::api(state),
        DevApi {
            identity: identity(),
        },
        ops,
    );
    OpenApiService::new(apis, "Bazaar API", env!("CARGO_PKG_VERSION"))
        .description(DESCRIPTION)
        .license(LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
        .contact(contact(&state.settings))
        .server("/")
        .extra_response_header::<String, _>(ExtraHeader::new("X-Request-Id").description(
            "The request's id: the client's own if it sent a valid one, otherwise a new one.",
        ))
}

/// Whom the contract names: the grievance contact for customers' personal data (DPDP
/// Act) when one is configured, else the project.
fn contact(settings: &crate::config::Settings) -> ContactObject {
    match &settings.privacy.grievance {
        None => ContactObject::new().name("Bazaar"),
        Some(g) => {
            let contact = ContactObject::new()
                .name(format!("Grievance officer: {}", g.name))
                .email(&g.email);
            match &g.url {
                Some(url) => contact.url(url),
                None => contact,
            }
        }
    }
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
        "checkoutCart",
        "201",
        "GetOrder",
        "getOrder",
        "id",
        "$response.body#/id",
    ),
    (
        "checkoutCart",
        "201",
        "CancelOrder",
        "cancelOrder",
        "id",
        "$response.body#/id",
    ),
    (
        "checkoutCart",
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

/// The contract as a document: what poem-openapi generates plus [`LINKS`] and what
/// `Idempotency-Key` brings ([`super::idempotency::document`]). The one place the generated
/// spec is post-processed; `/openapi.json`, `/openapi.yaml` and `bazaar openapi`
/// all serve it. A YAML value keeps the generated key order.
pub(super) fn contract_document(api: &Api) -> serde_yaml::Value {
    use serde_yaml::{Mapping, Value};
    let mut doc: Value = serde_yaml::from_str(&api.spec_yaml())
        .unwrap_or_else(|e| panic!("poem-openapi's YAML must parse: {e}"));
    for (operation_id, status, name, target, parameter, expression) in LINKS {
        let response = operations_mut(&mut doc)
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
    super::idempotency::document(&mut doc);
    flatten_query_objects(&mut doc);
    close_request_objects(&mut doc);
    doc
}

/// Every operation object of a contract document.
pub(super) fn operations_mut(
    doc: &mut serde_yaml::Value,
) -> impl Iterator<Item = &mut serde_yaml::Value> {
    use serde_yaml::Value;
    doc.get_mut("paths")
        .and_then(Value::as_mapping_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_mapping_mut)
        .flat_map(|item| item.values_mut())
}

/// Spells out each object parameter exploded into the query (`style: form`, how
/// [`Paging`](super::listing::Paging) declares `limit`, `cursor` and `page`) as the plain
/// query parameters it means, one per property, where it stood. The same request either
/// way; but generators handle plain parameters everywhere, and some refuse the object.
fn flatten_query_objects(doc: &mut serde_yaml::Value) {
    use serde_yaml::{Mapping, Value};
    for operation in operations_mut(doc) {
        let Some(params) = operation
            .get_mut("parameters")
            .and_then(Value::as_sequence_mut)
        else {
            continue;
        };
        let mut flat = Vec::with_capacity(params.len());
        for param in params.drain(..) {
            let exploded_object = param["in"] == "query"
                && param["schema"]["type"] == "object"
                && param.get("explode").and_then(Value::as_bool) != Some(false);
            let properties = param["schema"]["properties"].as_mapping().cloned();
            match (exploded_object, properties) {
                (true, Some(properties)) => {
                    for (name, schema) in properties {
                        let mut schema = schema;
                        let description = schema
                            .as_mapping_mut()
                            .and_then(|m| m.remove("description"));
                        let mut plain = Mapping::new();
                        plain.insert("name".into(), name);
                        plain.insert("schema".into(), schema);
                        plain.insert("in".into(), "query".into());
                        if let Some(description) = description {
                            plain.insert("description".into(), description);
                        }
                        plain.insert("required".into(), false.into());
                        plain.insert("deprecated".into(), false.into());
                        plain.insert("explode".into(), true.into());
                        flat.push(Value::Mapping(plain));
                    }
                }
                _ => flat.push(param),
            }
        }
        *params = flat;
    }
}

/// Declares `additionalProperties: false` on every object a request body is made of.
/// Request bodies are parsed by serde with `deny_unknown_fields` ([`json_body`](super::json_body)), which
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
pub(super) fn operation_paths(api: &Api) -> std::collections::HashMap<String, String> {
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
