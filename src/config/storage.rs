//! Where records are stored (MongoDB, else in memory), and how long any backend, MongoDB or
//! Redis, may take to answer.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::parser::Parser;
use super::spec::SettingSpec;

/// MongoDB, and the timeout of every backend call.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// `None` means in-memory storage.
    pub mongodb_url: Option<SecretString>,
    pub mongodb_database: String,
    /// How long to wait for MongoDB or Redis before answering 503.
    pub backend_timeout: Duration,
}

impl StorageSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "mongodb_url",
            default: None,
            secret: true,
            help: "MongoDB connection string (`mongodb://` or `mongodb+srv://`). Unset: products \
                live in process memory and vanish on restart. Must name a replica set or a \
                sharded cluster: startup refuses a standalone server, which cannot run \
                transactions. Driver settings go in the string; Bazaar's own defaults, which the \
                string overrides: `appName=bazaar`, `heartbeatFrequencyMS=500` (the driver's 10 \
                s would make an election cost clients seconds of 503s; see \
                [operations.md](operations.md#elections-and-transient-errors)), and server \
                selection and connect timeouts of `BAZAAR_BACKEND_TIMEOUT_MS`.",
        },
        SettingSpec {
            key: "mongodb_database",
            default: Some("bazaar"),
            secret: false,
            help: "Database name inside MongoDB.",
        },
        SettingSpec {
            key: "backend_timeout_ms",
            default: Some("2000"),
            secret: false,
            help:
                "How long to wait for MongoDB or Redis (server selection, connect, reply) before \
                answering `503 backend_unavailable`. 100–60000.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let mongodb_url = p.secret_url("mongodb_url", &["mongodb://", "mongodb+srv://"]);
        let mongodb_database = p.string("mongodb_database");
        if mongodb_database.is_empty()
            || mongodb_database.len() > 63
            || mongodb_database.contains(['/', '\\', '.', ' ', '"', '$'])
        {
            p.fail(
                "mongodb_database",
                "is not a valid MongoDB database name".into(),
            );
        }
        let backend_timeout = p.millis("backend_timeout_ms", 100, 60_000);
        Self {
            mongodb_url,
            mongodb_database,
            backend_timeout,
        }
    }

    pub fn mongodb_url(&self) -> Option<&str> {
        self.mongodb_url.as_ref().map(|s| s.expose_secret())
    }
}
