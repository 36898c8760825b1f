//! `/api/v1/dev/messages`: what the fake SMS and email providers "sent", so a
//! frontend developer can finish sign-up on `make run` and see the notices of the outbox. 404 in production and
//! wherever real providers are configured. [`payments`] completes a checkout with the fake Razorpay.

pub mod payments;

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::contract::ApiTags;
use super::problem::Problems;
use crate::app::errors::AppError;
use crate::app::identity::Identity;
use crate::error_set;

error_set!(
    /// Errors of the development routes.
    DevErrors: ; InvalidParameter, DuplicateQueryParameter, TooManyQueryParameters, NotFound
);

/// A message a fake provider "sent".
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct DevMessageBody {
    /// `sms`, `voice` (a request to read the last code out), `email` or `whatsapp` (a
    /// notice from a WhatsApp template).
    pub channel: String,
    /// Phone (E.164) or email address.
    pub to: String,
    /// `verify_phone`, `login`, `reset_password`, `voice_retry` or `verify_email`; for
    /// notices from the outbox, their kind: `order_confirmation`, `payment_receipt`, `refund`
    /// or `cancellation`.
    pub purpose: String,
    /// The one-time password, for SMS.
    #[oai(skip_serializing_if_is_none)]
    pub code: Option<String>,
    /// As JSON text: the template data of an email (a verification email's holds the
    /// `token`), the flow variables of a notice by SMS, or a WhatsApp notice's `template`,
    /// `language` (the code sent to WhatsApp) and positional `body` parameters.
    #[oai(skip_serializing_if_is_none)]
    pub data: Option<String>,
}

impl Example for DevMessageBody {
    fn example() -> Self {
        Self {
            channel: "sms".into(),
            to: "+919812345678".into(),
            purpose: "verify_phone".into(),
            code: Some("042917".into()),
            data: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum DevMessagesResponse {
    /// Everything sent since the server started, oldest first.
    #[oai(status = 200)]
    Ok(Json<Vec<DevMessageBody>>),
}

pub struct DevApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Development")]
impl DevApi {
    /// List messages sent by the fake providers
    ///
    /// Development only: OTP codes and email tokens in the clear. Answers 404
    /// in production and when real providers are configured.
    #[oai(
        path = "/dev/messages",
        method = "get",
        operation_id = "listDevMessages"
    )]
    async fn messages(&self) -> Result<DevMessagesResponse, Problems<DevErrors>> {
        let messages = self.identity.notifier().dev_messages().ok_or_else(|| {
            AppError::new(
                crate::app::errors::ErrorCode::NotFound,
                "no resource exists at this path",
            )
        })?;
        Ok(DevMessagesResponse::Ok(Json(
            messages
                .into_iter()
                .map(|m| DevMessageBody {
                    channel: m.channel.to_owned(),
                    to: m.to,
                    purpose: m.purpose,
                    code: m.code,
                    data: m.data,
                })
                .collect(),
        )))
    }
}
