//! `/auth/password/…`: asking for a reset code, and setting a new password with it.

use std::sync::Arc;

use poem::Request;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

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
    /// Phone number or email address; the code goes to the account's phone.
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

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
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

pub struct PasswordsApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl PasswordsApi {
    /// Forgot password
    ///
    /// Sends a `reset_password` code to the account's phone. Answers 202
    /// whether or not the account exists, with the same cooldown for every
    /// phone or email (an email is looked up only if verified).
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
    /// Sets a new password with a `reset_password` code and ends every session.
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
        self.identity
            .password_reset(&b.phone, &b.code, &b.new_password, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }
}
