//! Operations endpoints: liveness, readiness and Prometheus metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poem_openapi::auth::Bearer;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};

use super::contract::ApiTags;
use super::problem::Problems;
use crate::app::catalog::Catalog;
use crate::app::errors::{AppError, ErrorCode};
use crate::breaker::{BreakerState, Breakers};
use crate::domain::validation::FieldError;
use crate::error_set;
use crate::kv::KeyValueStore;
use crate::state::BackendNames;
use crate::telemetry::metrics::{Metrics, MetricsAccess};

error_set!(
    /// Errors of the liveness check and metrics: only malformed requests.
    OpsErrors: ; DuplicateQueryParameter, TooManyQueryParameters
);
error_set!(
    /// Errors of the metrics: a missing or wrong metrics token, or metrics not
    /// served on this listener.
    MetricsErrors: ; DuplicateQueryParameter, TooManyQueryParameters, Unauthorized, NotFound
);
error_set!(
    /// Errors of the readiness check.
    ReadyErrors: ; DuplicateQueryParameter, TooManyQueryParameters, BackendUnavailable, ShuttingDown
);

/// Liveness: the process is up.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

impl Example for Liveness {
    fn example() -> Self {
        Self {
            status: "ok".into(),
        }
    }
}

/// One backend's readiness.
#[derive(Debug, Object)]
pub struct Check {
    /// `database` or `key_value`.
    pub name: String,
    /// `memory`, `mongodb` or `redis`.
    pub backend: String,
    /// `up` (a down backend makes the whole check answer 503).
    pub status: String,
    /// The backend's circuit breaker: `closed` (calls go through) or
    /// `half_open` (one trial call is out). An `open` breaker (calls refused
    /// without asking the backend) makes the check answer 503. Absent for
    /// in-memory backends, which have none.
    #[oai(skip_serializing_if_is_none)]
    pub breaker: Option<String>,
}

/// Readiness: every backend answered.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Readiness {
    /// Always `ready`.
    pub status: String,
    pub checks: Vec<Check>,
}

impl Example for Readiness {
    fn example() -> Self {
        Self {
            status: "ready".into(),
            checks: vec![
                Check {
                    name: "database".into(),
                    backend: "mongodb".into(),
                    status: "up".into(),
                    breaker: Some("closed".into()),
                },
                Check {
                    name: "key_value".into(),
                    backend: "redis".into(),
                    status: "up".into(),
                    breaker: Some("closed".into()),
                },
            ],
        }
    }
}

#[derive(ApiResponse)]
pub enum LiveResponse {
    /// The process is running.
    #[oai(status = 200)]
    Ok(Json<Liveness>),
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Every backend answered; send traffic here.
    #[oai(status = 200)]
    Ok(Json<Readiness>),
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Metrics in the Prometheus text exposition format.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

/// The metrics token (`BAZAAR_METRICS_TOKEN`), as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct MetricsToken(Bearer);

/// The metrics token when one is configured; nothing otherwise.
#[derive(SecurityScheme)]
pub enum MetricsAuth {
    Token(MetricsToken),
    #[oai(fallback)]
    Anonymous,
}

pub struct OpsApi {
    pub catalog: Arc<Catalog>,
    pub kv: Arc<dyn KeyValueStore>,
    pub backends: BackendNames,
    /// The backends' circuit breakers, named as `backends` names them.
    pub breakers: Arc<Breakers>,
    pub metrics: Arc<Metrics>,
    /// Who may read `/metrics` on the API listener.
    pub metrics_access: MetricsAccess,
    pub timeout: Duration,
    /// Set when shutdown begins.
    pub draining: Arc<AtomicBool>,
}

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness probe
    ///
    /// Answers 200 while the process runs; checks nothing else.
    #[oai(path = "/health/live", method = "get", operation_id = "getLiveness")]
    async fn live(&self) -> Result<LiveResponse, Problems<OpsErrors>> {
        Ok(LiveResponse::Ok(Json(Liveness {
            status: "ok".into(),
        })))
    }

    /// Readiness probe
    ///
    /// Checks every backend through its circuit breaker. 503 names each one
    /// that failed in `errors` (`field` is the check's name); a backend whose
    /// breaker is open is not asked, and its error says `circuit breaker open`.
    /// From the moment the instance starts shutting
    /// down it answers 503 `shutting_down`, while it still serves other requests
    /// for the configured delay.
    #[oai(path = "/health/ready", method = "get", operation_id = "getReadiness")]
    async fn ready(&self) -> Result<ReadyResponse, Problems<ReadyErrors>> {
        if self.draining.load(Ordering::Relaxed) {
            return Err(AppError {
                retry_after: Some(1),
                ..AppError::new(
                    ErrorCode::ShuttingDown,
                    "not ready: this instance is shutting down; send requests to another",
                )
            }
            .into());
        }
        let timeout = self.timeout;
        let (db, kv) = tokio::join!(
            tokio::time::timeout(timeout, self.catalog.ping()),
            tokio::time::timeout(timeout, self.kv.ping()),
        );
        let mut failed = Vec::new();
        let breaker = |backend: &str| self.breakers.get(backend).map(|b| b.state());
        // Only the error's kind: its cause may quote hosts. An open breaker
        // is said as such, since it was the breaker, not the backend, that answered.
        let why = |e: &dyn std::error::Error, backend: &str| match breaker(backend) {
            Some(state @ (BreakerState::Open | BreakerState::HalfOpen)) => {
                format!("{e} (circuit breaker {}: not asked)", state.as_str())
            }
            _ => e.to_string(),
        };
        match db {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed.push((
                "database",
                self.backends.storage,
                why(&e, self.backends.storage),
            )),
            Err(_) => failed.push(("database", self.backends.storage, "timed out".into())),
        }
        match kv {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed.push(("key_value", self.backends.kv, why(&e, self.backends.kv))),
            Err(_) => failed.push(("key_value", self.backends.kv, "timed out".into())),
        }
        if !failed.is_empty() {
            let names: Vec<_> = failed
                .iter()
                .map(|(n, b, _)| format!("{n} ({b})"))
                .collect();
            return Err(AppError {
                errors: failed
                    .iter()
                    .map(|(name, backend, why)| {
                        FieldError::new(*name, "down", format!("{backend}: {why}"))
                    })
                    .collect(),
                retry_after: Some(1),
                ..AppError::new(
                    ErrorCode::BackendUnavailable,
                    format!("not ready: {} unavailable", names.join(", ")),
                )
            }
            .into());
        }
        let up = |name: &str, backend: &str| Check {
            name: name.into(),
            backend: backend.into(),
            status: "up".into(),
            breaker: breaker(backend).map(|state| state.as_str().to_owned()),
        };
        Ok(ReadyResponse::Ok(Json(Readiness {
            status: "ready".into(),
            checks: vec![
                up("database", self.backends.storage),
                up("key_value", self.backends.kv),
            ],
        })))
    }

    /// Prometheus metrics
    ///
    /// `http_requests_total` and `http_request_duration_seconds`, labelled by
    /// route template, method and status, `cache_lookups_total`, and per
    /// circuit breaker `circuit_breaker_state` (0 closed, 1 half-open, 2 open)
    /// and `circuit_breaker_refused_total`.
    ///
    /// Who may read them depends on the deployment: with `BAZAAR_METRICS_TOKEN`
    /// set, only a request with `Authorization: Bearer <that token>` (else 401);
    /// with `BAZAAR_METRICS_ADDR` set, only on that separate listener (here 404);
    /// in production with neither, nobody (404). A development server without
    /// either answers anyone.
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(&self, auth: MetricsAuth) -> Result<MetricsResponse, Problems<MetricsErrors>> {
        let token = match &auth {
            MetricsAuth::Token(MetricsToken(bearer)) => Some(bearer.token.as_str()),
            MetricsAuth::Anonymous => None,
        };
        self.metrics_access.check(token)?;
        Ok(MetricsResponse::Ok(PlainText(self.metrics.render())))
    }
}
