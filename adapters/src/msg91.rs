//! MSG91: OTP delivery by SMS, re-delivery by voice call, and transactional SMS from
//! DLT-registered templates ("flows"), through the API v5.
//!
//! Bazaar generates and verifies its own codes; MSG91 only carries them. This module owns
//! everything MSG91-specific: how the number is written, where the code goes (the query
//! string), the flow body, and how success is told apart from failure. MSG91 reports most
//! errors as HTTP 200 with `{"type":"error"}`, so only `type == "success"` counts as delivered.
//!
//! [`OtpSender`] and [`SmsSender`] are the ports; [`Msg91Client`] talks to MSG91;
//! [`FakeOtpSender`] records messages in memory for tests and local runs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::AdapterError;
use crate::http;
use crate::retry::RetryPolicy;

const PROVIDER: &str = "msg91";

/// One OTP to deliver: Bazaar generates the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpMessage {
    /// The recipient in E.164, e.g. `"+919812345678"`.
    pub phone: String,
    /// The code to deliver, exactly as the user will type it.
    pub code: String,
    /// Why the code was issued (e.g. `"login"`); used for tracing, never sent to MSG91.
    pub purpose: String,
}

/// Delivers one-time passwords to phones.
#[async_trait::async_trait]
pub trait OtpSender: Send + Sync {
    /// Sends `message.code` by SMS. Returns the provider's request id.
    async fn send_otp(&self, message: &OtpMessage) -> Result<String, AdapterError>;

    /// Asks the provider to re-deliver the last OTP to `phone` by voice call.
    async fn retry_by_voice(&self, phone: &str) -> Result<(), AdapterError>;
}

/// One transactional SMS: a flow (MSG91's name for a DLT-registered template) and the values
/// of its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSms {
    /// The recipient in E.164, e.g. `"+919812345678"`.
    pub phone: String,
    /// The flow to send; configuration, since India requires each text to be registered.
    pub flow_id: String,
    /// The flow's variables by name (`##order_id##` in the template is `order_id` here).
    pub variables: BTreeMap<String, String>,
}

/// Sends transactional SMS from registered templates.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `sms`. Returns the provider's id for it.
    async fn send_flow(&self, sms: &FlowSms) -> Result<String, AdapterError>;
}

/// What [`Msg91Client`] needs from configuration.
#[derive(Debug, Clone)]
pub struct Msg91Settings {
    /// The OTP API root, `https://control.msg91.com/api/v5` in production.
    pub base_url: String,
    /// The account's auth key, sent in the `authkey` header.
    pub authkey: SecretString,
    /// The DLT-registered OTP template (India requires one per message kind).
    pub template_id: String,
    /// The DLT sender id (header) flows are sent from; empty leaves it to each flow's own.
    pub sender: String,
    /// How long MSG91 should consider the code valid; keep it equal to Bazaar's own expiry.
    pub otp_expiry_minutes: u32,
    /// Upper bound on one HTTP attempt, connection and response included.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
}

/// Sends OTPs through MSG91's OTP API v5.
pub struct Msg91Client {
    http: reqwest::Client,
    base_url: String,
    authkey: HeaderValue,
    template_id: String,
    sender: String,
    otp_expiry_minutes: u32,
    retry: RetryPolicy,
}

impl Msg91Client {
    /// Builds the client, failing on a base URL that is not http(s) (`Unavailable`) or an
    /// auth key that is empty or cannot be sent as a header (`Unauthorized`).
    pub fn new(settings: Msg91Settings) -> Result<Self, AdapterError> {
        Ok(Self {
            http: http::client(PROVIDER, settings.timeout)?,
            base_url: http::base_url(PROVIDER, &settings.base_url)?,
            authkey: http::secret_header(PROVIDER, settings.authkey.expose_secret())?,
            template_id: settings.template_id,
            sender: settings.sender,
            otp_expiry_minutes: settings.otp_expiry_minutes,
            retry: settings.retry,
        })
    }
}

impl std::fmt::Debug for Msg91Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg91Client")
            .field("base_url", &self.base_url)
            .field("authkey", &"[REDACTED]")
            .field("template_id", &self.template_id)
            .field("sender", &self.sender)
            .field("otp_expiry_minutes", &self.otp_expiry_minutes)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl OtpSender for Msg91Client {
    // The code travels in the query string, so neither it nor the URL may reach a log field.
    #[tracing::instrument(
        name = "msg91.send_otp",
        skip_all,
        fields(purpose = %message.purpose, request_id = tracing::field::Empty)
    )]
    async fn send_otp(&self, message: &OtpMessage) -> Result<String, AdapterError> {
        let url = format!("{}/otp", self.base_url);
        let expiry = self.otp_expiry_minutes.to_string();
        let query = [
            ("template_id", self.template_id.as_str()),
            ("mobile", msg91_mobile(&message.phone)),
            ("otp", message.code.as_str()),
            ("otp_expiry", expiry.as_str()),
        ];
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .post(&url)
                    .query(&query)
                    .header("authkey", self.authkey.clone())
                    // DLT variables would go here; the OTP template only needs `otp`.
                    .json(&serde_json::json!({}))
            })
            .await?;
        let reply = successful_reply(response).await?;
        let request_id = reply
            .request_id
            .or_else(|| reply.message.map(message_text))
            .unwrap_or_default();
        tracing::Span::current().record("request_id", request_id.as_str());
        tracing::info!("MSG91 accepted the OTP");
        Ok(request_id)
    }

    #[tracing::instrument(name = "msg91.retry_by_voice", skip_all)]
    async fn retry_by_voice(&self, phone: &str) -> Result<(), AdapterError> {
        let url = format!("{}/otp/retry", self.base_url);
        let query = [("mobile", msg91_mobile(phone)), ("retrytype", "voice")];
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .get(&url)
                    .query(&query)
                    .header("authkey", self.authkey.clone())
            })
            .await?;
        successful_reply(response).await?;
        tracing::info!("MSG91 accepted the voice retry");
        Ok(())
    }
}

#[async_trait::async_trait]
impl SmsSender for Msg91Client {
    // The body holds the number and the variables, so only the flow id reaches the span.
    #[tracing::instrument(
        name = "msg91.send_flow",
        skip_all,
        fields(flow_id = %sms.flow_id, message_id = tracing::field::Empty)
    )]
    async fn send_flow(&self, sms: &FlowSms) -> Result<String, AdapterError> {
        let url = format!("{}/flow/", self.base_url);
        let body = flow_body(&self.sender, sms);
        let response = self
            .retry
            .send(PROVIDER, || {
                self.http
                    .post(&url)
                    .header("authkey", self.authkey.clone())
                    .json(&body)
            })
            .await?;
        let reply = successful_reply(response).await?;
        let message_id = reply
            .request_id
            .or_else(|| reply.message.map(message_text))
            .unwrap_or_default();
        tracing::Span::current().record("message_id", message_id.as_str());
        tracing::info!("MSG91 accepted the flow SMS");
        Ok(message_id)
    }
}

/// `{"flow_id", "sender"?, "recipients": [{"mobiles", ...variables}]}`. `mobiles` is written
/// after the variables, so a variable of that name cannot redirect the message.
fn flow_body(sender: &str, sms: &FlowSms) -> serde_json::Value {
    let mut recipient: serde_json::Map<String, serde_json::Value> = sms
        .variables
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into()))
        .collect();
    recipient.insert("mobiles".into(), msg91_mobile(&sms.phone).into());
    let mut body = serde_json::Map::new();
    body.insert("flow_id".into(), sms.flow_id.clone().into());
    if !sender.is_empty() {
        body.insert("sender".into(), sender.into());
    }
    body.insert("recipients".into(), vec![recipient].into());
    body.into()
}

/// MSG91 writes numbers as country code and subscriber number with no `+`.
///
/// The service hands over numbers it has already parsed as E.164, so this only drops the `+`.
fn msg91_mobile(phone: &str) -> &str {
    phone.strip_prefix('+').unwrap_or(phone)
}

/// The fields of an OTP API answer that Bazaar reads; MSG91 adds others over time.
#[derive(Debug, Deserialize)]
struct Msg91Reply {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<serde_json::Value>,
    request_id: Option<String>,
}

/// The answer, if MSG91 says the request succeeded; otherwise the matching error.
async fn successful_reply(response: Response) -> Result<Msg91Reply, AdapterError> {
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
    let reply = serde_json::from_str::<Msg91Reply>(&body);

    if !status.is_success() {
        let message = reply
            .ok()
            .and_then(|reply| reply.message)
            .map(message_text)
            .unwrap_or_else(|| format!("HTTP {status}: {}", http::excerpt(&body, 200)));
        return Err(AdapterError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message,
        });
    }
    let reply = reply.map_err(|_| AdapterError::Unavailable {
        provider: PROVIDER,
        message: format!(
            "unexpected response to HTTP {status}: {}",
            http::excerpt(&body, 200)
        ),
    })?;
    if reply.kind.as_deref() != Some("success") {
        return Err(AdapterError::Rejected {
            provider: PROVIDER,
            status: status.as_u16(),
            message: reply
                .message
                .map(message_text)
                .unwrap_or_else(|| "MSG91 did not report success".to_owned()),
        });
    }
    Ok(reply)
}

/// MSG91's `message` is usually a string but not always; keep whatever it said.
fn message_text(message: serde_json::Value) -> String {
    match message {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// An in-memory [`OtpSender`] and [`SmsSender`] for tests and local runs: it records every
/// message it accepts and fails when told to.
///
/// Like MSG91, it refuses a voice retry for a number it never sent an OTP to, and a flow SMS
/// without a flow id.
#[derive(Debug, Default)]
pub struct FakeOtpSender {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    sent: Vec<OtpMessage>,
    voice_retries: Vec<String>,
    flows: Vec<FlowSms>,
    failures: VecDeque<AdapterError>,
}

impl FakeOtpSender {
    /// A fake that has sent nothing and will not fail.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every OTP sent successfully so far, oldest first.
    pub fn sent(&self) -> Vec<OtpMessage> {
        self.state().sent.clone()
    }

    /// Makes the next call (`send_otp`, `retry_by_voice` or `send_flow`) return `error` and
    /// record nothing. Failures queue up: told twice, the next two calls fail.
    pub fn fail_next(&self, error: AdapterError) {
        self.state().failures.push_back(error);
    }

    /// Every flow SMS sent successfully so far, oldest first.
    pub fn sent_flows(&self) -> Vec<FlowSms> {
        self.state().flows.clone()
    }

    /// Every phone a voice retry was accepted for, oldest first.
    pub fn voice_retries(&self) -> Vec<String> {
        self.state().voice_retries.clone()
    }

    // A test that panicked while holding the lock must not hide what was recorded.
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl OtpSender for FakeOtpSender {
    async fn send_otp(&self, message: &OtpMessage) -> Result<String, AdapterError> {
        let mut state = self.state();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        state.sent.push(message.clone());
        Ok(format!("fake-request-{}", state.sent.len()))
    }

    async fn retry_by_voice(&self, phone: &str) -> Result<(), AdapterError> {
        let mut state = self.state();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        if !state.sent.iter().any(|message| message.phone == phone) {
            return Err(AdapterError::Rejected {
                provider: PROVIDER,
                status: 200,
                message: "no OTP request found for this mobile".to_owned(),
            });
        }
        state.voice_retries.push(phone.to_owned());
        Ok(())
    }
}

#[async_trait::async_trait]
impl SmsSender for FakeOtpSender {
    async fn send_flow(&self, sms: &FlowSms) -> Result<String, AdapterError> {
        let mut state = self.state();
        if let Some(error) = state.failures.pop_front() {
            return Err(error);
        }
        if sms.flow_id.trim().is_empty() {
            return Err(AdapterError::Rejected {
                provider: PROVIDER,
                status: 200,
                message: "flow_id is required".to_owned(),
            });
        }
        state.flows.push(sms.clone());
        Ok(format!("fake-flow-{}", state.flows.len()))
    }
}
