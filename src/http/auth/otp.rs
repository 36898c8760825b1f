//! `/auth/otp/…`: sending a one-time password (by SMS or voice) and checking it, which
//! verifies the phone or signs in.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

use super::{device, token_pair, TokenPair};
use crate::app::identity::codes::OtpOutcome;
use crate::app::identity::otp::OtpPurpose;
use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::{CheckedJsonBody, JsonBody};
use crate::http::problem::Problems;
use crate::http::security::context;
use crate::http::users::UserBody;

error_set!(
    /// Errors of asking for a one-time password.
    OtpSendErrors: ANY, BODY; DeliveryFailed
);
error_set!(
    /// Errors of checking a one-time password.
    OtpVerifyErrors: ANY, BODY; InvalidOtp, OtpAttemptsExceeded, Forbidden, AccountLocked
);

/// What a one-time password is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpPurposeBody {
    VerifyPhone,
    Login,
    ResetPassword,
}

/// What a code checked at `/auth/otp/verify` is for; reset codes are used by
/// `/auth/password/reset` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpVerifyPurpose {
    VerifyPhone,
    Login,
}

impl From<OtpVerifyPurpose> for OtpPurpose {
    fn from(p: OtpVerifyPurpose) -> Self {
        match p {
            OtpVerifyPurpose::VerifyPhone => Self::VerifyPhone,
            OtpVerifyPurpose::Login => Self::Login,
        }
    }
}

impl From<OtpPurposeBody> for OtpPurpose {
    fn from(p: OtpPurposeBody) -> Self {
        match p {
            OtpPurposeBody::VerifyPhone => Self::VerifyPhone,
            OtpPurposeBody::Login => Self::Login,
            OtpPurposeBody::ResetPassword => Self::ResetPassword,
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OtpSendRequest {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    pub purpose: OtpPurposeBody,
    // Described by its enum: a description here would wrap the reference in `allOf`,
    // which some client generators (openapi-python-client) cannot take.
    #[oai(skip_serializing_if_is_none)]
    pub channel: Option<OtpChannel>,
}

/// How a code reaches the phone: `sms` (default) sends a new code; `voice` has the
/// last code read out in a phone call, for when the SMS did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpChannel {
    Sms,
    Voice,
}

impl Example for OtpSendRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            purpose: OtpPurposeBody::Login,
            channel: None,
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OtpVerifyRequest {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    // Described by its enum (see `channel` of `OtpSendRequest`).
    pub purpose: OtpVerifyPurpose,
    /// The six digits from the SMS.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
    /// A name for this device in the session list (login only).
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub device: Option<String>,
    /// The customer's name, for a `login` code that creates the account (the
    /// phone has none yet); ignored otherwise. Without it, such a code is
    /// answered 422 (field `name`) and stays valid: ask for the name, then send
    /// the same code again with it.
    #[oai(
        skip_serializing_if_is_none,
        validator(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F<>]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000<>][^\u0000-\u001F\u007F-\u009F<>]*$"
        )
    )]
    pub name: Option<String>,
}

impl Example for OtpVerifyRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            purpose: OtpVerifyPurpose::Login,
            code: "042917".into(),
            device: Some("Pixel 8".into()),
            name: Some("Asha Rao".into()),
        }
    }
}

/// The result of a correct code: the user, and tokens when the purpose was `login`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct OtpVerified {
    pub user: UserBody,
    #[oai(skip_serializing_if_is_none)]
    pub tokens: Option<TokenPair>,
    /// Whether this code created the account (a `login` code for a phone that
    /// had none): a client may show its onboarding.
    pub account_created: bool,
}

impl Example for OtpVerified {
    fn example() -> Self {
        Self {
            user: UserBody::example(),
            tokens: None,
            account_created: false,
        }
    }
}

#[derive(ApiResponse)]
pub enum OtpSendResponse {
    /// Accepted: the message is on its way, if the number can use it.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum OtpVerifyResponse {
    /// The code was right.
    #[oai(status = 200)]
    Ok(Json<OtpVerified>),
}

pub struct OtpApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl OtpApi {
    /// Send a one-time password
    ///
    /// Answers 202 whether or not the number is registered, so it reveals
    /// nothing; a code is sent only where it can be used (a `login` code to
    /// any number: its first correct use creates the account) (`voice` reads out a
    /// code that is still valid, and calls no one otherwise). Codes last five
    /// minutes; a new one can be asked for after 30 seconds, five per hour.
    /// With an `Idempotency-Key`, sending the request again (after a timeout,
    /// say) answers the first answer instead of sending another code.
    #[oai(path = "/auth/otp/send", method = "post", operation_id = "sendOtp")]
    async fn send_otp(
        &self,
        body: JsonBody<OtpSendRequest>,
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
    ) -> Result<OtpSendResponse, Problems<OtpSendErrors>> {
        let by_voice = body.0.channel == Some(OtpChannel::Voice);
        let retry = idempotency_key.retry();
        let found_earlier = self
            .identity
            .send_otp(
                &body.0.phone,
                body.0.purpose.into(),
                by_voice,
                retry.map(|r| &r.key),
            )
            .await?;
        if let (true, Some(retry)) = (found_earlier, retry) {
            retry.found_earlier();
        }
        Ok(OtpSendResponse::Accepted)
    }

    /// Check a one-time password
    ///
    /// `verify_phone` marks the phone verified; `login` also signs in and
    /// answers tokens (not while the account is locked: 423). A `login` code
    /// for a phone with no account creates the customer's account, named by
    /// `name`, without a password (`account_created: true`); without `name`
    /// it is a 422 naming the field, and the code stays valid for the retry. Five wrong tries
    /// void the code; after ten wrong codes in an hour a phone's tries are
    /// refused (429) until the hour is over.
    #[oai(path = "/auth/otp/verify", method = "post", operation_id = "verifyOtp")]
    async fn verify_otp(
        &self,
        body: CheckedJsonBody<OtpVerifyRequest>,
        req: &Request,
    ) -> Result<OtpVerifyResponse, Problems<OtpVerifyErrors>> {
        let b = body.0;
        let device = device(b.device.as_deref(), req);
        let outcome = self
            .identity
            .verify_otp(
                &b.phone,
                b.purpose.into(),
                &b.code,
                b.name.as_deref(),
                &device,
                &context(req),
            )
            .await?;
        let body = match outcome {
            OtpOutcome::PhoneVerified(user) => OtpVerified {
                user: (&*user).into(),
                tokens: None,
                account_created: false,
            },
            OtpOutcome::SignedIn { tokens, created } => {
                let pair = token_pair(*tokens, self.identity.access_token_ttl());
                OtpVerified {
                    user: pair.user.clone(),
                    tokens: Some(pair),
                    account_created: created,
                }
            }
        };
        Ok(OtpVerifyResponse::Ok(Json(body)))
    }
}
