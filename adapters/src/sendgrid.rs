//! SendGrid: transactional email through the v3 Mail Send API and dynamic templates.
//!
//! Bazaar keeps every email's wording in SendGrid dynamic templates (`d-...`) and sends only
//! the recipient and the template's data. This module owns the request body, SendGrid's
//! success signal (202, or 200 in sandbox mode, with the id in `X-Message-Id`) and its error
//! body (`{"errors":[{"message","field","help"}]}`).
//!
//! [`Mailer`] is the port; [`SendGridClient`] talks to SendGrid; [`FakeMailer`] records
//! emails in memory for tests and local runs.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

const PROVIDER: &str = "sendgrid";

/// One templated email to one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// The recipient's address.
    pub to_email: String,
    /// The recipient's display name, when known.
    pub to_name: Option<String>,
    /// The SendGrid dynamic template, `"d-..."`.
    pub template_id: String,
    /// The template's `dynamic_template_data`: a JSON object, or `null` for none.
    pub data: serde_json::Value,
}

/// Sends transactional email.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Returns SendGrid's X-Message-Id.
    async fn send(&self, email: &Email) -> Result<String, AdapterError>;
}

/// What [`SendGridClient`] needs from configuration.
#[derive(Debug, Clone)]
pub struct SendGridSettings {
    /// The API root: `https://api.sendgrid.com` (EU accounts: `https://api.eu.sendgrid.com`).
    pub base_url: String,
    /// An API key with the Mail Send permission.
    pub api_key: SecretString,
    /// The sender; must be a verified Sender Identity or on an authenticated domain.
    pub from_email: String,
    /// The sender's display name; empty for none.
    pub from_name: String,
    /// Ask SendGrid to validate but not deliver (its sandbox mode).
    pub sandbox: bool,
    /// Upper bound on one HTTP attempt, connection and response included.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
}

/// Sends email through SendGrid's v3 Mail Send API.
pub struct SendGridClient {
    http: reqwest::Client,
    mail_send_url: String,
    authorization: HeaderValue,
    from_email: String,
    from_name: String,
    sandbox: bool,
    retry: RetryPolicy,
}

impl SendGridClient {
    /// Builds the client, failing on a base URL that is not http(s) (`Unavailable`) or an
    /// API key that is empty or cannot be sent as a header (`Unauthorized`).
    pub fn new(settings: SendGridSettings) -> Result<Self, AdapterError> {
        let base_url = http::base_url(PROVIDER, &settings.base_url)?;
        // Checked before adding the scheme, which would make an empty key look present.
        if settings.api_key.expose_secret().trim().is_empty() {
            return Err(AdapterError::Unauthorized { provider: PROVIDER });
        }
        let bearer = format!("Bearer {}", settings.api_key.expose_secret());
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            mail_send_url: format!("{base_url}/v3/mail/send"),
            authorization: http::secret_header(PROVIDER, &bearer)?,
            from_email: settings.from_email,
            from_name: settings.from_name,
            sandbox: settings.sandbox,
            retry: settings.retry,
        })
    }

    fn mail_send_body<'a>(&'a self, email: &'a Email) -> MailSend<'a> {
        MailSend {
            personalizations: [Personalization {
                to: [Address {
                    email: &email.to_email,
                    name: email.to_name.as_deref(),
                }],
                dynamic_template_data: (!email.data.is_null()).then_some(&email.data),
            }],
            from: Address {
                email: &self.from_email,
                name: Some(self.from_name.as_str()).filter(|name| !name.is_empty()),
            },
            template_id: &email.template_id,
            mail_settings: self.sandbox.then_some(MailSettings {
                sandbox_mode: Switch { enable: true },
            }),
        }
    }
}

impl std::fmt::Debug for SendGridClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGridClient")
            .field("mail_send_url", &self.mail_send_url)
            .field("api_key", &"[REDACTED]")
            .field("from_email", &self.from_email)
            .field("from_name", &self.from_name)
            .field("sandbox", &self.sandbox)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Mailer for SendGridClient {
    #[tracing::instrument(
        name = "sendgrid.send",
        skip_all,
        fields(
            template_id = %email.template_id,
            sandbox = self.sandbox,
            message_id = tracing::field::Empty,
        )
    )]
    async fn send(&self, email: &Email) -> Result<String, AdapterError> {
        let body = self.mail_send_body(email);
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .post(&self.mail_send_url)
                    .header(AUTHORIZATION, self.authorization.clone())
                    .json(&body)
            })
            .await?;

        let status = response.status();
        if status.is_success() {
            let message_id = response
                .headers()
                .get("x-message-id")
                .and_then(|id| id.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if message_id.is_empty() {
                tracing::warn!(%status, "SendGrid accepted the email without an X-Message-Id");
            }
            tracing::Span::current().record("message_id", message_id.as_str());
            tracing::info!("SendGrid accepted the email");
            return Ok(message_id);
        }

        // An unreadable body only costs us the explanation, not the verdict.
        let body = response.text().await.unwrap_or_default();
        let message = error_message(status, &body);
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            // SendGrid also answers 403 for an unverified sender, which only the message tells
            // apart from a bad key; the message never echoes the key.
            tracing::warn!(%status, reason = %message, "SendGrid refused our credentials");
            return Err(AdapterError::Unauthorized { provider: PROVIDER });
        }
        Err(AdapterError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message,
        })
    }
}

#[derive(Serialize)]
struct MailSend<'a> {
    personalizations: [Personalization<'a>; 1],
    from: Address<'a>,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mail_settings: Option<MailSettings>,
}

#[derive(Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_template_data: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct MailSettings {
    sandbox_mode: Switch,
}

#[derive(Serialize)]
struct Switch {
    enable: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    message: Option<String>,
    field: Option<String>,
}

/// SendGrid's errors as `field: message` pairs joined by `; `, or the status and the start of
/// the body when it is not SendGrid's error shape.
fn error_message(status: StatusCode, body: &str) -> String {
    let described: Vec<String> = serde_json::from_str::<ErrorBody>(body)
        .map(|parsed| parsed.errors)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| {
            let message = item.message.unwrap_or_default();
            match item.field.filter(|field| !field.is_empty()) {
                Some(field) => Some(format!("{field}: {message}")),
                None => Some(message).filter(|message| !message.is_empty()),
            }
        })
        .collect();
    if !described.is_empty() {
        return described.join("; ");
    }
    let excerpt = http::excerpt(body, 200);
    if excerpt.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {excerpt}")
    }
}

/// An in-memory [`Mailer`] for tests and local runs: it records every email it accepts and
/// fails when told to.
///
/// Like SendGrid, it rejects what SendGrid would refuse outright: a template id that is not a
/// dynamic template (`d-...`), template data that is not an object, and a recipient with no
/// `@`.
#[derive(Debug, Default)]
pub struct FakeMailer {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    sent: Vec<Email>,
    failures: VecDeque<AdapterError>,
}

impl FakeMailer {
    /// A fake that has sent nothing and will not fail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email sent successfully so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.state().sent.clone()
    }

    /// Makes the next `send` return `error` and record nothing. Failures queue up: told
    /// twice, the next two sends fail.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().failures.push_back(error);
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Mailer for FakeMailer {
    async fn send(&self, email: &Email) -> Result<String, AdapterError> {
        let mut state = self.state();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        let rejected = |field: &str, message: &str| AdapterError::Rejected {
            provider: PROVIDER,
            status: 400,
            message: format!("{field}: {message}"),
        };
        if !email.template_id.starts_with("d-") {
            return Err(rejected(
                "template_id",
                "must be a dynamic template id (d-...)",
            ));
        }
        if !(email.data.is_object() || email.data.is_null()) {
            return Err(rejected(
                "personalizations.0.dynamic_template_data",
                "must be an object",
            ));
        }
        if !email.to_email.contains('@') {
            return Err(rejected(
                "personalizations.0.to.0.email",
                "Does not contain a valid address.",
            ));
        }
        state.sent.push(email.clone());
        Ok(format!("fake-message-{}", state.sent.len()))
    }
}
