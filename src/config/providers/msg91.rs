//! MSG91, which sends OTP codes and notices by SMS (`BAZAAR_MSG91_*`).

use secrecy::SecretString;

use crate::domain::outbox::{NoticeKind, PerNotice};

use super::super::parser::Parser;
use super::super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct Msg91Config {
    /// The real MSG91; `None` means the fake (outside production only).
    pub account: Option<Msg91Account>,
    /// The DLT sender id of notice SMS; empty leaves it to each flow.
    pub sender: String,
    /// The MSG91 flow (DLT template) of each kind of notice.
    pub notice_flows: PerNotice<String>,
}

/// What calling the real MSG91 takes.
#[derive(Debug, Clone)]
pub struct Msg91Account {
    pub authkey: SecretString,
    pub template_id: String,
    pub base_url: String,
}

impl Msg91Config {
    pub(in crate::config) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "msg91_authkey",
            default: None,
            secret: true,
            help: "MSG91 auth key. Unset outside production: a fake records OTPs and notice SMS, \
                listed at `GET /api/v1/dev/messages`. Required in production.",
        },
        SettingSpec {
            key: "msg91_template_id",
            default: Some(""),
            secret: false,
            help: "DLT-registered OTP template id (required with the key).",
        },
        SettingSpec {
            key: "msg91_base_url",
            default: Some("https://control.msg91.com/api/v5"),
            secret: false,
            help: "MSG91 API base URL.",
        },
        SettingSpec {
            key: "msg91_sender",
            default: Some(""),
            secret: false,
            help: "DLT sender id (header) of the outbox's notice SMS. Empty: each flow's own \
                sender.",
        },
        SettingSpec {
            key: "msg91_flow_order_confirmation",
            default: Some("dev-order-confirmation"),
            secret: false,
            help: "MSG91 flow (DLT-registered template) of the order-confirmation SMS; its \
                variables are the notice's data (see [outbox.md](outbox.md)). The default only \
                suits the fake: required with the key.",
        },
        SettingSpec {
            key: "msg91_flow_payment_receipt",
            default: Some("dev-payment-receipt"),
            secret: false,
            help: "MSG91 flow of the payment-receipt SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_refund",
            default: Some("dev-refund"),
            secret: false,
            help: "MSG91 flow of the refund SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_cancellation",
            default: Some("dev-cancellation"),
            secret: false,
            help: "MSG91 flow of the cancellation SMS (required with the key).",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let authkey = p
            .raw("msg91_authkey")
            .map(|key| SecretString::from(key.to_owned()));
        let template_id = p.string("msg91_template_id");
        let base_url = p.string("msg91_base_url");
        if authkey.is_some() && template_id.is_empty() {
            p.fail(
                "msg91_template_id",
                "is required with BAZAAR_MSG91_AUTHKEY".into(),
            );
        }
        if !base_url.starts_with("http://") && !base_url.starts_with("https://") {
            p.fail("msg91_base_url", "must be an http(s) URL".into());
        }
        let sender = p.string("msg91_sender");
        let notice_flows = notice_flows(p, authkey.is_some());
        Self {
            account: authkey.map(|authkey| Msg91Account {
                authkey,
                template_id,
                base_url,
            }),
            sender,
            notice_flows,
        }
    }
}

/// The MSG91 flow of each notice. The defaults are placeholders for the fake provider, so
/// with a real MSG91 key each must be set.
fn notice_flows(p: &mut Parser, real_msg91: bool) -> PerNotice<String> {
    PerNotice::from_fn(|kind: NoticeKind| {
        let key = format!("msg91_flow_{}", kind.as_str());
        if real_msg91 && p.is_default(&key) {
            p.fail(&key, "is required with BAZAAR_MSG91_AUTHKEY".into());
        }
        p.string(&key)
    })
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;

    #[test]
    fn a_real_msg91_needs_a_flow_for_every_notice() {
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_MSG91_AUTHKEY", "key"),
                ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
                ("BAZAAR_MSG91_FLOW_REFUND", "64f0c0ffee"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        assert!(!text.contains("BAZAAR_MSG91_FLOW_REFUND"), "{text}");
        assert!(text.contains("BAZAAR_MSG91_FLOW_CANCELLATION"), "{text}");
    }
}
