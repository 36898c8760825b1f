//! Delivering what Bazaar sends: OTPs by SMS (MSG91) and email (SendGrid) for the identity
//! flows, and the outbox's notices (SendGrid dynamic templates, MSG91 flows and MSG91
//! WhatsApp templates, one of each per kind of notice and language, from configuration).
//! Without provider keys outside production, in-process fakes stand in, and
//! [`Notifier::dev_messages`] lets a frontend developer read what they "sent"
//! (`GET /api/v1/dev/messages`).

use std::collections::BTreeMap;
use std::sync::Arc;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::{
    FakeOtpSender, FlowSms, Msg91Client, Msg91Settings, OtpMessage, OtpSender, SmsSender,
};
use bazaar_adapters::msg91_whatsapp::{
    FakeWhatsAppSender, Msg91WhatsAppClient, Msg91WhatsAppSettings, WhatsAppSender,
    WhatsAppTemplate,
};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::sendgrid::{Email, FakeMailer, Mailer, SendGridClient, SendGridSettings};
use serde_json::{Map, Value};

use crate::app::errors::AppError;
use crate::app::outbox::Deliver;
use crate::breaker::Breakers;
use crate::config::Settings;
use crate::domain::outbox::{Localized, NoticeKind, OutboxMessage, PerNotice, Recipient};
use crate::providers::Guarded;

/// A message a fake provider "sent", for the development route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevMessage {
    pub channel: &'static str,
    pub to: String,
    /// The OTP code, for SMS.
    pub code: Option<String>,
    pub purpose: String,
    /// Template data (email), flow variables (notice SMS), or the WhatsApp template's name,
    /// language and body parameters, as JSON text.
    pub data: Option<String>,
}

/// The fakes that stand in for the providers, whose messages the development route lists.
struct Fakes {
    sms: Arc<FakeOtpSender>,
    mail: Arc<FakeMailer>,
    whatsapp: Arc<FakeWhatsAppSender>,
}

/// MSG91, which carries both OTPs and flow SMS.
trait Sms: OtpSender + SmsSender {}
impl<T: OtpSender + SmsSender> Sms for T {}

pub struct Notifier {
    sms: Arc<dyn Sms>,
    mail: Arc<dyn Mailer>,
    /// `None`: WhatsApp is not offered (a real MSG91 without a WhatsApp number).
    whatsapp: Option<Arc<dyn WhatsAppSender>>,
    fakes: Option<Fakes>,
    verify_email_template: String,
    password_reset_template: String,
    email_changed_template: String,
    notice_templates: PerNotice<Localized>,
    notice_flows: PerNotice<Localized>,
    whatsapp_templates: PerNotice<Localized>,
    public_url: String,
}

impl Notifier {
    /// Real providers where keys are configured, each behind its circuit
    /// breaker from `breakers`; fakes otherwise.
    pub fn from_settings(settings: &Settings, breakers: &Breakers) -> anyhow::Result<Self> {
        let retry = RetryPolicy::default();
        let fake_sms = Arc::new(FakeOtpSender::new());
        let fake_mail = Arc::new(FakeMailer::new());
        let fake_whatsapp = Arc::new(FakeWhatsAppSender::new());
        let (sms, sms_fake): (Arc<dyn Sms>, bool) = match &settings.providers.msg91.account {
            Some(m) => (
                Arc::new(Guarded::new(
                    Arc::new(Msg91Client::new(Msg91Settings {
                        base_url: m.base_url.clone(),
                        authkey: m.authkey.clone(),
                        template_id: m.template_id.clone(),
                        sender: settings.providers.msg91.sender.clone(),
                        otp_expiry_minutes: 5,
                        timeout: settings.providers.timeout,
                        retry: retry.clone(),
                    })?),
                    breakers.breaker("msg91"),
                )),
                false,
            ),
            None => (fake_sms.clone(), true),
        };
        // WhatsApp is MSG91's too: real with the key and a WhatsApp number, not offered with
        // the key alone, the fake without the key.
        let msg91 = &settings.providers.msg91;
        let whatsapp: Option<Arc<dyn WhatsAppSender>> =
            match (&msg91.account, &msg91.whatsapp_number) {
                (Some(m), Some(number)) => Some(Arc::new(Guarded::new(
                    Arc::new(Msg91WhatsAppClient::new(Msg91WhatsAppSettings {
                        base_url: m.base_url.clone(),
                        authkey: m.authkey.clone(),
                        integrated_number: number.clone(),
                        timeout: settings.providers.timeout,
                        retry: retry.clone(),
                    })?),
                    // Its own breaker: a WhatsApp outage must not stop OTPs by SMS.
                    breakers.breaker("msg91_whatsapp"),
                ))),
                (Some(_), None) => None,
                (None, _) => Some(fake_whatsapp.clone()),
            };
        let (mail, mail_fake): (Arc<dyn Mailer>, bool) = match &settings.providers.sendgrid.account
        {
            Some(s) => (
                Arc::new(Guarded::new(
                    Arc::new(SendGridClient::new(SendGridSettings {
                        base_url: s.base_url.clone(),
                        api_key: s.api_key.clone(),
                        from_email: settings.providers.sendgrid.from_email.clone(),
                        from_name: settings.providers.sendgrid.from_name.clone(),
                        sandbox: false,
                        timeout: settings.providers.timeout,
                        retry,
                    })?),
                    breakers.breaker("sendgrid"),
                )),
                false,
            ),
            None => (fake_mail.clone(), true),
        };
        let production = settings.env == crate::config::Environment::Production;
        let fakes = (!production && (sms_fake || mail_fake)).then_some(Fakes {
            sms: fake_sms,
            mail: fake_mail,
            whatsapp: fake_whatsapp,
        });
        Ok(Self::assemble(settings, sms, mail, whatsapp, fakes))
    }

    /// On the given fakes whatever the settings say, for tests that make them fail
    /// (WhatsApp on a fake of its own; see [`with_whatsapp`](Self::with_whatsapp)).
    pub fn with_fakes(settings: &Settings, sms: Arc<FakeOtpSender>, mail: Arc<FakeMailer>) -> Self {
        let whatsapp = Arc::new(FakeWhatsAppSender::new());
        let fakes = Fakes {
            sms: sms.clone(),
            mail: mail.clone(),
            whatsapp: whatsapp.clone(),
        };
        Self::assemble(settings, sms, mail, Some(whatsapp), Some(fakes))
    }

    /// The same notifier sending WhatsApp through `fake` (tests that make it fail).
    pub fn with_whatsapp(self, fake: Arc<FakeWhatsAppSender>) -> Self {
        Self {
            whatsapp: Some(fake.clone()),
            fakes: self.fakes.map(|f| Fakes {
                whatsapp: fake,
                ..f
            }),
            ..self
        }
    }

    fn assemble(
        settings: &Settings,
        sms: Arc<dyn Sms>,
        mail: Arc<dyn Mailer>,
        whatsapp: Option<Arc<dyn WhatsAppSender>>,
        fakes: Option<Fakes>,
    ) -> Self {
        Self {
            sms,
            mail,
            whatsapp,
            fakes,
            verify_email_template: settings.providers.sendgrid.template_verify_email.clone(),
            password_reset_template: settings.providers.sendgrid.template_password_reset.clone(),
            email_changed_template: settings.providers.sendgrid.template_email_changed.clone(),
            notice_templates: settings.providers.sendgrid.notice_templates.clone(),
            notice_flows: settings.providers.msg91.notice_flows.clone(),
            whatsapp_templates: settings.providers.msg91.whatsapp_templates.clone(),
            public_url: settings.providers.public_url.clone(),
        }
    }

    /// Whether notices may be written for WhatsApp: false with a real MSG91 that has no
    /// WhatsApp number.
    pub fn sends_whatsapp(&self) -> bool {
        self.whatsapp.is_some()
    }

    pub async fn send_otp(&self, phone: &str, code: &str, purpose: &str) -> Result<(), AppError> {
        let message = OtpMessage {
            phone: phone.to_owned(),
            code: code.to_owned(),
            purpose: purpose.to_owned(),
        };
        self.sms
            .send_otp(&message)
            .await
            .map(drop)
            .map_err(AppError::delivery)
    }

    /// Asks the SMS provider to read the last code out in a voice call.
    pub async fn retry_by_voice(&self, phone: &str) -> Result<(), AppError> {
        self.sms
            .retry_by_voice(phone)
            .await
            .map_err(AppError::delivery)
    }

    pub async fn send_email_verification(
        &self,
        to: &str,
        name: &str,
        token: &str,
    ) -> Result<(), AppError> {
        let link = format!("{}/verify-email?token={token}", self.public_url);
        let email = Email {
            to_email: to.to_owned(),
            to_name: Some(name.to_owned()),
            template_id: self.verify_email_template.clone(),
            data: serde_json::json!({ "name": name, "link": link, "token": token }),
        };
        self.mail
            .send(&email)
            .await
            .map(drop)
            .map_err(AppError::delivery)
    }

    /// The link of a password reset token, as the email carries it.
    pub fn password_reset_link(&self, token: &str) -> String {
        format!("{}/reset-password?token={token}", self.public_url)
    }

    /// The email template of `kind` in `language`: an account notice's own, else the
    /// order notice's for the language (English where it has none).
    fn email_template(&self, kind: NoticeKind, language: &str) -> String {
        match kind {
            NoticeKind::PasswordReset => self.password_reset_template.clone(),
            NoticeKind::EmailChanged => self.email_changed_template.clone(),
            kind => self
                .notice_templates
                .get(kind)
                .map(|t| t.get(language).1.to_owned())
                .unwrap_or_default(),
        }
    }

    /// What the fakes sent, newest last; `None` when real providers are in use
    /// or in production.
    pub fn dev_messages(&self) -> Option<Vec<DevMessage>> {
        let Fakes {
            sms,
            mail,
            whatsapp,
        } = self.fakes.as_ref()?;
        let mut messages: Vec<DevMessage> = sms
            .sent()
            .into_iter()
            .map(|m| DevMessage {
                channel: "sms",
                to: m.phone,
                code: Some(m.code),
                purpose: m.purpose,
                data: None,
            })
            .collect();
        messages.extend(sms.voice_retries().into_iter().map(|phone| DevMessage {
            channel: "voice",
            to: phone,
            code: None,
            purpose: "voice_retry".into(),
            data: None,
        }));
        messages.extend(sms.sent_flows().into_iter().map(|f| DevMessage {
            channel: "sms",
            purpose: notice_named(&self.notice_flows, &f.flow_id),
            data: serde_json::to_string(&f.variables).ok(),
            to: f.phone,
            code: None,
        }));
        messages.extend(mail.sent().into_iter().map(|e| DevMessage {
            channel: "email",
            purpose: if e.template_id == self.verify_email_template {
                "verify_email".into()
            } else if e.template_id == self.password_reset_template {
                NoticeKind::PasswordReset.as_str().into()
            } else if e.template_id == self.email_changed_template {
                NoticeKind::EmailChanged.as_str().into()
            } else {
                notice_named(&self.notice_templates, &e.template_id)
            },
            to: e.to_email,
            code: None,
            data: Some(e.data.to_string()),
        }));
        messages.extend(whatsapp.sent().into_iter().map(|w| {
            DevMessage {
                channel: "whatsapp",
                purpose: notice_named(&self.whatsapp_templates, &w.template),
                data: Some(
                    serde_json::json!({
                        "template": w.template,
                        "language": w.language,
                        "body": w.body,
                    })
                    .to_string(),
                ),
                to: w.phone,
                code: None,
            }
        }));
        Some(messages)
    }
}

/// The kind of notice whose template or flow is `id` (in any language), by name.
fn notice_named(ids: &PerNotice<Localized>, id: &str) -> String {
    NoticeKind::ORDER
        .into_iter()
        .find(|kind| ids.get(*kind).is_some_and(|l| l.contains(id)))
        .map_or("notice", NoticeKind::as_str)
        .to_owned()
}

/// The customer's language recorded in a notice's data when it was written (`en` if none).
fn language_of(message: &OutboxMessage) -> &str {
    message
        .data
        .get("language")
        .and_then(Value::as_str)
        .unwrap_or(Localized::FALLBACK)
}

/// Notices go out as the kind's SendGrid template with the message's data, as the kind's
/// MSG91 flow with the data's scalar values as flow variables, or as the kind's WhatsApp
/// template with positional body parameters; each in the customer's language where one is
/// configured, else in English.
#[async_trait::async_trait]
impl Deliver for Notifier {
    async fn deliver(&self, message: &OutboxMessage) -> Result<String, AdapterError> {
        let language = language_of(message);
        match &message.recipient {
            Recipient::Email(to) => {
                let email = Email {
                    to_email: to.as_str().to_owned(),
                    to_name: None,
                    template_id: self.email_template(message.kind, language),
                    data: Value::Object(message.data.clone()),
                };
                self.mail.send(&email).await
            }
            Recipient::Sms(to) => {
                let Some(flows) = self.notice_flows.get(message.kind) else {
                    return Err(by_email_only(message.kind));
                };
                let sms = FlowSms {
                    phone: to.as_str().to_owned(),
                    flow_id: flows.get(language).1.into(),
                    variables: flow_variables(&message.data),
                };
                self.sms.send_flow(&sms).await
            }
            Recipient::Whatsapp(to) => {
                // Written while WhatsApp was offered; configuration changed since. Rejected,
                // so the worker's record says why; it is tried again like any failure.
                let Some(whatsapp) = &self.whatsapp else {
                    return Err(AdapterError::Rejected {
                        provider: "msg91",
                        status: 0,
                        message: "WhatsApp is not configured (BAZAAR_MSG91_WHATSAPP_NUMBER)".into(),
                    });
                };
                let Some(templates) = self.whatsapp_templates.get(message.kind) else {
                    return Err(by_email_only(message.kind));
                };
                let (language, configured) = templates.get(language);
                let (template, code) = configured.split_once(':').unwrap_or((configured, language));
                let template = WhatsAppTemplate {
                    phone: to.as_str().to_owned(),
                    template: template.to_owned(),
                    language: code.to_owned(),
                    body: whatsapp_body(message.kind, &message.data),
                };
                whatsapp.send_template(&template).await
            }
        }
    }
}

/// An account notice addressed to a phone: never written so, refused (and recorded as
/// such) should one be.
fn by_email_only(kind: NoticeKind) -> AdapterError {
    AdapterError::Rejected {
        provider: "bazaar",
        status: 0,
        message: format!("{} notices go by email only", kind.as_str()),
    }
}

/// A WhatsApp template's body parameters are positional: `{{1}}` the customer's name,
/// `{{2}}` the order id, `{{3}}` the amount in rupees (the amount refunded so far for a
/// refund, else the order's total). Templates approved by Meta are written to this order.
fn whatsapp_body(kind: NoticeKind, data: &Map<String, Value>) -> Vec<String> {
    let text = |key: &str| match data.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let amount_key = if kind == NoticeKind::Refund {
        "refunded"
    } else {
        "total"
    };
    let paise = data.get(amount_key).and_then(Value::as_i64).unwrap_or(0);
    let currency = data
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or("INR");
    vec![text("name"), text("order_id"), amount(paise, currency)]
}

/// `₹1234.50` for INR paise; `1234.50 USD` for other currencies (minor units of 1/100).
fn amount(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let (major, cents) = (minor.unsigned_abs() / 100, minor.unsigned_abs() % 100);
    if currency == "INR" {
        format!("{sign}₹{major}.{cents:02}")
    } else {
        format!("{sign}{major}.{cents:02} {currency}")
    }
}

/// MSG91 flow variables are text: strings as they are, numbers and booleans written out;
/// nested values and nulls have no place in an SMS template and are left out.
fn flow_variables(data: &Map<String, Value>) -> BTreeMap<String, String> {
    data.iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_variables_are_the_scalar_values_as_text() {
        let data = serde_json::json!({
            "order_id": "o1", "total_paise": 49900, "paid": true,
            "items": [1, 2], "address": { "city": "Pune" }, "note": null,
        });
        let variables = flow_variables(data.as_object().unwrap());
        let expected: BTreeMap<String, String> = [
            ("order_id", "o1"),
            ("paid", "true"),
            ("total_paise", "49900"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(variables, expected);
    }

    #[test]
    fn whatsapp_bodies_are_name_order_and_amount_in_rupees() {
        let data = serde_json::json!({
            "order_id": "o1", "name": "Asha", "total": 49_950, "refunded": 1_000,
            "currency": "INR", "language": "hi",
        });
        let data = data.as_object().unwrap();
        assert_eq!(
            whatsapp_body(NoticeKind::OrderConfirmation, data),
            ["Asha", "o1", "₹499.50"]
        );
        assert_eq!(whatsapp_body(NoticeKind::Refund, data)[2], "₹10.00");
        assert_eq!(amount(5, "USD"), "0.05 USD");
    }
}
