//! Delivering what Bazaar sends: OTPs by SMS (MSG91) and email (SendGrid) for the identity
//! flows, and the outbox's notices (SendGrid dynamic templates and MSG91 flows, one of each
//! per kind of notice, from configuration). Without provider keys outside production,
//! in-process fakes stand in, and [`Notifier::dev_messages`] lets a frontend developer read
//! what they "sent" (`GET /api/v1/dev/messages`).

use std::collections::BTreeMap;
use std::sync::Arc;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::{
    FakeOtpSender, FlowSms, Msg91Client, Msg91Settings, OtpMessage, OtpSender, SmsSender,
};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::sendgrid::{Email, FakeMailer, Mailer, SendGridClient, SendGridSettings};
use serde_json::{Map, Value};

use crate::app::errors::AppError;
use crate::app::outbox::Deliver;
use crate::breaker::Breakers;
use crate::config::Settings;
use crate::domain::outbox::{NoticeKind, OutboxMessage, PerNotice, Recipient};
use crate::providers::Guarded;

/// A message a fake provider "sent", for the development route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevMessage {
    pub channel: &'static str,
    pub to: String,
    /// The OTP code, for SMS.
    pub code: Option<String>,
    pub purpose: String,
    /// Template data (email) or flow variables (notice SMS), as JSON text.
    pub data: Option<String>,
}

/// MSG91, which carries both OTPs and flow SMS.
trait Sms: OtpSender + SmsSender {}
impl<T: OtpSender + SmsSender> Sms for T {}

pub struct Notifier {
    sms: Arc<dyn Sms>,
    mail: Arc<dyn Mailer>,
    fakes: Option<(Arc<FakeOtpSender>, Arc<FakeMailer>)>,
    verify_email_template: String,
    notice_templates: PerNotice<String>,
    notice_flows: PerNotice<String>,
    public_url: String,
}

impl Notifier {
    /// Real providers where keys are configured, each behind its circuit
    /// breaker from `breakers`; fakes otherwise.
    pub fn from_settings(settings: &Settings, breakers: &Breakers) -> anyhow::Result<Self> {
        let retry = RetryPolicy::default();
        let fake_sms = Arc::new(FakeOtpSender::new());
        let fake_mail = Arc::new(FakeMailer::new());
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
        let fakes = (!production && (sms_fake || mail_fake)).then_some((fake_sms, fake_mail));
        Ok(Self::assemble(settings, sms, mail, fakes))
    }

    /// On the given fakes whatever the settings say, for tests that make them fail.
    pub fn with_fakes(settings: &Settings, sms: Arc<FakeOtpSender>, mail: Arc<FakeMailer>) -> Self {
        Self::assemble(settings, sms.clone(), mail.clone(), Some((sms, mail)))
    }

    fn assemble(
        settings: &Settings,
        sms: Arc<dyn Sms>,
        mail: Arc<dyn Mailer>,
        fakes: Option<(Arc<FakeOtpSender>, Arc<FakeMailer>)>,
    ) -> Self {
        Self {
            sms,
            mail,
            fakes,
            verify_email_template: settings.providers.sendgrid.template_verify_email.clone(),
            notice_templates: settings.providers.sendgrid.notice_templates.clone(),
            notice_flows: settings.providers.msg91.notice_flows.clone(),
            public_url: settings.providers.public_url.clone(),
        }
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

    /// What the fakes sent, newest last; `None` when real providers are in use
    /// or in production.
    pub fn dev_messages(&self) -> Option<Vec<DevMessage>> {
        let (sms, mail) = self.fakes.as_ref()?;
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
            } else {
                notice_named(&self.notice_templates, &e.template_id)
            },
            to: e.to_email,
            code: None,
            data: Some(e.data.to_string()),
        }));
        Some(messages)
    }
}

/// The kind of notice whose template or flow is `id`, by name.
fn notice_named(ids: &PerNotice<String>, id: &str) -> String {
    NoticeKind::ALL
        .into_iter()
        .find(|kind| ids.get(*kind) == id)
        .map_or("notice", NoticeKind::as_str)
        .to_owned()
}

/// Notices go out as the kind's SendGrid template with the message's data, or as the kind's
/// MSG91 flow with the data's scalar values as flow variables.
#[async_trait::async_trait]
impl Deliver for Notifier {
    async fn deliver(&self, message: &OutboxMessage) -> Result<String, AdapterError> {
        match &message.recipient {
            Recipient::Email(to) => {
                let email = Email {
                    to_email: to.as_str().to_owned(),
                    to_name: None,
                    template_id: self.notice_templates.get(message.kind).clone(),
                    data: Value::Object(message.data.clone()),
                };
                self.mail.send(&email).await
            }
            Recipient::Sms(to) => {
                let sms = FlowSms {
                    phone: to.as_str().to_owned(),
                    flow_id: self.notice_flows.get(message.kind).clone(),
                    variables: flow_variables(&message.data),
                };
                self.sms.send_flow(&sms).await
            }
        }
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
}
