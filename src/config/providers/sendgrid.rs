//! SendGrid, which sends email: verification links and notices (`BAZAAR_SENDGRID_*`).

use secrecy::SecretString;

use crate::domain::outbox::{Localized, PerNotice};

use super::super::parser::Parser;
use super::super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct SendGridConfig {
    /// The real SendGrid; `None` means the fake (outside production only).
    pub account: Option<SendGridAccount>,
    pub from_email: String,
    pub from_name: String,
    pub template_verify_email: String,
    /// The password-reset link's template (an outbox notice, `password_reset`).
    pub template_password_reset: String,
    /// The notice to an old address that the account's email changed (`email_changed`).
    pub template_email_changed: String,
    /// The SendGrid dynamic template of each kind of notice, per language.
    pub notice_templates: PerNotice<Localized>,
}

/// What calling the real SendGrid takes.
#[derive(Debug, Clone)]
pub struct SendGridAccount {
    pub api_key: SecretString,
    pub base_url: String,
}

impl SendGridConfig {
    pub(in crate::config) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "sendgrid_api_key",
            default: None,
            secret: true,
            help: "SendGrid API key. Unset outside production: a fake records email. Required in \
                production.",
        },
        SettingSpec {
            key: "sendgrid_base_url",
            default: Some("https://api.sendgrid.com"),
            secret: false,
            help: "SendGrid API base URL (`https://api.eu.sendgrid.com` for EU data residency).",
        },
        SettingSpec {
            key: "sendgrid_from_email",
            default: Some("no-reply@bazaar.local"),
            secret: false,
            help: "Sender address.",
        },
        SettingSpec {
            key: "sendgrid_from_name",
            default: Some("Bazaar"),
            secret: false,
            help: "Sender name.",
        },
        SettingSpec {
            key: "sendgrid_template_verify_email",
            default: Some("d-verify-email"),
            secret: false,
            help: "Dynamic template of the email-verification message; it receives `name`, `link` \
                and `token`.",
        },
        SettingSpec {
            key: "sendgrid_template_password_reset",
            default: Some("d-password-reset"),
            secret: false,
            help: "Dynamic template of the password-reset message (sent through the outbox); it \
                receives `name`, `link` (`{public_url}/reset-password?token=…`, single use, valid \
                30 minutes), `token` and `expires_in_minutes`.",
        },
        SettingSpec {
            key: "sendgrid_template_email_changed",
            default: Some("d-email-changed"),
            secret: false,
            help: "Dynamic template of the notice to an account's previous address that its email \
                was replaced (sent through the outbox); it receives `name`, `new_email` (masked) \
                and `changed_at`, and no link: it tells the reader to contact support or sign in \
                by phone if the change was not theirs.",
        },
        SettingSpec {
            key: "sendgrid_template_order_confirmation",
            default: Some("d-order-confirmation"),
            secret: false,
            help:
                "Dynamic template of the order-confirmation email; it receives the notice's data \
                (order id, amounts in paise, `language`, …). One id, or one per language: \
                `en=d-…,hi=d-…` (`en` required; a language without its own gets English's).",
        },
        SettingSpec {
            key: "sendgrid_template_payment_receipt",
            default: Some("d-payment-receipt"),
            secret: false,
            help: "Dynamic template of the payment-receipt email.",
        },
        SettingSpec {
            key: "sendgrid_template_refund",
            default: Some("d-refund"),
            secret: false,
            help: "Dynamic template of the refund email.",
        },
        SettingSpec {
            key: "sendgrid_template_cancellation",
            default: Some("d-cancellation"),
            secret: false,
            help: "Dynamic template of the cancellation email.",
        },
        SettingSpec {
            key: "sendgrid_template_order_packed",
            default: Some("d-order-packed"),
            secret: false,
            help: "Dynamic template of the order-packed notice email.",
        },
        SettingSpec {
            key: "sendgrid_template_order_shipped",
            default: Some("d-order-shipped"),
            secret: false,
            help: "Dynamic template of the order-shipped notice (its data adds `carrier` and `tracking_number`) email.",
        },
        SettingSpec {
            key: "sendgrid_template_order_delivered",
            default: Some("d-order-delivered"),
            secret: false,
            help: "Dynamic template of the order-delivered notice email.",
        },
        SettingSpec {
            key: "sendgrid_template_return_requested",
            default: Some("d-return-requested"),
            secret: false,
            help: "Dynamic template of the return-request acknowledgement email.",
        },
        SettingSpec {
            key: "sendgrid_template_return_received",
            default: Some("d-return-received"),
            secret: false,
            help: "Dynamic template of the returned-goods-received notice email.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let base_url = p.string("sendgrid_base_url");
        let account = p.raw("sendgrid_api_key").map(|key| SendGridAccount {
            api_key: SecretString::from(key.to_owned()),
            base_url: base_url.clone(),
        });
        if !base_url.starts_with("http://") && !base_url.starts_with("https://") {
            p.fail("sendgrid_base_url", "must be an http(s) URL".into());
        }
        let from_email = p.string("sendgrid_from_email");
        let from_name = p.string("sendgrid_from_name");
        let template_verify_email = p.string("sendgrid_template_verify_email");
        let template_password_reset = p.string("sendgrid_template_password_reset");
        let template_email_changed = p.string("sendgrid_template_email_changed");
        // Like MSG91's flows: the placeholders only mean something to the fake.
        let real_sendgrid = account.is_some();
        let notice_templates = PerNotice::from_fn(|kind| {
            let key = format!("sendgrid_template_{}", kind.as_str());
            if real_sendgrid && p.is_default(&key) {
                p.fail(&key, "is required with BAZAAR_SENDGRID_API_KEY".into());
            }
            p.localized(&key)
        });
        Self {
            account,
            from_email,
            from_name,
            template_verify_email,
            template_password_reset,
            template_email_changed,
            notice_templates,
        }
    }
}
