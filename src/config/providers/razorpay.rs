//! Razorpay, which takes payments (`BAZAAR_RAZORPAY_*`).

use secrecy::SecretString;

use super::super::parser::Parser;
use super::super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct RazorpayConfig {
    /// The real Razorpay; `None` means the fake (outside production only).
    pub account: Option<RazorpayAccount>,
    pub base_url: String,
}

/// Razorpay's keys: the API key, and the secrets its webhooks are signed with.
#[derive(Debug, Clone)]
pub struct RazorpayAccount {
    pub key_id: String,
    pub key_secret: SecretString,
    /// The first is current; the others are accepted during a rotation.
    pub webhook_secrets: Vec<SecretString>,
}

impl RazorpayConfig {
    pub(in crate::config) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "razorpay_key_id",
            default: None,
            secret: false,
            help:
                "Razorpay key id (`rzp_live_…` / `rzp_test_…`). Unset outside production: a fake \
                Razorpay stands in, and `POST /api/v1/dev/payments/{razorpay_order_id}/capture` \
                completes a checkout and delivers its signed webhooks (see \
                [orders.md](orders.md)). Required in production.",
        },
        SettingSpec {
            key: "razorpay_key_secret",
            default: None,
            secret: true,
            help: "Razorpay key secret; checks checkout signatures. Required with the key id.",
        },
        SettingSpec {
            key: "razorpay_webhook_secrets",
            default: None,
            secret: true,
            help:
                "Comma-separated webhook secrets, current first; older ones stay accepted during \
                a rotation. Required with the key id.",
        },
        SettingSpec {
            key: "razorpay_base_url",
            default: Some("https://api.razorpay.com/v1"),
            secret: false,
            help: "Razorpay API base URL.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let account = account(p);
        let base_url = p.string("razorpay_base_url");
        if !base_url.starts_with("http://") && !base_url.starts_with("https://") {
            p.fail("razorpay_base_url", "must be an http(s) URL".into());
        }
        Self { account, base_url }
    }
}

/// Razorpay's credentials: all three or none.
fn account(p: &mut Parser) -> Option<RazorpayAccount> {
    let key_id = p.raw("razorpay_key_id").map(str::trim).map(str::to_owned);
    let key_secret = p.raw("razorpay_key_secret").map(str::to_owned);
    let webhook_secrets: Vec<SecretString> = p
        .raw("razorpay_webhook_secrets")
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let Some(key_id) = key_id.filter(|k| !k.is_empty()) else {
        if key_secret.is_some() || !webhook_secrets.is_empty() {
            p.fail(
                "razorpay_key_id",
                "is required with BAZAAR_RAZORPAY_KEY_SECRET or BAZAAR_RAZORPAY_WEBHOOK_SECRETS"
                    .into(),
            );
        }
        return None;
    };
    if key_secret.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.fail(
            "razorpay_key_secret",
            "is required with BAZAAR_RAZORPAY_KEY_ID".into(),
        );
    }
    if webhook_secrets.is_empty() {
        p.fail(
            "razorpay_webhook_secrets",
            "is required with BAZAAR_RAZORPAY_KEY_ID".into(),
        );
    }
    Some(RazorpayAccount {
        key_id,
        key_secret: SecretString::from(key_secret.unwrap_or_default()),
        webhook_secrets,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;

    #[test]
    fn razorpay_credentials_come_together_and_stay_out_of_errors() {
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_RAZORPAY_KEY_ID", "rzp_test_example")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("BAZAAR_RAZORPAY_KEY_SECRET"), "{err}");
        assert!(err.contains("BAZAAR_RAZORPAY_WEBHOOK_SECRETS"), "{err}");
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_GST_HSN_DIGITS", "5"),
                ("BAZAAR_RAZORPAY_KEY_SECRET", "s3cr3t-value"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("BAZAAR_GST_HSN_DIGITS"), "{err}");
        assert!(!err.contains("s3cr3t-value"), "{err}");
    }
}
