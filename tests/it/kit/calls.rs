//! Calls that answer the service's own DTOs: a request's status is checked in one place
//! ([`Expect`]), and its body parsed into the type the contract declares
//! (`bazaar::http::…`, poem-openapi objects, read with `ParseFromJSON`).
//!
//! ```ignore
//! let product: ProductBody = app.client.post(app.url("/api/v1/products"))
//!     .json(&body).expect(201).await;
//! let problem = app.get("/api/v1/products/nope").await.expect_problem(404, "not_found").await;
//! ```

use std::future::Future;

use bazaar::http::auth::TokenPair;
use bazaar::http::products::ProductBody;
use poem_openapi::types::ParseFromJSON;
use serde_json::Value;

use super::app::TestApp;

/// Checks an answer's status and reads its body: as a DTO when it is the expected
/// success, as a problem when it is the expected error. An unexpected status fails the
/// test with the status, the URL and the body.
pub trait Expect: Sized + Send {
    /// The answer, failing the test unless its status is `status`.
    fn expect_status(self, status: u16) -> impl Future<Output = reqwest::Response> + Send;

    /// The body as `T`, failing the test unless the status is `status` and the body is a `T`.
    fn expect<T: ParseFromJSON>(self, status: u16) -> impl Future<Output = T> + Send {
        async move { parse(self.expect_status(status).await).await }
    }

    /// The problem document (checked by [`problem`]), failing the test unless the status is
    /// `status` and its `code` is `code`.
    fn expect_problem(self, status: u16, code: &str) -> impl Future<Output = Value> + Send {
        async move {
            let body = problem(self.expect_status(status).await).await;
            assert_eq!(body["code"], code, "{body}");
            body
        }
    }
}

impl Expect for reqwest::Response {
    async fn expect_status(self, status: u16) -> reqwest::Response {
        if self.status() != status {
            let got = self.status();
            let url = self.url().clone();
            let body = self.text().await.unwrap_or_default();
            panic!("expected {status} from {url}, got {got}: {body}");
        }
        self
    }
}

impl Expect for reqwest::RequestBuilder {
    async fn expect_status(self, status: u16) -> reqwest::Response {
        self.send()
            .await
            .expect("request sent")
            .expect_status(status)
            .await
    }
}

/// Reads a body as the DTO `T`, failing the test with the body if it is not one.
pub async fn parse<T: ParseFromJSON>(response: reqwest::Response) -> T {
    let url = response.url().clone();
    let text = response.text().await.expect("a body");
    let json: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the answer of {url} is not JSON ({e}): {text}"));
    T::parse_from_json(Some(json)).unwrap_or_else(|e| {
        panic!(
            "the answer of {url} is not a {}: {}: {text}",
            T::name(),
            e.into_message()
        )
    })
}

/// A client that sends `token` as its bearer credential.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a valid header"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client builds")
}

/// Signs in at the server at `address`; returns the token pair, failing unless 200.
pub async fn login(
    client: &reqwest::Client,
    address: &str,
    identifier: &str,
    password: &str,
) -> TokenPair {
    client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({ "identifier": identifier, "password": password }))
        .expect(200)
        .await
}

/// Reads a problem document, checking that it is one.
pub async fn problem(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    for member in ["type", "title", "detail", "instance", "code"] {
        assert!(body[member].is_string(), "problem lacks `{member}`: {body}");
    }
    assert!(
        body["errors"].is_array() && body["retryable"].is_boolean(),
        "{body}"
    );
    body
}

/// `GET url` with `client`, answering the JSON body whatever the status (tests assert on it).
pub async fn get_json(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a JSON body")
}

/// Typed calls of the operations many tests need, as the admin.
impl TestApp {
    /// `POST path` with a JSON body as the admin, not yet sent: finish it with [`Expect`].
    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).json(body)
    }

    /// Creates a product; fails unless 201.
    pub async fn create_product(&self, body: Value) -> ProductBody {
        self.post("/api/v1/products", &body).expect(201).await
    }
}

/// A problem's per-field errors as `(field, code)` pairs, in order.
pub fn problem_fields(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
