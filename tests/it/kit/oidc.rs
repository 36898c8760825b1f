//! A fake Google: a local OpenID Connect issuer (a wiremock server) that serves a discovery
//! document and a JSON Web Key Set, and signs RS256 ID tokens with its own test keys
//! (`tests/support/oidc`). [`FakeIssuer::settings`] points the app's Google provider at
//! it, so every rule of `app::identity::id_tokens` runs against real HTTP and real RSA.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The client id the fake issuer's tokens are for, and the app is configured with.
pub const CLIENT_ID: &str = "bazaar-web.apps.googleusercontent.com";

const KEY_1: &[u8] = include_bytes!("../../support/oidc/key1.der");
const KEY_2: &[u8] = include_bytes!("../../support/oidc/key2.der");
const JWKS: &str = include_str!("../../support/oidc/jwks.json");

/// One of the fake issuer's RSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// `test-key-1`: published from the start.
    One,
    /// `test-key-2`: published only after [`FakeIssuer::rotate`].
    Two,
}

impl TestKey {
    pub fn kid(self) -> &'static str {
        match self {
            Self::One => "test-key-1",
            Self::Two => "test-key-2",
        }
    }

    fn der(self) -> &'static [u8] {
        match self {
            Self::One => KEY_1,
            Self::Two => KEY_2,
        }
    }
}

pub struct FakeIssuer {
    server: MockServer,
}

fn published(kids: &[&str]) -> Value {
    let all: Value = serde_json::from_str(JWKS).expect("the test key set");
    let keys: Vec<Value> = all["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| kids.contains(&k["kid"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    json!({ "keys": keys })
}

impl FakeIssuer {
    /// Starts an issuer publishing `test-key-1`, cacheable for five minutes (as Google
    /// says with `Cache-Control: max-age`).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let issuer = Self { server };
        let discovery = json!({
            "issuer": issuer.issuer(),
            "jwks_uri": issuer.jwks_url(),
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
        });
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(discovery))
            .mount(&issuer.server)
            .await;
        issuer.publish(&["test-key-1"]).await;
        issuer
    }

    async fn publish(&self, kids: &[&str]) {
        Mock::given(method("GET"))
            .and(path("/oauth2/v3/certs"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("Cache-Control", "public, max-age=300, must-revalidate")
                    .set_body_json(published(kids)),
            )
            .mount(&self.server)
            .await;
    }

    /// Publishes `test-key-2` beside `test-key-1` from now on, as a provider rotating
    /// keys does.
    pub async fn rotate(&self) {
        self.server.reset().await;
        // `reset` dropped the discovery document too; only the key set is read by the app.
        self.publish(&["test-key-1", "test-key-2"]).await;
    }

    /// The issuer (`iss` of its tokens): its base URL.
    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/oauth2/v3/certs", self.server.uri())
    }

    /// The settings that make this the app's Google.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "BAZAAR_OIDC_GOOGLE_CLIENT_IDS",
                format!("bazaar-android.apps.googleusercontent.com,{CLIENT_ID}"),
            ),
            ("BAZAAR_OIDC_GOOGLE_ISSUER", self.issuer()),
            ("BAZAAR_OIDC_GOOGLE_JWKS_URL", self.jwks_url()),
        ]
    }

    /// How many times the key set was fetched.
    pub async fn jwks_fetches(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/oauth2/v3/certs")
            .count()
    }

    /// Good claims for Google account `sub` with a verified `email`, issued at `now`
    /// (the app's clock) for an hour.
    pub fn claims(&self, now: DateTime<Utc>, sub: &str, email: &str) -> Value {
        json!({
            "iss": self.issuer(),
            "azp": CLIENT_ID,
            "aud": CLIENT_ID,
            "sub": sub,
            "email": email,
            "email_verified": true,
            "name": "Asha Rao",
            "given_name": "Asha",
            "iat": now.timestamp(),
            "exp": now.timestamp() + 3600,
        })
    }

    /// `claims` signed RS256 by `key`, its `kid` in the header.
    pub fn sign(&self, claims: &Value, key: TestKey) -> String {
        self.sign_as(claims, key.kid(), key)
    }

    /// `claims` signed RS256 by `key` under the header `kid` (which may name another key).
    pub fn sign_as(&self, claims: &Value, kid: &str, key: TestKey) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(key.der()))
            .expect("the test key signs")
    }

    /// `claims` with `alg: HS256` under `kid`, keyed with the published key set's text
    /// (the old confusion of a public key for an HMAC secret).
    pub fn sign_hs256(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(JWKS.as_bytes()))
            .expect("HMAC signs")
    }
}
