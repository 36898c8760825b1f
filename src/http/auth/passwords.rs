//! `/auth/password/…`: asking for a reset (an SMS code for a phone, an emailed link for an
//! email), and setting a new password with either.

use std::sync::Arc;

use poem::Request;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use crate::app::identity::password_reset::ResetProof;
use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::context;
use crate::http::users::{AcceptedResponse, NoContentResponse};

error_set!(
    /// Errors of asking for a password reset code.
    ForgotErrors: ANY, BODY; DeliveryFailed
);
error_set!(
    /// Errors of resetting a password.
    ResetErrors: ANY, BODY; NotFound, InvalidOtp, OtpAttemptsExceeded
);

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    /// Phone number (a `reset_password` code goes to it by SMS) or email address (a
    /// single-use link goes to it, if it is an account's verified email).
    #[oai(validator(max_length = 254))]
    pub identifier: String,
}

impl Example for ForgotRequest {
    fn example() -> Self {
        Self {
            identifier: "asha@example.in".into(),
        }
    }
}

/// Either `phone` and `code` (the SMS code), or `token` (from the emailed link).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// With `code`: the phone the code was sent to.
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$")
    )]
    #[serde(default)]
    pub phone: Option<String>,
    /// With `phone`: the six digits sent for `reset_password`.
    #[oai(skip_serializing_if_is_none, validator(pattern = "^[0-9]{6}$"))]
    #[serde(default)]
    pub code: Option<String>,
    /// Instead of `phone` and `code`: the token of the emailed link
    /// (`/reset-password?token=…`); it works once, for 30 minutes.
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    #[serde(default)]
    pub token: Option<String>,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for ResetRequest {
    fn example() -> Self {
        Self {
            phone: Some("+919812345678".into()),
            code: Some("042917".into()),
            token: None,
            new_password: "a new long passphrase".into(),
        }
    }
}

pub struct PasswordsApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl PasswordsApi {
    /// Forgot password
    ///
    /// For a phone, sends a `reset_password` code to it by SMS. For an email,
    /// emails a single-use link (`{public_url}/reset-password?token=…`, valid
    /// 30 minutes) if it is an account's verified address. Answers 202
    /// whether or not the account exists, with the same cooldown for every
    /// phone or email.
    #[oai(
        path = "/auth/password/forgot",
        method = "post",
        operation_id = "forgotPassword"
    )]
    async fn forgot(
        &self,
        body: JsonBody<ForgotRequest>,
    ) -> Result<AcceptedResponse, Problems<ForgotErrors>> {
        self.identity.password_forgot(&body.0.identifier).await?;
        Ok(AcceptedResponse::Accepted)
    }

    /// Reset password
    ///
    /// Sets a new password with a `reset_password` code (`phone` and `code`) or
    /// the token of an emailed link (`token`), and ends every session. Exactly one
    /// of the two forms (422 naming the field otherwise); a link works once.
    #[oai(
        path = "/auth/password/reset",
        method = "post",
        operation_id = "resetPassword"
    )]
    async fn reset(
        &self,
        body: JsonBody<ResetRequest>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<ResetErrors>> {
        let b = body.0;
        let proof = ResetProof::parse(b.phone.as_deref(), b.code.as_deref(), b.token.as_deref())?;
        self.identity
            .reset_password(proof, &b.new_password, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }
}
