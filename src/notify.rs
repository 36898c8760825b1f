//! Delivering what the identity flows send: OTPs by SMS (MSG91) and email
//! (SendGrid). Without provider keys outside production, in-process fakes stand
//! in, and [`Notifier::dev_messages`] lets a frontend developer read what they
//! "sent" (`GET /api/v1/dev/messages`).

use std::sync::Arc;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::{FakeOtpSender, Msg91Client, Msg91Settings, OtpMessage, OtpSender};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::sendgrid::{Email, FakeMailer, Mailer, SendGridClient, SendGridSettings};

use crate::config::Settings;
use crate::errors::{AppError, ErrorCode};

/// A message a fake provider "sent", for the development route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevMessage {
    pub channel: &'static str,
    pub to: String,
    /// The OTP code, for SMS.
    pub code: Option<String>,
    pub purpose: String,
    /// Template data, for email (as JSON text).
    pub data: Option<String>,
}

pub struct Notifier {
    sms: Arc<dyn OtpSender>,
    mail: Arc<dyn Mailer>,
    fakes: Option<(Arc<FakeOtpSender>, Arc<FakeMailer>)>,
    verify_email_template: String,
    public_url: String,
}

fn delivery_failed(e: AdapterError) -> AppError {
    let retry = matches!(
        e,
        AdapterError::Unavailable { .. } | AdapterError::RateLimited { .. }
    );
    let error = AppError {
        source: Some(anyhow::Error::new(e)),
        ..AppError::new(
            ErrorCode::DeliveryFailed,
            "the message could not be sent; retry shortly",
        )
    };
    if retry {
        error.with_retry_after(5)
    } else {
        error
    }
}

impl Notifier {
    /// Real providers where keys are configured, fakes otherwise.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let retry = RetryPolicy::default();
        let fake_sms = Arc::new(FakeOtpSender::new());
        let fake_mail = Arc::new(FakeMailer::new());
        let (sms, sms_fake): (Arc<dyn OtpSender>, bool) = match &settings.msg91 {
            Some(m) => (
                Arc::new(Msg91Client::new(Msg91Settings {
                    base_url: m.base_url.clone(),
                    authkey: m.authkey.clone(),
                    template_id: m.template_id.clone(),
                    otp_expiry_minutes: 5,
                    timeout: settings.provider_timeout,
                    retry: retry.clone(),
                })?),
                false,
            ),
            None => (fake_sms.clone(), true),
        };
        let (mail, mail_fake): (Arc<dyn Mailer>, bool) = match &settings.sendgrid {
            Some(s) => (
                Arc::new(SendGridClient::new(SendGridSettings {
                    base_url: s.base_url.clone(),
                    api_key: s.api_key.clone(),
                    from_email: settings.sendgrid_from_email.clone(),
                    from_name: settings.sendgrid_from_name.clone(),
                    sandbox: false,
                    timeout: settings.provider_timeout,
                    retry,
                })?),
                false,
            ),
            None => (fake_mail.clone(), true),
        };
        let production = settings.env == crate::config::Environment::Production;
        Ok(Self {
            sms,
            mail,
            fakes: (!production && (sms_fake || mail_fake)).then_some((fake_sms, fake_mail)),
            verify_email_template: settings.sendgrid_template_verify_email.clone(),
            public_url: settings.public_url.clone(),
        })
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
            .map_err(delivery_failed)
    }

    /// Asks the SMS provider to read the last code out in a voice call.
    pub async fn retry_by_voice(&self, phone: &str) -> Result<(), AppError> {
        self.sms
            .retry_by_voice(phone)
            .await
            .map_err(delivery_failed)
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
            .map_err(delivery_failed)
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
        messages.extend(mail.sent().into_iter().map(|e| DevMessage {
            channel: "email",
            to: e.to_email,
            code: None,
            purpose: "verify_email".into(),
            data: Some(e.data.to_string()),
        }));
        Some(messages)
    }
}
