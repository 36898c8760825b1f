//! Prometheus metrics for `/metrics`. Routes are labelled by their template
//! (`/api/v1/products/{id}`), never the raw path, so label cardinality stays bounded.
//!
//! Who may read them ([`MetricsAccess`]): metrics name every route, their traffic and
//! error rates, which is reconnaissance for an attacker, so production never serves
//! them to anyone on the API listener. They are served on a listener of their own
//! (`BAZAAR_METRICS_ADDR`, for a network only Prometheus reaches), or behind a bearer
//! token (`BAZAAR_METRICS_TOKEN`), or not at all.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::app::errors::{AppError, ErrorCode};
use crate::config::{Environment, Settings};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Per-application metrics. Each [`crate::startup::Application`] owns one registry,
/// so tests that run several apps in one process do not share counters.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// `cache_lookups_total{cache, result}`: product cache lookups by level hit or miss.
    pub cache_lookups: IntCounterVec,
}

const LABELS: &[&str] = &["route", "method", "status"];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            LABELS,
        )
        .expect("valid metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request received to response ready",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            LABELS,
        )
        .expect("valid metric definition");
        let cache_lookups = IntCounterVec::new(
            Opts::new(
                "cache_lookups_total",
                "Product cache lookups (cache: product, list, facets; result: l1_hit, l2_hit, miss)",
            ),
            &["cache", "result"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(cache_lookups.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(requests.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("metric registered once");
        Self {
            registry,
            requests,
            latency,
            cache_lookups,
        }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Adds the circuit breakers' state and refusal counts.
    pub fn watch_breakers(&self, breakers: &crate::breaker::Breakers) {
        breakers
            .register(&self.registry)
            .expect("breaker metrics registered once");
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Who may read `/metrics` on one listener.
#[derive(Clone)]
pub enum MetricsAccess {
    /// Anyone: development, or the metrics listener without a token.
    Open,
    /// Whoever sends `Authorization: Bearer <token>`.
    Token(SecretString),
    /// Nobody: the route answers 404 as if it did not exist.
    Closed,
}

impl MetricsAccess {
    /// `/metrics` on the API listener: closed when metrics have their own
    /// listener, or in production without a token; token-guarded when one is set.
    pub fn api_listener(settings: &Settings) -> Self {
        if settings.telemetry.metrics_addr.is_some() {
            return Self::Closed;
        }
        match (&settings.telemetry.metrics_token, settings.env) {
            (Some(token), _) => Self::Token(token.clone()),
            (None, Environment::Production) => Self::Closed,
            (None, Environment::Development) => Self::Open,
        }
    }

    /// `/metrics` on the metrics listener (`BAZAAR_METRICS_ADDR`).
    pub fn own_listener(settings: &Settings) -> Self {
        match &settings.telemetry.metrics_token {
            Some(token) => Self::Token(token.clone()),
            None => Self::Open,
        }
    }

    /// Whether this listener serves metrics to anyone at all.
    pub fn serves(&self) -> bool {
        !matches!(self, Self::Closed)
    }

    /// Admits a request that presented `token` (the bearer credential, if any).
    pub fn check(&self, token: Option<&str>) -> Result<(), AppError> {
        match self {
            Self::Open => Ok(()),
            Self::Closed => Err(AppError::new(
                ErrorCode::NotFound,
                "no resource exists at this path",
            )),
            Self::Token(expected) => {
                let given = token.unwrap_or_default().as_bytes();
                // Constant time, so the token cannot be found byte by byte.
                if bool::from(given.ct_eq(expected.expose_secret().as_bytes())) {
                    Ok(())
                } else {
                    Err(AppError::new(
                        ErrorCode::Unauthorized,
                        "metrics need the metrics token: send `Authorization: Bearer <BAZAAR_METRICS_TOKEN>`",
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Settings::from_sources(None, vars).expect("valid settings")
    }

    const TOKEN: &str = "metrics-token-of-at-least-thirty-two-bytes";

    #[test]
    fn development_serves_metrics_openly_unless_a_token_or_listener_is_set() {
        assert!(matches!(
            MetricsAccess::api_listener(&settings(&[])),
            MetricsAccess::Open
        ));
        let guarded = MetricsAccess::api_listener(&settings(&[("BAZAAR_METRICS_TOKEN", TOKEN)]));
        assert_eq!(
            guarded.check(None).unwrap_err().code,
            ErrorCode::Unauthorized
        );
        assert_eq!(
            guarded
                .check(Some("metrics-token-of-at-least-thirty-two-byteX"))
                .unwrap_err()
                .code,
            ErrorCode::Unauthorized
        );
        assert!(guarded.check(Some(TOKEN)).is_ok());
        let moved = settings(&[("BAZAAR_METRICS_ADDR", "127.0.0.1:0")]);
        assert!(!MetricsAccess::api_listener(&moved).serves());
        assert!(MetricsAccess::own_listener(&moved).check(None).is_ok());
    }

    #[test]
    fn a_short_metrics_token_is_refused() {
        let vars = [("BAZAAR_METRICS_TOKEN", "short")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let err = Settings::from_sources(None, vars).unwrap_err().to_string();
        assert!(
            err.contains("BAZAAR_METRICS_TOKEN") && !err.contains("short"),
            "{err}"
        );
    }
}
