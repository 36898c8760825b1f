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
            help: "MongoDB connection string; unset means in-memory storage",
        },
        SettingSpec {
            key: "mongodb_database",
            default: Some("bazaar"),
            secret: false,
            help: "database name inside MongoDB",
        },
        SettingSpec {
            key: "backend_timeout_ms",
            default: Some("2000"),
            secret: false,
            help: "how long to wait for MongoDB or Redis before answering 503",
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
