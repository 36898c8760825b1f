//! What errors each operation documents: an [`ErrorSet`] names the codes its operations
//! can answer, and the contract's error responses — their statuses and descriptions — are
//! generated from those codes, so a description cannot miss a code or name one the
//! operation never gives.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Mutex;

use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;

use super::problem::{Problem, PROBLEM_JSON};
use crate::app::errors::{AppError, ErrorCode};

/// The codes some operations can answer, as groups of codes. Implemented by marker
/// types made with [`error_set!`](crate::error_set), one per kind of operation.
pub trait ErrorSet: Send + Sync + 'static {
    const CODES: &'static [&'static [ErrorCode]];

    /// The codes, each once, by status.
    fn by_status() -> BTreeMap<u16, Vec<ErrorCode>> {
        let mut statuses: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
        for &code in Self::CODES.iter().flat_map(|group| group.iter()) {
            let codes = statuses.entry(code.status()).or_default();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        statuses
    }
}

/// Groups of codes many operations share.
pub mod codes {
    use crate::app::errors::ErrorCode::{self, *};

    /// What the pipeline can answer any routed request: a bad parameter or query
    /// string, the rate limit, a timeout, a backend outage, a bug.
    pub const ANY: &[ErrorCode] = &[
        InvalidParameter,
        DuplicateQueryParameter,
        TooManyQueryParameters,
        RateLimited,
        Internal,
        BackendUnavailable,
        Timeout,
    ];
    /// An operation with a JSON body.
    pub const BODY: &[ErrorCode] = &[
        MalformedBody,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
    ];
    /// An operation for a signed-in caller.
    pub const SIGNED_IN: &[ErrorCode] = &[Unauthorized];
    /// An operation for a signed-in caller who needs a permission (`Permit`).
    pub const PERMITTED: &[ErrorCode] = &[Unauthorized, Forbidden];
    /// A list: its cursor may be stale or foreign.
    pub const LIST: &[ErrorCode] = &[InvalidCursor];
    /// A call to Razorpay.
    pub const PAYMENT_PROVIDER: &[ErrorCode] =
        &[PaymentProviderRejected, PaymentProviderUnavailable];
}

/// Declares a marker type for the errors of some operations: groups from [`codes`],
/// then `;` and the operations' own codes.
/// `error_set!(OrderReadErrors: ANY, SIGNED_IN; NotFound)`.
#[macro_export]
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($group:ident),* ; $($code:ident),* $(,)?) => {
        $(#[$doc])*
        pub struct $name;
        impl $crate::http::error_sets::ErrorSet for $name {
            const CODES: &'static [&'static [$crate::app::errors::ErrorCode]] = &[
                $($crate::http::error_sets::codes::$group,)*
                &[$($crate::app::errors::ErrorCode::$code),*],
            ];
        }
    };
}

/// An operation's error result: an [`AppError`] whose possible codes `S` documents in
/// the contract, each status with the `Problem` schema.
pub struct Problems<S>(pub AppError, PhantomData<fn() -> S>);

impl<S> From<AppError> for Problems<S> {
    fn from(e: AppError) -> Self {
        Self(e, PhantomData)
    }
}

impl<S> From<Problems<S>> for poem::Error {
    fn from(p: Problems<S>) -> Self {
        poem::Error::from(p.0)
    }
}

/// What an answer of `status` means, before its codes.
fn lead(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed",
        401 => "No valid credentials, or a signature that does not verify",
        403 => "The caller may not do this",
        404 => "The resource does not exist",
        409 => "The request conflicts with the current state",
        412 => "`If-Match` names a version that is no longer current",
        413 => "The body, decoded from its `Content-Encoding`, is larger than the configured limit",
        415 => "The body is not `application/json`, or is sent in a `Content-Encoding` other than gzip, deflate, br or zstd",
        422 => "The body is well-formed but breaks a rule; `errors` lists each field",
        423 => "The account is locked after repeated failed sign-ins; wait `Retry-After` seconds",
        429 => "Too many requests from this client; wait `Retry-After` seconds",
        500 => "An unexpected error; the request id identifies it in the logs",
        502 => "A provider refused a request Bazaar made",
        503 => "A backend or provider is unavailable, or the request timed out; retry after `Retry-After` seconds",
        _ => "An error",
    }
}

/// The description of an answer of `status` with `codes`: its meaning and every code.
/// Interned: poem-openapi wants `&'static str`, and the same few texts recur.
pub fn describe(status: u16, codes: &[ErrorCode]) -> &'static str {
    static TEXTS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let listed: Vec<String> = codes.iter().map(|c| format!("`{}`", c.as_str())).collect();
    let text = format!("{} ({}).", lead(status), listed.join(", "));
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = texts.get(text.as_str()) {
        return known;
    }
    let interned: &'static str = Box::leak(text.into_boxed_str());
    texts.insert(interned);
    interned
}

impl<S: ErrorSet> ApiResponse for Problems<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::by_status()
                .into_iter()
                .map(|(status, codes)| MetaResponse {
                    description: describe(status, &codes),
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: MetaSchemaRef::Reference(Problem::name().into_owned()),
                    }],
                    headers: if matches!(status, 423 | 429 | 503) {
                        vec![MetaHeader {
                            name: "Retry-After".into(),
                            description: Some("Seconds to wait before retrying.".into()),
                            required: false,
                            deprecated: false,
                            schema: u64::schema_ref(),
                        }]
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::error_set!(Sample: PERMITTED; NotFound, Conflict, InsufficientStock, Unauthorized);

    #[test]
    fn statuses_and_descriptions_come_from_the_codes() {
        let meta = Problems::<Sample>::meta();
        let statuses: Vec<_> = meta.responses.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Some(401), Some(403), Some(404), Some(409)]);
        let conflict = meta
            .responses
            .iter()
            .find(|r| r.status == Some(409))
            .unwrap();
        assert_eq!(
            conflict.description,
            "The request conflicts with the current state (`conflict`, `insufficient_stock`)."
        );
        let unauthorized = meta
            .responses
            .iter()
            .find(|r| r.status == Some(401))
            .unwrap();
        assert_eq!(
            unauthorized.description,
            "No valid credentials, or a signature that does not verify (`unauthorized`)."
        );
    }

    #[test]
    fn a_description_is_made_once() {
        let a = describe(404, &[ErrorCode::NotFound]);
        let b = describe(404, &[ErrorCode::NotFound]);
        assert!(std::ptr::eq(a, b));
    }
}
