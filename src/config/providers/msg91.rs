//! MSG91, which sends OTP codes and notices by SMS, and notices by WhatsApp
//! (`BAZAAR_MSG91_*`).

use secrecy::SecretString;

use crate::domain::outbox::{Localized, NoticeKind, PerNotice};
use crate::domain::user::Phone;

use super::super::parser::Parser;
use super::super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct Msg91Config {
    /// The real MSG91; `None` means the fake (outside production only).
    pub account: Option<Msg91Account>,
    /// The DLT sender id of notice SMS; empty leaves it to each flow.
    pub sender: String,
    /// The MSG91 flow (DLT template) of each kind of notice, per language.
    pub notice_flows: PerNotice<Localized>,
    /// The WhatsApp Business number registered with MSG91, in E.164; `None`: with the real
    /// MSG91, no WhatsApp notices (the fake sends them without one).
    pub whatsapp_number: Option<String>,
    /// The Meta-approved WhatsApp template of each kind of notice, per language; a name may
    /// end in `:code` to send another language code than the language's (`en=x:en_US`).
    pub whatsapp_templates: PerNotice<Localized>,
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
            help: "MSG91 auth key. Unset outside production: a fake records OTPs, notice SMS and \
                WhatsApp notices, listed at `GET /api/v1/dev/messages`. Required in production.",
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
                variables are the notice's data (see [outbox.md](outbox.md)). One flow id, or \
                one per language: `en=…,hi=…` (`en` required; a language without its own gets \
                English's). The default only suits the fake: required with the key.",
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
        SettingSpec {
            key: "msg91_flow_order_packed",
            default: Some("dev-order-packed"),
            secret: false,
            help: "MSG91 flow of the order-packed notice SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_order_shipped",
            default: Some("dev-order-shipped"),
            secret: false,
            help: "MSG91 flow of the order-shipped notice (its data adds `carrier` and `tracking_number`) SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_order_delivered",
            default: Some("dev-order-delivered"),
            secret: false,
            help: "MSG91 flow of the order-delivered notice SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_return_requested",
            default: Some("dev-return-requested"),
            secret: false,
            help: "MSG91 flow of the return-request acknowledgement SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_flow_return_received",
            default: Some("dev-return-received"),
            secret: false,
            help: "MSG91 flow of the returned-goods-received notice SMS (required with the key).",
        },
        SettingSpec {
            key: "msg91_whatsapp_number",
            default: Some(""),
            secret: false,
            help: "The WhatsApp Business number registered with MSG91 (its *integrated number*), \
                in E.164. Empty with the key: Bazaar sends no WhatsApp notices. Without the key \
                the fake sends them (`channel` `whatsapp` at `GET /api/v1/dev/messages`). See \
                [outbox.md](outbox.md#channels-and-languages).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_order_confirmation",
            default: Some("en=bazaar_order_confirmation,hi=bazaar_order_confirmation"),
            secret: false,
            help: "Meta-approved WhatsApp template of the order confirmation, per language: \
                `en=name,hi=name` (`en` required, the fallback for languages without one; a \
                name may end in `:code` to send another language code, e.g. \
                `en=order_confirmed:en_US`). Its body takes `{{1}}` name, `{{2}}` order id, \
                `{{3}}` amount. The default only suits the fake: required with the number.",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_payment_receipt",
            default: Some("en=bazaar_payment_receipt,hi=bazaar_payment_receipt"),
            secret: false,
            help: "WhatsApp template of the payment receipt (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_refund",
            default: Some("en=bazaar_refund,hi=bazaar_refund"),
            secret: false,
            help: "WhatsApp template of the refund; `{{3}}` is the amount refunded so far \
                (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_cancellation",
            default: Some("en=bazaar_cancellation,hi=bazaar_cancellation"),
            secret: false,
            help: "WhatsApp template of the cancellation (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_order_packed",
            default: Some("en=bazaar_order_packed,hi=bazaar_order_packed"),
            secret: false,
            help: "WhatsApp template of the order-packed notice (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_order_shipped",
            default: Some("en=bazaar_order_shipped,hi=bazaar_order_shipped"),
            secret: false,
            help: "WhatsApp template of the order-shipped notice (its data adds `carrier` and `tracking_number`) (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_order_delivered",
            default: Some("en=bazaar_order_delivered,hi=bazaar_order_delivered"),
            secret: false,
            help: "WhatsApp template of the order-delivered notice (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_return_requested",
            default: Some("en=bazaar_return_requested,hi=bazaar_return_requested"),
            secret: false,
            help: "WhatsApp template of the return-request acknowledgement (required with the number).",
        },
        SettingSpec {
            key: "msg91_whatsapp_template_return_received",
            default: Some("en=bazaar_return_received,hi=bazaar_return_received"),
            secret: false,
            help: "WhatsApp template of the returned-goods-received notice (required with the number).",
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
        let whatsapp_number = whatsapp_number(p);
        let real_whatsapp = authkey.is_some() && whatsapp_number.is_some();
        let whatsapp_templates = PerNotice::from_fn(|kind: NoticeKind| {
            let key = format!("msg91_whatsapp_template_{}", kind.as_str());
            if real_whatsapp && p.is_default(&key) {
                p.fail(&key, "is required with BAZAAR_MSG91_WHATSAPP_NUMBER".into());
            }
            p.localized(&key)
        });
        Self {
            account: authkey.map(|authkey| Msg91Account {
                authkey,
                template_id,
                base_url,
            }),
            sender,
            notice_flows,
            whatsapp_number,
            whatsapp_templates,
        }
    }
}

/// The integrated WhatsApp number in E.164, if set and valid.
fn whatsapp_number(p: &mut Parser) -> Option<String> {
    let raw = p.raw("msg91_whatsapp_number")?.to_owned();
    match Phone::parse("msg91_whatsapp_number", &raw) {
        Ok(phone) => Some(phone.as_str().to_owned()),
        Err(_) => {
            p.fail(
                "msg91_whatsapp_number",
                "is not a phone number in E.164".into(),
            );
            None
        }
    }
}

/// The MSG91 flow of each notice. The defaults are placeholders for the fake provider, so
/// with a real MSG91 key each must be set.
fn notice_flows(p: &mut Parser, real_msg91: bool) -> PerNotice<Localized> {
    PerNotice::from_fn(|kind: NoticeKind| {
        let key = format!("msg91_flow_{}", kind.as_str());
        if real_msg91 && p.is_default(&key) {
            p.fail(&key, "is required with BAZAAR_MSG91_AUTHKEY".into());
        }
        p.localized(&key)
    })
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;
    use crate::domain::outbox::NoticeKind;

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
        assert_eq!(err.0.len(), 8, "{text}");
        assert!(!text.contains("BAZAAR_MSG91_FLOW_REFUND"), "{text}");
        assert!(text.contains("BAZAAR_MSG91_FLOW_CANCELLATION"), "{text}");
    }

    #[test]
    fn whatsapp_templates_are_per_language_and_required_with_a_real_number() {
        let s = Settings::from_sources(
            None,
            vars(&[(
                "BAZAAR_MSG91_WHATSAPP_TEMPLATE_REFUND",
                "en=refund_done:en_US, hi=refund_done",
            )]),
        )
        .unwrap();
        let templates = &s.providers.msg91.whatsapp_templates;
        assert_eq!(
            templates.get(NoticeKind::Refund).unwrap().get("hi"),
            ("hi", "refund_done")
        );
        assert_eq!(
            templates.get(NoticeKind::Refund).unwrap().get("ta"),
            ("en", "refund_done:en_US")
        );
        assert_eq!(s.providers.msg91.whatsapp_number, None);

        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_MSG91_AUTHKEY", "key"),
                ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
                ("BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION", "f1"),
                ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "en=f2,hi=f2h"),
                ("BAZAAR_MSG91_FLOW_REFUND", "f3"),
                ("BAZAAR_MSG91_FLOW_CANCELLATION", "hi=f4"),
                ("BAZAAR_MSG91_WHATSAPP_NUMBER", "+91 80000 00001"),
                ("BAZAAR_MSG91_WHATSAPP_TEMPLATE_REFUND", "en=r"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 14, "{text}");
        assert!(text.contains("BAZAAR_MSG91_FLOW_CANCELLATION"), "{text}");
        assert!(text.contains("needs an `en=` entry"), "{text}");
        assert!(!text.contains("TEMPLATE_REFUND"), "{text}");
        assert!(
            text.contains("BAZAAR_MSG91_WHATSAPP_TEMPLATE_CANCELLATION"),
            "{text}"
        );

        let err = Settings::from_sources(None, vars(&[("BAZAAR_MSG91_WHATSAPP_NUMBER", "abc")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BAZAAR_MSG91_WHATSAPP_NUMBER"), "{err}");
    }
}
