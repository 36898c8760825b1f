//! Logs and metrics: the log format and filter, and where and behind what `/metrics` is
//! served.

use std::net::SocketAddr;

use secrecy::SecretString;

use super::environment::Environment;
use super::parser::Parser;
use super::secrets::weak_production_secret;
use super::spec::SettingSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What is logged and how, and how metrics are served.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    pub log_level: String,
    /// The metrics listener; `None` serves `/metrics` on the API listener (see `http::metrics`).
    pub metrics_addr: Option<SocketAddr>,
    /// What `/metrics` requires as bearer token, if anything.
    pub metrics_token: Option<SecretString>,
}

impl TelemetrySettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "log_format",
            default: Some("text"),
            secret: false,
            help:
                "`text` for people, `json` for log collectors (one JSON object per line, with the \
                request's `request_id` in `span`).",
        },
        SettingSpec {
            key: "log_level",
            default: Some("info"),
            secret: false,
            help: "A `tracing` filter, e.g. `debug` or `bazaar=debug,info`.",
        },
        SettingSpec {
            key: "metrics_addr",
            default: None,
            secret: false,
            help: "Address of a second listener that serves only `GET /metrics`, e.g. \
                `0.0.0.0:9090` in a pod, for Prometheus to scrape on a network the load balancer \
                does not expose. Set, the API listener answers `/metrics` with 404. Must differ \
                from `BAZAAR_ADDR`. See [operations.md](operations.md#metrics).",
        },
        SettingSpec {
            key: "metrics_token",
            default: None,
            secret: true,
            help: "Bearer token `/metrics` then requires wherever it is served (`Authorization: \
                Bearer <token>`, else `401 unauthorized`); at least 32 bytes, and in production \
                it must look random. Production serves `/metrics` on the API listener only with \
                it; with neither this nor `BAZAAR_METRICS_ADDR`, production serves no metrics \
                (404) and says so at startup. Development without either serves them to anyone.",
        },
    ];

    /// `addr` is the API listener's, which the metrics listener must not take.
    pub(super) fn parse(p: &mut Parser, env: Environment, addr: SocketAddr) -> Self {
        let log_format = match p.string("log_format").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                p.fail("log_format", "must be `text` or `json`".into());
                LogFormat::Text
            }
        };
        let log_level = p.string("log_level");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            p.fail("log_level", "is not a valid tracing filter".into());
        }
        let metrics_addr = p.raw("metrics_addr").is_some().then(|| {
            p.parse(
                "metrics_addr",
                "a socket address like 0.0.0.0:9090",
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
        });
        if metrics_addr.is_some_and(|m| m == addr && addr.port() != 0) {
            p.fail(
                "metrics_addr",
                "must differ from BAZAAR_ADDR: metrics get a listener of their own".into(),
            );
        }
        let metrics_token = p.raw("metrics_token").map(|t| t.trim().to_owned());
        if let Some(token) = &metrics_token {
            if token.len() < 32 {
                p.fail("metrics_token", "must be at least 32 bytes".into());
            } else if env == Environment::Production {
                if let Some(why) = weak_production_secret(token) {
                    p.fail("metrics_token", why.into());
                }
            }
        }
        let metrics_token = metrics_token.map(SecretString::from);
        Self {
            log_format,
            log_level,
            metrics_addr,
            metrics_token,
        }
    }
}
