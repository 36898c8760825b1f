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

/// A reset by the SMS code.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The phone the code was sent to.
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    /// The six digits sent for `reset_password`.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for ResetRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            code: "042917".into(),
            new_password: "a new long passphrase".into(),
        }
    }
}

/// A reset by the emailed link.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LinkResetRequest {
    /// The token of the emailed link (`/reset-password?token=…`); it works once, for
    /// 30 minutes.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub token: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for LinkResetRequest {
    fn example() -> Self {
        Self {
            token: "q3Jx0c2dWm4nB7tZ1yR8vK5pL6sE9aHfGuIoNwXe0Tc".into(),
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
    /// Sets a new password with a `reset_password` code sent by SMS, and ends
    /// every session. (A reset asked for by email comes as a link: see
    /// `resetPasswordWithLink`.)
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
        let proof = ResetProof::Code {
            phone: &b.phone,
            code: &b.code,
        };
        self.identity
            .reset_password(proof, &b.new_password, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }

    /// Reset password with an emailed link
    ///
    /// Sets a new password with the token of the link `forgotPassword` emailed
    /// (`{public_url}/reset-password?token=…`), and ends every session. A link
    /// works once, for 30 minutes; a used, expired or unknown one is 400
    /// `invalid_otp`.
    #[oai(
        path = "/auth/password/reset-with-link",
        method = "post",
        operation_id = "resetPasswordWithLink"
    )]
    async fn reset_with_link(
        &self,
        body: JsonBody<LinkResetRequest>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<ResetErrors>> {
        let b = body.0;
        let proof = ResetProof::Link { token: &b.token };
        self.identity
            .reset_password(proof, &b.new_password, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }
}
