//! JWKS: the public keys an OpenID Connect provider (Google, or any other) signs its ID
//! tokens with, published as a JSON Web Key Set at the provider's `jwks_uri`
//! (Google: `https://www.googleapis.com/oauth2/v3/certs`).
//!
//! This module owns the fetch and what the provider's answer says about caching: the body
//! `{"keys":[…]}` and the `Cache-Control: max-age` of the response (Google rotates its keys
//! and says how long each set may be kept). The keys are handed on as JSON objects: which
//! of them are usable, and the verification itself, are the service's (`app::identity`),
//! so this crate needs no JOSE library.
//!
//! [`JwksSource`] is the port; [`JwksClient`] fetches over HTTP; [`FakeJwks`] serves a set
//! held in memory, counts its fetches and can be told to fail.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

const PROVIDER: &str = "jwks";

/// One fetched key set.
#[derive(Debug, Clone, PartialEq)]
pub struct JwkSet {
    /// Each key as the provider wrote it (`kty`, `kid`, `alg`, `n`, `e`, …).
    pub keys: Vec<serde_json::Value>,
    /// How long the provider lets the set be cached (`Cache-Control: max-age`);
    /// `Some(ZERO)` for `no-store` / `no-cache`, `None` when it did not say.
    pub max_age: Option<Duration>,
}

/// Fetches one provider's current signing keys.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, AdapterError>;
}

/// What [`JwksClient`] needs from configuration.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The provider's `jwks_uri`, e.g. `https://www.googleapis.com/oauth2/v3/certs`.
    pub jwks_url: String,
    /// Upper bound on one HTTP attempt, connection and response included.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
}

/// Fetches a JWKS over HTTP(S).
#[derive(Debug)]
pub struct JwksClient {
    http: reqwest::Client,
    jwks_url: String,
    retry: RetryPolicy,
}

impl JwksClient {
    /// Builds the client, failing (`Unavailable`) on a URL that is not absolute http(s).
    pub fn new(settings: JwksSettings) -> Result<Self, AdapterError> {
        let jwks_url = http::base_url(PROVIDER, &settings.jwks_url)?;
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            jwks_url,
            retry: settings.retry,
        })
    }
}

#[derive(Deserialize)]
struct JwkSetBody {
    keys: Vec<serde_json::Value>,
}

#[async_trait::async_trait]
impl JwksSource for JwksClient {
    #[tracing::instrument(name = "jwks.fetch", skip_all, fields(url = %self.jwks_url))]
    async fn fetch(&self) -> Result<JwkSet, AdapterError> {
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .get(&self.jwks_url)
                    .header(ACCEPT, "application/json")
            })
            .await?;
        let status = response.status();
        let max_age = response
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(cache_lifetime);
        // An unreadable body only costs us the explanation, not the verdict.
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = match http::excerpt(&body, 200) {
                e if e.is_empty() => format!("HTTP {status}"),
                e => format!("HTTP {status}: {e}"),
            };
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    AdapterError::Unauthorized { provider: PROVIDER }
                }
                // Redirects are not followed (see `http::client`): a moved key set is our
                // configuration's to fix, like any other refusal.
                _ => AdapterError::Rejected {
                    provider: PROVIDER,
                    status: status.as_u16(),
                    message,
                },
            });
        }
        let parsed: JwkSetBody =
            serde_json::from_str(&body).map_err(|e| AdapterError::Rejected {
                provider: PROVIDER,
                status: status.as_u16(),
                message: format!("not a JSON Web Key Set: {e}"),
            })?;
        tracing::debug!(keys = parsed.keys.len(), ?max_age, "fetched the key set");
        Ok(JwkSet {
            keys: parsed.keys,
            max_age,
        })
    }
}

/// How long one `Cache-Control` header value lets a response be kept: its `max-age`, or
/// zero for `no-store` and `no-cache`; `None` when it says neither.
pub fn cache_lifetime(header: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in header.split(',').map(str::trim) {
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = value
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// An in-memory [`JwksSource`] for tests and local runs: it serves the keys it was given,
/// counts its fetches, and fails when told to.
#[derive(Debug, Default)]
pub struct FakeJwks {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    keys: Vec<serde_json::Value>,
    max_age: Option<Duration>,
    fetches: usize,
    failures: VecDeque<AdapterError>,
}

impl FakeJwks {
    /// A fake serving no keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `keys`, cacheable for `max_age`, from the next fetch on (a rotation).
    pub fn serve(&self, keys: Vec<serde_json::Value>, max_age: Option<Duration>) {
        let mut state = self.state();
        state.keys = keys;
        state.max_age = max_age;
    }

    /// How many fetches were answered or failed so far.
    pub fn fetches(&self) -> usize {
        self.state().fetches
    }

    /// Makes the next fetch fail with `error`. Failures queue up.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().failures.push_back(error);
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl JwksSource for FakeJwks {
    async fn fetch(&self) -> Result<JwkSet, AdapterError> {
        let mut state = self.state();
        state.fetches += 1;
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        Ok(JwkSet {
            keys: state.keys.clone(),
            max_age: state.max_age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_gives_max_age_or_zero_for_no_store() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            cache_lifetime("public, max-age=19302, must-revalidate, no-transform"),
            secs(19302)
        );
        assert_eq!(cache_lifetime("max-age=\"60\""), secs(60));
        assert_eq!(cache_lifetime("no-store"), Some(Duration::ZERO));
        assert_eq!(cache_lifetime("max-age=60, no-cache"), Some(Duration::ZERO));
        assert_eq!(cache_lifetime("public"), None);
        assert_eq!(cache_lifetime("max-age=soon"), None);
    }
}
