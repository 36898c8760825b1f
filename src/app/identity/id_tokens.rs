//! OpenID Connect ID tokens (Google's, or another configured provider's): checking one
//! against its provider's published keys, and keeping those keys.
//!
//! A token is accepted only if every rule holds, each refusal saying which one failed: a
//! JWS whose header names a `kid` of the provider's key set and exactly the algorithm
//! that key is for (RS256 for Google's RSA keys: `none`, HS256 and any other are refused,
//! and symmetric keys in a key set are never used); a valid signature; `iss` the
//! provider's; `aud` one of the configured client ids; `exp` not past and `iat` not ahead
//! (both with the configured leeway); the nonce the client sent, if it sent one; an email
//! the provider says it verified.
//!
//! Keys are cached per provider by `kid`, for the key set's `Cache-Control: max-age`. A
//! `kid` the set lacks refetches it (the provider may have rotated), but a provider is
//! fetched at most once per `min_refetch_interval`, so a flood of made-up `kid`s costs
//! the provider one request per interval, not one per token. Fetches are single-flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::jwks::JwksSource;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::app::errors::{AppError, ErrorCode};
use crate::config::{OidcProviderConfig, OidcSettings};

/// Why a token was refused; the `Display` is the problem's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("the ID token's key `{0}` is not in the provider's key set")]
    UnknownKey(String),
    #[error("the ID token's alg {found} is not the {expected} its key is for")]
    AlgorithmMismatch { found: String, expected: String },
    #[error("the ID token's signature does not verify")]
    BadSignature,
    #[error("the ID token was issued by {0:?}, not by this provider")]
    WrongIssuer(String),
    #[error("the ID token is for another client (aud)")]
    WrongAudience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token's iat is in the future")]
    IssuedInFuture,
    #[error("the ID token's nonce is not the one sent")]
    NonceMismatch,
    #[error("the provider has not verified the account's email (email_verified)")]
    EmailUnverified,
}

impl From<IdTokenError> for AppError {
    fn from(e: IdTokenError) -> Self {
        AppError::new(ErrorCode::InvalidIdToken, e.to_string())
    }
}

/// What Bazaar takes from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdToken {
    /// The provider's configured issuer (the canonical spelling, whatever the token said).
    pub issuer: String,
    pub subject: String,
    /// Verified by the provider (tokens without one are refused).
    pub email: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
}

/// The claims read from a token; signature and algorithm are checked before these are.
#[derive(Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// A boolean; some providers (and old Google tokens) send the string `"true"`.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Self::One(a) => accepted.contains(a),
            Self::Many(all) => all.iter().any(|a| accepted.contains(a)),
        }
    }
}

/// The algorithm a published key is for: its own `alg`, else the one its type implies.
/// `None` for keys Bazaar never verifies with: symmetric ones (a key set is public, so a
/// "secret" in it is anyone's) and types it does not know.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        Some(declared) => Algorithm::try_from(declared).ok()?,
        None => implied,
    };
    let symmetric = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    (!symmetric).then_some(alg)
}

/// A usable published key.
struct PublishedKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Arc<PublishedKey>>,
    /// When the cached set must be fetched again.
    fresh_until: Option<DateTime<Utc>>,
    /// When the provider was last asked (answered or not).
    last_attempt: Option<DateTime<Utc>>,
    /// Whether that last attempt failed.
    last_failed: bool,
}

/// One configured provider: its rules and its cached keys.
pub struct OidcProvider {
    config: OidcProviderConfig,
    source: Arc<dyn JwksSource>,
    cache: tokio::sync::Mutex<KeyCache>,
    leeway: i64,
    min_refetch: chrono::Duration,
    default_ttl: Duration,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl OidcProvider {
    pub fn new(
        config: OidcProviderConfig,
        source: Arc<dyn JwksSource>,
        settings: &OidcSettings,
    ) -> Self {
        Self {
            config,
            source,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
            leeway: i64::try_from(settings.leeway.as_secs()).unwrap_or(i64::MAX),
            min_refetch: chrono_duration(settings.min_refetch_interval),
            default_ttl: settings.default_cache_ttl,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Checks `token` at `now` by every rule (see the module's documentation). `nonce`
    /// is the one the client asked the provider to put in the token, if it did.
    pub async fn verify(
        &self,
        token: &str,
        nonce: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedIdToken, AppError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| IdTokenError::Malformed(e.to_string()))?;
        let kid = header
            .kid
            .filter(|k| !k.is_empty() && k.len() <= 256)
            .ok_or_else(|| IdTokenError::Malformed("its header names no key (kid)".into()))?;
        let published = self.key(&kid, now).await?;
        if header.alg != published.algorithm {
            return Err(IdTokenError::AlgorithmMismatch {
                found: format!("{:?}", header.alg),
                expected: format!("{:?}", published.algorithm),
            }
            .into());
        }
        // The signature and the algorithm only: the claims are checked below, against
        // Bazaar's clock and with refusals that say which rule failed.
        let mut validation = Validation::new(published.algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<RawClaims>(token, &published.key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::BadSignature,
                _ => IdTokenError::Malformed(e.to_string()),
            })?
            .claims;
        Ok(self.check_claims(claims, nonce, now)?)
    }

    fn check_claims(
        &self,
        claims: RawClaims,
        nonce: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedIdToken, IdTokenError> {
        let issuer_ok =
            claims.iss == self.config.issuer || self.config.issuer_aliases.contains(&claims.iss);
        if !issuer_ok {
            return Err(IdTokenError::WrongIssuer(
                claims.iss.chars().take(100).collect(),
            ));
        }
        if !claims.aud.contains_any(&self.config.client_ids) {
            return Err(IdTokenError::WrongAudience);
        }
        let now = now.timestamp();
        if claims.exp.saturating_add(self.leeway) <= now {
            return Err(IdTokenError::Expired);
        }
        if claims.iat > now.saturating_add(self.leeway) {
            return Err(IdTokenError::IssuedInFuture);
        }
        if let Some(sent) = nonce {
            if claims.nonce.as_deref() != Some(sent) {
                return Err(IdTokenError::NonceMismatch);
            }
        }
        let verified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&claims.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        let email = claims
            .email
            .filter(|e| !e.trim().is_empty() && verified)
            .ok_or(IdTokenError::EmailUnverified)?;
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(IdTokenError::Malformed(
                "its sub is empty or too long".into(),
            ));
        }
        Ok(VerifiedIdToken {
            issuer: self.config.issuer.clone(),
            subject: claims.sub,
            email,
            name: claims.name,
            given_name: claims.given_name,
        })
    }

    /// The published key `kid`, from the cache or a (bounded) fetch.
    async fn key(&self, kid: &str, now: DateTime<Utc>) -> Result<Arc<PublishedKey>, AppError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache.fresh_until.is_some_and(|until| now < until);
        if fresh {
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
        }
        let may_fetch = cache
            .last_attempt
            .is_none_or(|at| now - at >= self.min_refetch);
        if may_fetch {
            cache.last_attempt = Some(now);
            match self.source.fetch().await {
                Ok(set) => {
                    cache.last_failed = false;
                    cache.keys = set.keys.into_iter().filter_map(usable_key).collect();
                    // Honoured, but never shorter than the refetch bound (a `no-store`
                    // set would otherwise be fetched for every token) nor over a day.
                    let ttl = set
                        .max_age
                        .unwrap_or(self.default_ttl)
                        .max(self.min_refetch.to_std().unwrap_or_default())
                        .min(Duration::from_secs(86_400));
                    cache.fresh_until = Some(now + chrono_duration(ttl));
                }
                Err(e) => {
                    cache.last_failed = true;
                    // Keys already held still verify while the provider is away.
                    if let Some(key) = cache.keys.get(kid) {
                        tracing::warn!(provider = %self.config.name, error = %e, "could not refresh the provider's keys; using the cached ones");
                        return Ok(key.clone());
                    }
                    return Err(provider_unavailable(&self.config.name, e, 5));
                }
            }
        } else if cache.last_failed && !cache.keys.contains_key(kid) {
            let wait = cache
                .last_attempt
                .map(|at| (at + self.min_refetch - now).num_seconds().max(1))
                .unwrap_or(1);
            return Err(AppError::new(
                ErrorCode::IdentityProviderUnavailable,
                format!(
                    "{}'s keys could not be fetched; retry shortly",
                    self.config.name
                ),
            )
            .with_retry_after(u64::try_from(wait).unwrap_or(1)));
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| IdTokenError::UnknownKey(kid.chars().take(64).collect()).into())
    }
}

/// `raw` as a key Bazaar verifies with, by its `kid`; `None` for keys without a `kid`, of
/// types it does not use (symmetric ones) or that do not parse.
fn usable_key(raw: serde_json::Value) -> Option<(String, Arc<PublishedKey>)> {
    let jwk: Jwk = serde_json::from_value(raw).ok()?;
    let kid = jwk.common.key_id.clone()?;
    let algorithm = key_algorithm(&jwk)?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(PublishedKey { algorithm, key })))
}

fn provider_unavailable(name: &str, e: AdapterError, retry_after: u64) -> AppError {
    AppError {
        source: Some(anyhow::Error::new(e)),
        ..AppError::new(
            ErrorCode::IdentityProviderUnavailable,
            format!("{name}'s keys could not be fetched; retry shortly"),
        )
        .with_retry_after(retry_after)
    }
}

/// Every configured provider, by route name.
#[derive(Default)]
pub struct OidcProviders {
    providers: Vec<OidcProvider>,
}

impl OidcProviders {
    pub fn new(providers: Vec<OidcProvider>) -> Self {
        Self { providers }
    }

    /// The provider named `name`, or 404 `provider_not_configured`.
    pub fn get(&self, name: &str) -> Result<&OidcProvider, AppError> {
        self.providers
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::ProviderNotConfigured,
                    format!(
                        "sign-in with `{}` is not configured on this server",
                        name.chars().take(32).collect::<String>()
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use bazaar_adapters::jwks::FakeJwks;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{json, Value};

    use super::*;

    const KEY_1: &[u8] = include_bytes!("../../../tests/support/oidc/key1.der");
    const KEY_2: &[u8] = include_bytes!("../../../tests/support/oidc/key2.der");
    const JWKS: &str = include_str!("../../../tests/support/oidc/jwks.json");
    const ISSUER: &str = "https://accounts.google.com";
    const CLIENT: &str = "web.apps.googleusercontent.com";

    fn published(kids: &[&str]) -> Vec<Value> {
        let all: Value = serde_json::from_str(JWKS).unwrap();
        all["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| kids.contains(&k["kid"].as_str().unwrap()))
            .cloned()
            .collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn claims() -> Value {
        let t = now().timestamp();
        json!({
            "iss": ISSUER, "aud": CLIENT, "sub": "110549123456789012345",
            "iat": t - 10, "exp": t + 3590,
            "email": "asha@gmail.com", "email_verified": true, "name": "Asha Rao"
        })
    }

    fn sign(claims: &Value, kid: &str, der: &[u8]) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der)).unwrap()
    }

    fn provider(fake: Arc<FakeJwks>) -> OidcProvider {
        let settings = OidcSettings {
            providers: Vec::new(),
            leeway: Duration::from_secs(60),
            min_refetch_interval: Duration::from_secs(60),
            default_cache_ttl: Duration::from_secs(3600),
        };
        let config = OidcProviderConfig {
            name: "google".into(),
            issuer: ISSUER.into(),
            issuer_aliases: vec!["accounts.google.com".into()],
            jwks_url: "https://www.googleapis.com/oauth2/v3/certs".into(),
            client_ids: vec!["android.apps".into(), CLIENT.into()],
        };
        OidcProvider::new(config, fake, &settings)
    }

    fn google(kids: &[&str]) -> (Arc<FakeJwks>, OidcProvider) {
        let fake = Arc::new(FakeJwks::new());
        fake.serve(published(kids), Some(Duration::from_secs(600)));
        (fake.clone(), provider(fake))
    }

    async fn refusal(p: &OidcProvider, token: &str) -> String {
        let e = p.verify(token, None, now()).await.expect_err("refused");
        assert_eq!(e.code, ErrorCode::InvalidIdToken, "{}", e.detail);
        e.detail
    }

    #[tokio::test]
    async fn a_token_signed_by_a_published_key_for_our_client_verifies() {
        let (_, p) = google(&["test-key-1"]);
        let verified = p
            .verify(&sign(&claims(), "test-key-1", KEY_1), None, now())
            .await
            .unwrap();
        assert_eq!(verified.issuer, ISSUER);
        assert_eq!(verified.subject, "110549123456789012345");
        assert_eq!(verified.email, "asha@gmail.com");
        assert_eq!(verified.name.as_deref(), Some("Asha Rao"));
    }

    #[tokio::test]
    async fn googles_bare_issuer_and_an_audience_list_are_accepted() {
        let (_, p) = google(&["test-key-1"]);
        let mut c = claims();
        c["iss"] = json!("accounts.google.com");
        c["aud"] = json!(["someone.else", CLIENT]);
        c["email_verified"] = json!("true");
        let verified = p.verify(&sign(&c, "test-key-1", KEY_1), None, now()).await;
        assert_eq!(
            verified.unwrap().issuer,
            ISSUER,
            "stored under one spelling"
        );
    }

    #[tokio::test]
    async fn each_broken_rule_is_refused_with_a_detail_naming_it() {
        let (_, p) = google(&["test-key-1", "test-key-2"]);
        let t = now().timestamp();
        let cases: [(&str, Value, &str); 7] = [
            ("iss", json!("https://evil.example"), "issued by"),
            ("aud", json!("someone.else"), "another client"),
            ("exp", json!(t - 61), "expired"),
            ("iat", json!(t + 120), "iat is in the future"),
            (
                "email_verified",
                json!(false),
                "not verified the account's email",
            ),
            ("email_verified", Value::Null, "not verified"),
            ("sub", json!(""), "sub"),
        ];
        for (claim, value, expected) in cases {
            let mut c = claims();
            c[claim] = value;
            let detail = refusal(&p, &sign(&c, "test-key-1", KEY_1)).await;
            assert!(detail.contains(expected), "{claim}: {detail}");
        }
        // Within the leeway is still good.
        let mut c = claims();
        c["exp"] = json!(t - 30);
        assert!(p
            .verify(&sign(&c, "test-key-1", KEY_1), None, now())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_signature_by_another_key_than_the_kid_named_is_refused() {
        let (_, p) = google(&["test-key-1", "test-key-2"]);
        let detail = refusal(&p, &sign(&claims(), "test-key-1", KEY_2)).await;
        assert!(detail.contains("signature"), "{detail}");
    }

    #[tokio::test]
    async fn alg_none_and_hs256_are_refused_whatever_they_sign() {
        let (_, p) = google(&["test-key-1"]);
        // HS256 keyed with the public key's own text: the classic confusion attack.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-key-1".into());
        let hs = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(JWKS.as_bytes()),
        )
        .unwrap();
        let detail = refusal(&p, &hs).await;
        assert!(detail.contains("alg HS256 is not the RS256"), "{detail}");

        let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            part(json!({"alg": "none", "kid": "test-key-1"})),
            part(claims())
        );
        let detail = refusal(&p, &none).await;
        assert!(detail.contains("not a signed JWT"), "{detail}");
    }

    #[tokio::test]
    async fn a_nonce_sent_must_be_the_tokens() {
        let (_, p) = google(&["test-key-1"]);
        let mut c = claims();
        c["nonce"] = json!("n-0S6_WzA2Mj");
        let token = sign(&c, "test-key-1", KEY_1);
        assert!(p.verify(&token, Some("n-0S6_WzA2Mj"), now()).await.is_ok());
        let e = p.verify(&token, Some("other"), now()).await.unwrap_err();
        assert!(e.detail.contains("nonce"), "{}", e.detail);
    }

    #[tokio::test]
    async fn keys_are_cached_for_their_max_age_then_fetched_again() {
        let (fake, p) = google(&["test-key-1"]);
        let token = sign(&claims(), "test-key-1", KEY_1);
        for _ in 0..3 {
            p.verify(&token, None, now()).await.unwrap();
        }
        assert_eq!(fake.fetches(), 1);
        let later = now() + chrono::Duration::seconds(601);
        let mut c = claims();
        c["exp"] = json!(later.timestamp() + 100);
        p.verify(&sign(&c, "test-key-1", KEY_1), None, later)
            .await
            .unwrap();
        assert_eq!(fake.fetches(), 2, "max-age 600 ran out");
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_per_interval_and_find_rotated_keys() {
        let (fake, p) = google(&["test-key-1"]);
        p.verify(&sign(&claims(), "test-key-1", KEY_1), None, now())
            .await
            .unwrap();
        // The provider rotates in key 2, but a refetch was just made: a flood of
        // unknown kids (made-up or new) costs nothing until the interval is over.
        fake.serve(
            published(&["test-key-1", "test-key-2"]),
            Some(Duration::from_secs(600)),
        );
        for kid in ["made-up-1", "made-up-2", "test-key-2"] {
            let pem = if kid == "test-key-2" { KEY_2 } else { KEY_1 };
            let detail = refusal(&p, &sign(&claims(), kid, pem)).await;
            assert!(detail.contains("not in the provider's key set"), "{detail}");
        }
        assert_eq!(fake.fetches(), 1);

        let later = now() + chrono::Duration::seconds(60);
        let mut c = claims();
        c["exp"] = json!(later.timestamp() + 100);
        p.verify(&sign(&c, "test-key-2", KEY_2), None, later)
            .await
            .expect("the rotated key, fetched once the interval passed");
        assert_eq!(fake.fetches(), 2);
        let detail = refusal(&p, &sign(&c, "made-up-3", KEY_1)).await;
        assert!(detail.contains("made-up-3"), "{detail}");
        assert_eq!(fake.fetches(), 2);
    }

    #[tokio::test]
    async fn a_provider_that_cannot_be_reached_is_503_and_held_keys_keep_working() {
        let (fake, p) = google(&["test-key-1"]);
        fake.fail_next(AdapterError::Unavailable {
            provider: "jwks",
            message: "timeout".into(),
        });
        let token = sign(&claims(), "test-key-1", KEY_1);
        let e = p.verify(&token, None, now()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::IdentityProviderUnavailable);
        // Not asked again within the interval.
        let e = p.verify(&token, None, now()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::IdentityProviderUnavailable);
        assert_eq!(fake.fetches(), 1);

        let later = now() + chrono::Duration::seconds(60);
        p.verify(&token, None, later).await.unwrap();
        // Expired set, provider down again: the held key still verifies.
        fake.fail_next(AdapterError::Unavailable {
            provider: "jwks",
            message: "timeout".into(),
        });
        let much_later = later + chrono::Duration::seconds(601);
        let mut c = claims();
        c["exp"] = json!(much_later.timestamp() + 100);
        p.verify(&sign(&c, "test-key-1", KEY_1), None, much_later)
            .await
            .unwrap();
        assert_eq!(fake.fetches(), 3);
    }

    #[test]
    fn symmetric_keys_in_a_key_set_are_never_used() {
        let oct = json!({"kty": "oct", "kid": "s", "alg": "HS256", "k": "c2VjcmV0"});
        assert!(usable_key(oct).is_none());
        let rsa_claiming_hs = {
            let mut k = published(&["test-key-1"]).remove(0);
            k["alg"] = json!("HS256");
            k
        };
        assert!(usable_key(rsa_claiming_hs).is_none());
        assert!(usable_key(published(&["test-key-1"]).remove(0)).is_some());
    }
}
