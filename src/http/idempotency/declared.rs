//! Which operations honour `Idempotency-Key`: exactly those that declare it with
//! [`IdempotencyKeyHeader`]. That declaration is the only registration: the contract
//! shows the header (and [`super::contract_additions`] its replay header, 409 and 422),
//! the middleware reads its table of operations from the API's metadata
//! ([`IdempotentOperations::declared_in`]), and the docs' list is checked against it.

use poem::http::Method;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaApi, MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::{Retry, IDEMPOTENCY_KEY};
use crate::app::errors::AppError;

/// The header's name as the contract spells it.
pub const HEADER: &str = "Idempotency-Key";

/// Declares an operation idempotent; write it as
/// `#[oai(name = "Idempotency-Key")] key: IdempotencyKeyHeader`.
///
/// By the time the handler runs, the middleware has applied the key; the handler
/// learns the retry identity to store with its change ([`Self::retry`]) and the key
/// as the client sent it ([`Self::raw`], for a provider's own deduplication).
pub struct IdempotencyKeyHeader {
    retry: Option<Retry>,
    raw: Option<String>,
}

impl IdempotencyKeyHeader {
    pub fn retry(&self) -> Option<&Retry> {
        self.retry.as_ref()
    }

    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }
}

impl<'a> ApiExtractor<'a> for IdempotencyKeyHeader {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: Some(1),
            max_length: Some(crate::app::idempotency::IdempotencyKey::MAX_LEN),
            pattern: Some("^[ -~]+$".to_owned()),
            ..MetaSchema::new("string")
        })))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Declared under another name, the contract would show that name and the
        // middleware would not know the operation: fail every call, so tests see it.
        if !param_opts.name.eq_ignore_ascii_case(HEADER) {
            return Err(AppError::internal(anyhow::anyhow!(
                "an IdempotencyKeyHeader parameter is named `{}`; declare it with \
                 #[oai(name = \"{HEADER}\")]",
                param_opts.name
            ))
            .into());
        }
        Ok(Self {
            retry: request.data::<Retry>().cloned(),
            raw: request
                .headers()
                .get(IDEMPOTENCY_KEY)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// An operation that honours `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdempotentOperation {
    pub method: Method,
    /// The path template; a `{name}` or `:name` segment matches any one segment.
    pub path: String,
    /// The contract's operationId: part of the keys' scope, and the metrics label
    /// of answers given without running the operation.
    pub operation_id: &'static str,
}

impl IdempotentOperation {
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let mut template = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return true,
                (Some(t), Some(a)) if t.starts_with('{') || t.starts_with(':') => {
                    if a.is_empty() {
                        return false;
                    }
                }
                (Some(t), Some(a)) if t == a => {}
                _ => return false,
            }
        }
    }
}

/// The operations of an API that declare [`IdempotencyKeyHeader`].
#[derive(Debug, Clone, Default)]
pub struct IdempotentOperations(Vec<IdempotentOperation>);

impl IdempotentOperations {
    /// Read from the API's metadata: every operation with an `Idempotency-Key` header.
    pub fn declared_in(apis: &[MetaApi]) -> Self {
        let mut found = Vec::new();
        for path in apis.iter().flat_map(|api| &api.paths) {
            for op in &path.operations {
                let declares = op.params.iter().any(|p| {
                    p.in_type == MetaParamIn::Header && p.name.eq_ignore_ascii_case(HEADER)
                });
                if let (true, Some(operation_id)) = (declares, op.operation_id) {
                    found.push(IdempotentOperation {
                        method: op.method.clone(),
                        path: path.path.clone(),
                        operation_id,
                    });
                }
            }
        }
        Self(found)
    }

    pub fn iter(&self) -> impl Iterator<Item = &IdempotentOperation> {
        self.0.iter()
    }

    /// The operation a request is for, if it is one of these and carries the header.
    pub fn of(&self, req: &Request) -> Option<&IdempotentOperation> {
        let method = req.method();
        // The method first: it rules out every read at the cost of a comparison.
        if !self.0.iter().any(|op| op.method == method)
            || !req.headers().contains_key(IDEMPOTENCY_KEY)
        {
            return None;
        }
        let path = req.uri().path();
        self.0.iter().find(|op| op.matches(method, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, operation_id: &'static str) -> IdempotentOperation {
        IdempotentOperation {
            method: Method::POST,
            path: path.to_owned(),
            operation_id,
        }
    }

    #[test]
    fn templates_match_one_segment_per_parameter() {
        for template in [
            "/api/v1/orders/{id}/payments",
            "/api/v1/orders/:id/payments",
        ] {
            let payments = post(template, "createPayment");
            assert!(payments.matches(&Method::POST, "/api/v1/orders/abc/payments"));
            assert!(!payments.matches(&Method::GET, "/api/v1/orders/abc/payments"));
            assert!(!payments.matches(&Method::POST, "/api/v1/orders//payments"));
            assert!(!payments.matches(&Method::POST, "/api/v1/orders/a/b/payments"));
            assert!(!payments.matches(&Method::POST, "/api/v1/orders/abc/payments/x"));
            assert!(!payments.matches(&Method::POST, "/api/v1/orders/abc"));
        }
    }

    fn options(name: &'static str) -> ExtractParamOptions<String> {
        ExtractParamOptions {
            name,
            ignore_case: false,
            default_value: None,
            example_value: None,
            explode: true,
            style: None,
        }
    }

    /// What docs/idempotency.md promises: declared under another name, every call fails,
    /// so the first test of the operation shows it.
    #[tokio::test]
    async fn the_header_declared_under_another_name_fails_every_call() {
        let request = Request::builder().header(IDEMPOTENCY_KEY, "k1").finish();
        let mut body = RequestBody::default();
        let wrong =
            IdempotencyKeyHeader::from_request(&request, &mut body, options("idempotency_key"))
                .await;
        assert_eq!(
            wrong.err().map(|e| e.status()),
            Some(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
        );
        let right = IdempotencyKeyHeader::from_request(&request, &mut body, options(HEADER))
            .await
            .expect("declared as Idempotency-Key");
        assert_eq!(right.raw(), Some("k1"));
        assert!(
            right.retry().is_none(),
            "no retry identity without the middleware"
        );
    }

    #[test]
    fn the_operations_of_the_api_that_declare_the_header_are_idempotent_with_it() {
        use poem_openapi::OpenApi;
        let operations = IdempotentOperations::declared_in(&crate::http::contract::Apis::meta());
        let request = |method: Method, path: &str, key: bool| {
            let mut builder = Request::builder().method(method).uri_str(path);
            if key {
                builder = builder.header(IDEMPOTENCY_KEY, "k1");
            }
            builder.finish()
        };
        let found = |r: &Request| operations.of(r).map(|op| op.operation_id);
        assert_eq!(
            found(&request(Method::POST, "/api/v1/auth/otp/send", true)),
            Some("sendOtp")
        );
        assert_eq!(
            found(&request(
                Method::POST,
                "/api/v1/orders/o1/actions/refund",
                true
            )),
            Some("refundOrder")
        );
        assert_eq!(
            found(&request(Method::POST, "/api/v1/auth/otp/send", false)),
            None
        );
        assert_eq!(
            found(&request(Method::POST, "/api/v1/products", true)),
            None
        );
        assert_eq!(found(&request(Method::GET, "/api/v1/orders", true)), None);
    }
}
