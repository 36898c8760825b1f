//! MSG91's WhatsApp API: business-initiated messages from templates approved by Meta, sent
//! from the WhatsApp Business number registered with MSG91 (the *integrated number*).
//!
//! Everything about the wire lives here. The request follows MSG91's "send template message"
//! (bulk) endpoint of the API v5, as its public API reference and client code describe it
//! (docs.msg91.com → WhatsApp → "Send Template Message"; see also
//! `shared/contracts/msg91.md`):
//!
//! ```text
//! POST {base}/whatsapp/whatsapp-outbound-message/bulk/
//! authkey: <key>                      Content-Type: application/json
//! {"integrated_number": "91…", "content_type": "template",
//!  "payload": {"messaging_product": "whatsapp", "type": "template",
//!    "template": {"name": "<approved name>",
//!                 "language": {"code": "hi", "policy": "deterministic"},
//!                 "to_and_components": [{"to": ["91…"],
//!                     "components": {"body_1": {"type": "text", "value": "…"}, …}}]}}}
//! ```
//!
//! Numbers are country code and subscriber number without `+`. MSG91's v5 answers carry
//! `status` (`"success"` / `"fail"`), `hasError`, `errors` and usually a `request_id`; some
//! errors come with HTTP 200, so a 2xx counts as sent only when the body does not say
//! otherwise. Template names and languages are configuration: Meta approves each one.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

const PROVIDER: &str = "msg91";

/// The endpoint under the API v5 root.
const SEND_TEMPLATE_PATH: &str = "/whatsapp/whatsapp-outbound-message/bulk/";

/// One WhatsApp message from an approved template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppTemplate {
    /// The recipient in E.164, e.g. `"+919812345678"`.
    pub phone: String,
    /// The template's name as approved by Meta.
    pub template: String,
    /// The language code of the approved translation (`"en"`, `"en_US"`, `"hi"`).
    pub language: String,
    /// The body's positional parameters: `{{1}}`, `{{2}}`, … in the template.
    pub body: Vec<String>,
}

/// Sends WhatsApp messages from approved templates.
#[async_trait::async_trait]
pub trait WhatsAppSender: Send + Sync {
    /// Sends `message`. Returns the provider's id for it (empty if it gave none).
    async fn send_template(&self, message: &WhatsAppTemplate) -> Result<String, AdapterError>;
}

/// What [`Msg91WhatsAppClient`] needs from configuration.
#[derive(Debug, Clone)]
pub struct Msg91WhatsAppSettings {
    /// The API v5 root, `https://control.msg91.com/api/v5` in production (as for SMS).
    pub base_url: String,
    /// The account's auth key, sent in the `authkey` header.
    pub authkey: SecretString,
    /// The WhatsApp Business number registered with MSG91, in E.164 with or without `+`.
    pub integrated_number: String,
    /// Upper bound on one HTTP attempt, connection and response included.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
}

/// Sends WhatsApp template messages through MSG91.
pub struct Msg91WhatsAppClient {
    http: reqwest::Client,
    base_url: String,
    authkey: HeaderValue,
    integrated_number: String,
    retry: RetryPolicy,
}

impl Msg91WhatsAppClient {
    /// Builds the client, failing on a base URL that is not http(s) (`Unavailable`), an auth
    /// key that is empty or cannot be sent as a header (`Unauthorized`), or an integrated
    /// number that is not digits (`Rejected`, status 0: nothing was sent).
    pub fn new(settings: Msg91WhatsAppSettings) -> Result<Self, AdapterError> {
        let integrated_number = without_plus(settings.integrated_number.trim()).to_owned();
        if integrated_number.len() < 8 || !integrated_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AdapterError::Rejected {
                provider: PROVIDER,
                status: 0,
                message: "the integrated WhatsApp number must be a phone number in E.164".into(),
            });
        }
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            base_url: http::base_url(PROVIDER, &settings.base_url)?,
            authkey: http::secret_header(PROVIDER, settings.authkey.expose_secret())?,
            integrated_number,
            retry: settings.retry,
        })
    }
}

impl std::fmt::Debug for Msg91WhatsAppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg91WhatsAppClient")
            .field("base_url", &self.base_url)
            .field("authkey", &"[REDACTED]")
            .field("integrated_number", &self.integrated_number)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl WhatsAppSender for Msg91WhatsAppClient {
    // The body holds the number and the customer's data, so only the template reaches the span.
    #[tracing::instrument(
        name = "msg91.whatsapp.send_template",
        skip_all,
        fields(template = %message.template, language = %message.language, message_id = tracing::field::Empty)
    )]
    async fn send_template(&self, message: &WhatsAppTemplate) -> Result<String, AdapterError> {
        let url = format!("{}{SEND_TEMPLATE_PATH}", self.base_url);
        let body = template_body(&self.integrated_number, message);
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .post(&url)
                    .header("authkey", self.authkey.clone())
                    .json(&body)
            })
            .await?;
        let message_id = accepted(response).await?;
        tracing::Span::current().record("message_id", message_id.as_str());
        tracing::info!("MSG91 accepted the WhatsApp message");
        Ok(message_id)
    }
}

/// The send-template body for one recipient: body parameters become `body_1`, `body_2`, …
pub fn template_body(integrated_number: &str, message: &WhatsAppTemplate) -> Value {
    let components: Map<String, Value> = message
        .body
        .iter()
        .enumerate()
        .map(|(i, value)| {
            (
                format!("body_{}", i + 1),
                json!({ "type": "text", "value": value }),
            )
        })
        .collect();
    json!({
        "integrated_number": without_plus(integrated_number),
        "content_type": "template",
        "payload": {
            "messaging_product": "whatsapp",
            "type": "template",
            "template": {
                "name": message.template,
                "language": { "code": message.language, "policy": "deterministic" },
                "to_and_components": [{
                    "to": [without_plus(&message.phone)],
                    "components": components,
                }],
            },
        },
    })
}

fn without_plus(phone: &str) -> &str {
    phone.strip_prefix('+').unwrap_or(phone)
}

/// The fields of a v5 answer that Bazaar reads; MSG91 adds others over time.
#[derive(Debug, Deserialize)]
struct Reply {
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "hasError")]
    has_error: Option<bool>,
    errors: Option<Value>,
    message: Option<Value>,
    request_id: Option<Value>,
    data: Option<Value>,
}

impl Reply {
    /// Whether the body itself says the request failed, whatever the HTTP status.
    fn failed(&self) -> bool {
        self.has_error == Some(true)
            || matches!(self.status.as_deref(), Some("fail" | "failed" | "error"))
            || self.kind.as_deref() == Some("error")
    }

    fn explanation(self) -> Option<String> {
        [self.errors, self.message, self.data]
            .into_iter()
            .flatten()
            .find(|v| !v.is_null())
            .map(text)
    }
}

/// The provider's id of an accepted message, or the error its answer stands for.
async fn accepted(response: Response) -> Result<String, AdapterError> {
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return Err(AdapterError::Unauthorized { provider: PROVIDER });
    }
    let body = response
        .text()
        .await
        .map_err(|error| AdapterError::Unavailable {
            provider: PROVIDER,
            message: format!("could not read the response: {}", error.without_url()),
        })?;
    let reply = serde_json::from_str::<Reply>(&body);
    if !status.is_success() {
        return Err(AdapterError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message: reply
                .ok()
                .and_then(Reply::explanation)
                .unwrap_or_else(|| format!("HTTP {status}: {}", http::excerpt(&body, 200))),
        });
    }
    let reply = reply.map_err(|_| AdapterError::Unavailable {
        provider: PROVIDER,
        message: format!(
            "unexpected response to HTTP {status}: {}",
            http::excerpt(&body, 200)
        ),
    })?;
    if reply.failed() {
        return Err(AdapterError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message: reply
                .explanation()
                .unwrap_or_else(|| "MSG91 did not report success".to_owned()),
        });
    }
    Ok(reply.request_id.map(text).unwrap_or_default())
}

/// MSG91's fields are usually strings but not always; keep whatever it said.
fn text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// An in-memory [`WhatsAppSender`] for tests and local runs: it records every message it
/// accepts and fails when told to. Like MSG91, it refuses a message without a template name
/// or language code.
#[derive(Debug, Default)]
pub struct FakeWhatsAppSender {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    sent: Vec<WhatsAppTemplate>,
    failures: std::collections::VecDeque<AdapterError>,
}

impl FakeWhatsAppSender {
    /// A fake that has sent nothing and will not fail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent successfully so far, oldest first.
    pub fn sent(&self) -> Vec<WhatsAppTemplate> {
        self.state().sent.clone()
    }

    /// Makes the next send return `error` and record nothing. Failures queue up.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().failures.push_back(error);
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl WhatsAppSender for FakeWhatsAppSender {
    async fn send_template(&self, message: &WhatsAppTemplate) -> Result<String, AdapterError> {
        let mut state = self.state();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        if message.template.trim().is_empty() || message.language.trim().is_empty() {
            return Err(AdapterError::Rejected {
                provider: PROVIDER,
                status: 200,
                message: "template name and language code are required".to_owned(),
            });
        }
        state.sent.push(message.clone());
        Ok(format!("fake-whatsapp-{}", state.sent.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_is_read_from_the_body_whatever_field_says_it() {
        let read = |v: Value| serde_json::from_value::<Reply>(v).unwrap().failed();
        assert!(read(
            json!({"status": "fail", "errors": "Template not found"})
        ));
        assert!(read(json!({"hasError": true})));
        assert!(read(json!({"type": "error", "message": "x"})));
        assert!(!read(
            json!({"status": "success", "hasError": false, "request_id": "r"})
        ));
    }
}
