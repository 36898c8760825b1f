//! The third parties: MSG91 (SMS), SendGrid (email), S3 (uploads) and Razorpay (payments),
//! each configured in its own file, and what their calls share. Unset outside production,
//! each is replaced by a fake (S3 by a local directory); production refuses those.

mod msg91;
mod razorpay;
mod s3;
mod sendgrid;

pub use msg91::{Msg91Account, Msg91Config};
pub use razorpay::{RazorpayAccount, RazorpayConfig};
pub use s3::S3Config;
pub use sendgrid::{SendGridAccount, SendGridConfig};

use std::time::Duration;

use super::environment::Environment;
use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The timeout of each attempt of a call to a provider.
    pub timeout: Duration,
    /// The origin used to build links in messages.
    pub public_url: String,
    pub msg91: Msg91Config,
    pub sendgrid: SendGridConfig,
    /// The S3 bucket for uploads; `None` means the local development store.
    pub s3: Option<S3Config>,
    pub razorpay: RazorpayConfig,
}

impl ProviderSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "public_url",
            default: Some("http://127.0.0.1:8080"),
            secret: false,
            help: "Origin used to build links in messages (`{public_url}/verify-email?token=…`): \
                usually your frontend.",
        },
        SettingSpec {
            key: "provider_timeout_ms",
            default: Some("4000"),
            secret: false,
            help:
                "Timeout of each attempt of a Razorpay, MSG91, SendGrid or S3 (`HEAD`, `DELETE`) \
                call (retried twice with backoff on timeouts, 429 and 5xx, so a provider that \
                does not answer holds a request for about three times this before it gets 503 \
                `payment_provider_unavailable`). Keep three times this under \
                `BAZAAR_REQUEST_TIMEOUT_MS`, or a silent provider is reported as `timeout` \
                instead.",
        },
    ];

    pub(super) fn parse(p: &mut Parser, env: Environment) -> Self {
        let msg91 = Msg91Config::parse(p);
        let sendgrid = SendGridConfig::parse(p);
        let public_url = p.string("public_url").trim_end_matches('/').to_owned();
        if url::Url::parse(&public_url).is_err() {
            p.fail("public_url", "is not a URL".into());
        }
        let timeout = p.millis("provider_timeout_ms", 100, 60_000);
        let s3 = S3Config::parse(p);
        let razorpay = RazorpayConfig::parse(p);
        if env == Environment::Production {
            if razorpay.account.is_none() {
                p.fail(
                    "razorpay_key_id",
                    "is required in production: the fake Razorpay takes no money".into(),
                );
            }
            if s3.is_none() {
                p.fail("s3_endpoint", "is required in production: the local upload store is served by the development server and is not shared by replicas".into());
            }
        }
        Self {
            timeout,
            public_url,
            msg91,
            sendgrid,
            s3,
            razorpay,
        }
    }
}
