//! Access tokens: short-lived HS256 JWTs. Each carries the `kid` of the key that
//! signed it; every configured key verifies, so keys rotate without logging
//! anyone out (prepend the new key, drop the old one after a token lifetime).
//!
//! A token only names a user and a session. What the caller may do is never read
//! from it: roles come from the user record on each request
//! ([`Identity::authenticate_claims`](crate::app::identity::Identity::authenticate_claims)),
//! so a token re-signed with other claims (the key leaked) gains nothing.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How far past `exp` a token is still accepted: skew between the clocks of
/// the replica that issued it and the one that checks it.
const LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id; checked on every request, so logout is immediate.
    pub sid: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenIssuer {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenIssuer {
    pub fn new(
        keys: &[(String, SecretString)],
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let (signing_kid, signing_secret) = keys
            .first()
            .ok_or_else(|| anyhow::anyhow!("no JWT key configured"))?;
        Ok(Self {
            signing_kid: signing_kid.clone(),
            encoding: EncodingKey::from_secret(signing_secret.expose_secret().as_bytes()),
            decoding: keys
                .iter()
                .map(|(kid, secret)| {
                    (
                        kid.clone(),
                        DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                    )
                })
                .collect(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token for `user_id` in session `sid`, and when it expires.
    pub fn issue(
        &self,
        user_id: &str,
        sid: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let exp = now + chrono::Duration::from_std(self.ttl)?;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            sid: sid.to_owned(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        Ok((jsonwebtoken::encode(&header, &claims, &self.encoding)?, exp))
    }

    /// Checks signature (by `kid`), algorithm (HS256 only: `none` and others are
    /// refused), issuer, audience, and expiry against `now` (the service's
    /// clock, not the library's reading of the system time, so that tests can
    /// let a token expire without waiting; see `domain::time`).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let key = self.decoding.get(header.kid.as_deref()?)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .ok()?
            .claims;
        // Expired once `now` reaches `exp`, give or take the clocks' skew.
        (now.timestamp() < claims.exp.saturating_add(LEEWAY_SECS)).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, secret: &str) -> (String, SecretString) {
        (kid.to_owned(), SecretString::from(secret.to_owned()))
    }

    fn issuer(keys: &[(String, SecretString)]) -> TokenIssuer {
        TokenIssuer::new(keys, "bazaar", "bazaar-api", Duration::from_secs(900)).unwrap()
    }

    #[test]
    fn tokens_verify_under_any_configured_key_and_nothing_else() {
        let old = key("k1", "an-old-secret-that-is-32-bytes-long!");
        let new = key("k2", "a-new-secret-that-is-32-bytes-long!!");
        let (token, _) = issuer(std::slice::from_ref(&old))
            .issue("u1", "s1", Utc::now())
            .unwrap();
        let rotated = issuer(&[new.clone(), old]);
        let claims = rotated
            .verify(&token, Utc::now())
            .expect("old key still verifies");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
        assert!(
            issuer(&[new]).verify(&token, Utc::now()).is_none(),
            "a dropped key no longer verifies"
        );
    }

    #[test]
    fn expired_or_foreign_tokens_are_refused() {
        let k = key("k", "a-secret-that-is-at-least-32-bytes!!");
        let i = issuer(std::slice::from_ref(&k));
        let (expired, _) = i
            .issue("u", "s", Utc::now() - chrono::Duration::hours(1))
            .unwrap();
        assert!(i.verify(&expired, Utc::now()).is_none());
        let other_aud =
            TokenIssuer::new(&[k], "bazaar", "elsewhere", Duration::from_secs(900)).unwrap();
        let (token, _) = other_aud.issue("u", "s", Utc::now()).unwrap();
        assert!(i.verify(&token, Utc::now()).is_none());
        assert!(i.verify("not.a.jwt", Utc::now()).is_none());
    }

    #[test]
    fn a_token_expires_when_the_given_clock_passes_its_lifetime() {
        let i = issuer(&[key("k", "a-secret-that-is-at-least-32-bytes!!")]);
        let issued = Utc::now();
        let (token, exp) = i.issue("u", "s", issued).unwrap();
        assert_eq!(exp, issued + chrono::Duration::seconds(900));
        let within_leeway = exp + chrono::Duration::seconds(LEEWAY_SECS - 1);
        assert!(i.verify(&token, within_leeway).is_some());
        let past = exp + chrono::Duration::seconds(LEEWAY_SECS);
        assert!(
            i.verify(&token, past).is_none(),
            "expired by the clock given"
        );
    }

    #[test]
    fn a_token_names_its_user_and_session_and_nothing_they_may_do() {
        let i = issuer(&[key("k", "a-secret-that-is-at-least-32-bytes!!")]);
        let (token, _) = i.issue("u", "s", Utc::now()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        let mut names: Vec<&str> = claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["aud", "exp", "iat", "iss", "jti", "sid", "sub"]);
    }
}
