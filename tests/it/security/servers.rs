//! One way to drive the identity attacks against every server they must hold on: the
//! in-process app on in-memory backends, the in-process app on MongoDB-wire, Redis and S3, and
//! the real binary in production ([`super::prod`]). Messages are read where each one
//! records them: the fakes' `/api/v1/dev/messages`, or the MSG91 and SendGrid stand-ins.

// Each attack file uses the parts it needs.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Client, Response};
use serde_json::{json, Value};

use super::prod::{Production, CUSTOMER_PASSWORD};
use crate::kit::{bearer_client, login, BackendSet, TestApp, ADMIN_PASSWORD, ADMIN_PHONE};
use bazaar::http::auth::TokenPair;

pub const PASSWORD: &str = CUSTOMER_PASSWORD;

/// The OTP cooldown of the servers that tests wait out (`BAZAAR_OTP_COOLDOWN_SECS=1`).
pub const COOLDOWN: Duration = Duration::from_secs(1);

/// Runs the async fn `$test(server)` once per server named, each under its own name:
/// `$test::in_memory`, `$test::real_backends`, `$test::production`, with `$env` added to
/// the server's settings.
macro_rules! on_servers {
    ($test:ident, [$($server:ident),+], $env:expr) => {
        mod $test {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $server() {
                    let server = $crate::security::servers::Server::$server(
                        concat!(module_path!(), "::", stringify!($server)),
                        $env,
                    )
                    .await;
                    super::$test(server).await;
                }
            )+
        }
    };
}
pub(crate) use on_servers;

enum Inner {
    InProcess(TestApp),
    Production(Box<Production>),
}

/// A running Bazaar and where its messages go.
pub struct Server {
    inner: Inner,
    pub anonymous: Client,
}

impl Server {
    /// In process, everything in memory.
    pub async fn in_memory(_name: &str, env: &[(&str, &str)]) -> Self {
        Self::in_process(BackendSet::Memory, env).await
    }

    /// In process on MongoDB-wire, Redis and S3 ([`BackendSet::Real`]).
    pub async fn real_backends(_name: &str, env: &[(&str, &str)]) -> Self {
        Self::in_process(BackendSet::Real, env).await
    }

    async fn in_process(set: BackendSet, env: &[(&str, &str)]) -> Self {
        let app = TestApp::builder().on(set).env(env).spawn().await;
        Self {
            anonymous: app.anonymous.clone(),
            inner: Inner::InProcess(app),
        }
    }

    /// The real binary, `BAZAAR_ENV=production`.
    pub async fn production(name: &str, env: &[(&str, &str)]) -> Self {
        let name = name.replace("::", "-");
        Self {
            inner: Inner::Production(Box::new(Production::start_with(&name, env).await)),
            anonymous: Client::new(),
        }
    }

    /// Makes `by` pass for the server: at once in process ([`TestApp::advance`]). The real
    /// binary reads the system clock, which no test can move, so for it this waits `by`
    /// (plus a margin for whole-second rounding); waiting longer than needed never changes
    /// an outcome, so this wait cannot make a test flaky, only slower.
    pub async fn advance(&self, by: Duration) {
        match &self.inner {
            Inner::InProcess(app) => app.advance(by).await,
            Inner::Production(_) => tokio::time::sleep(by + Duration::from_millis(100)).await,
        }
    }

    /// The production process and its provider stand-ins, when that is what runs.
    pub fn production_process(&self) -> Option<&Production> {
        match &self.inner {
            Inner::Production(prod) => Some(prod),
            Inner::InProcess(_) => None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        match &self.inner {
            Inner::InProcess(app) => app.url(path),
            Inner::Production(prod) => prod.url(path),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.anonymous
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// A request that the server's trusted proxy (see `BAZAAR_TRUSTED_PROXIES`)
    /// forwards for `address`.
    pub async fn post_from(&self, address: &str, path: &str, body: Value) -> Response {
        self.anonymous
            .post(self.url(path))
            .header("X-Forwarded-For", address)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// From `address`: asks for a login code for `phone` (after the servers' one-second
    /// cooldown) and signs in with it; answers the verify.
    pub async fn sign_in_by_code(&self, address: &str, phone: &str) -> Response {
        self.advance(COOLDOWN).await;
        let sent = self
            .post_from(
                address,
                "/api/v1/auth/otp/send",
                json!({"phone": phone, "purpose": "login"}),
            )
            .await;
        assert_eq!(sent.status(), 202);
        let code = self.code_for(phone).await;
        self.post_from(
            address,
            "/api/v1/auth/otp/verify",
            json!({"phone": phone, "purpose": "login", "code": code}),
        )
        .await
    }

    /// From `address`: forgot-password for `phone` (after the cooldown), then a reset to
    /// `new_password` with the code sent; answers the reset.
    pub async fn reset_password(&self, address: &str, phone: &str, new_password: &str) -> Response {
        self.advance(COOLDOWN).await;
        let forgot = self
            .post_from(
                address,
                "/api/v1/auth/password/forgot",
                json!({"identifier": phone}),
            )
            .await;
        assert_eq!(forgot.status(), 202);
        let code = self.code_for(phone).await;
        self.post_from(
            address,
            "/api/v1/auth/password/reset",
            json!({"phone": phone, "code": code, "new_password": new_password}),
        )
        .await
    }

    pub async fn admin(&self) -> Client {
        let pair = login(&self.anonymous, &self.url(""), ADMIN_PHONE, ADMIN_PASSWORD).await;
        bearer_client(&pair.access_token)
    }

    /// What the fake providers recorded (in process only).
    async fn dev_messages(app: &TestApp) -> Vec<Value> {
        app.anonymous
            .get(app.url("/api/v1/dev/messages"))
            .send()
            .await
            .expect("request sent")
            .json::<Vec<Value>>()
            .await
            .expect("a list")
    }

    /// Every OTP code sent to `phone` (E.164) by SMS, oldest first.
    pub async fn codes_for(&self, phone: &str) -> Vec<String> {
        match &self.inner {
            Inner::InProcess(app) => Self::dev_messages(app)
                .await
                .iter()
                .filter(|m| m["channel"] == "sms" && m["to"] == phone)
                .filter_map(|m| m["code"].as_str().map(str::to_owned))
                .collect(),
            Inner::Production(prod) => {
                let mobile = phone.trim_start_matches('+');
                prod.sms()
                    .await
                    .iter()
                    .filter(|r| r.url.path().ends_with("/otp"))
                    .filter_map(|r| {
                        let mut to = None;
                        let mut otp = None;
                        for (k, v) in r.url.query_pairs() {
                            match k.as_ref() {
                                "mobile" => to = Some(v.into_owned()),
                                "otp" => otp = Some(v.into_owned()),
                                _ => {}
                            }
                        }
                        (to.as_deref() == Some(mobile)).then_some(otp).flatten()
                    })
                    .collect()
            }
        }
    }

    /// The newest code sent to `phone`.
    pub async fn code_for(&self, phone: &str) -> String {
        self.codes_for(phone)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no code was sent to {phone}"))
    }

    /// How many voice calls reading out a code `phone` got.
    pub async fn voice_calls(&self, phone: &str) -> usize {
        match &self.inner {
            Inner::InProcess(app) => Self::dev_messages(app)
                .await
                .iter()
                .filter(|m| m["channel"] == "voice" && m["to"] == phone)
                .count(),
            Inner::Production(prod) => {
                let mobile = phone.trim_start_matches('+');
                prod.sms()
                    .await
                    .iter()
                    .filter(|r| {
                        r.url.path().ends_with("/otp/retry")
                            && r.url
                                .query_pairs()
                                .any(|(k, v)| k == "mobile" && v == mobile)
                    })
                    .count()
            }
        }
    }

    /// The tokens of the verification emails sent to `address`, oldest first.
    pub async fn verification_tokens(&self, address: &str) -> Vec<String> {
        match &self.inner {
            Inner::InProcess(app) => Self::dev_messages(app)
                .await
                .iter()
                .filter(|m| m["channel"] == "email" && m["to"] == address)
                .filter_map(|m| {
                    let data: Value = serde_json::from_str(m["data"].as_str()?).ok()?;
                    data["token"].as_str().map(str::to_owned)
                })
                .collect(),
            Inner::Production(prod) => prod
                .emails()
                .await
                .iter()
                .filter(|e| e["personalizations"][0]["to"][0]["email"] == address)
                .filter_map(|e| {
                    e["personalizations"][0]["dynamic_template_data"]["token"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect(),
        }
    }

    /// Registers `phone` with [`PASSWORD`] (and `email`, unverified), verifies the phone
    /// with the code sent, and signs in; returns the token pair.
    pub async fn customer(&self, phone: &str, email: Option<&str>) -> TokenPair {
        let mut body = json!({"phone": phone, "name": "Customer", "password": PASSWORD});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        let registered = self.post("/api/v1/auth/register", body).await;
        assert_eq!(registered.status(), 201, "registering {phone}");
        let e164 = registered.json::<Value>().await.unwrap()["phone"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = self.code_for(&e164).await;
        let verified = self
            .post(
                "/api/v1/auth/otp/verify",
                json!({"phone": e164, "purpose": "verify_phone", "code": code}),
            )
            .await;
        assert_eq!(verified.status(), 200, "verifying {e164}");
        login(&self.anonymous, &self.url(""), phone, PASSWORD).await
    }

    /// A customer whose email is verified too; returns the token pair.
    pub async fn customer_with_verified_email(&self, phone: &str, email: &str) -> TokenPair {
        let pair = self.customer(phone, Some(email)).await;
        let me = bearer_client(&pair.access_token);
        let requested = me
            .post(self.url("/api/v1/users/me/email/verify-request"))
            .send()
            .await
            .unwrap();
        assert_eq!(requested.status(), 202, "asking to verify {email}");
        let token = self
            .verification_tokens(email)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no link was sent to {email}"));
        let verified = self
            .post("/api/v1/auth/email/verify", json!({"token": token}))
            .await;
        assert_eq!(verified.status(), 200, "verifying {email}");
        pair
    }
}

/// The parts of a problem answer that must not differ between a known and an unknown
/// account: status, code, title, detail, which fields are present, and `Retry-After`.
pub async fn shape(response: Response) -> Value {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    let fields: Vec<String> = body
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "status": status,
        "retry_after": retry_after,
        "fields": fields,
        "code": body.get("code"),
        "title": body.get("title"),
        "detail": body.get("detail"),
        "errors": body.get("errors"),
    })
}
