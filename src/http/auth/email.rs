//! `POST /auth/email/verify`: following the link that proves an email address.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::CheckedJsonBody;
use crate::http::problem::Problems;
use crate::http::security::context;
use crate::http::users::UserResponse;

error_set!(
    /// Errors of verifying an email.
    EmailVerifyErrors: ANY, BODY; NotFound, Conflict, InvalidOtp
);

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyRequest {
    /// The token from the verification email.
    #[oai(validator(max_length = 200))]
    pub token: String,
}

impl Example for EmailVerifyRequest {
    fn example() -> Self {
        Self {
            token: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
        }
    }
}

pub struct EmailApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl EmailApi {
    /// Verify an email address
    ///
    /// Verifies the profile's email, or replaces it with the `pending_email`
    /// the link went to (the previous address is then sent a notice). 409 if
    /// another account verified the same address first.
    #[oai(
        path = "/auth/email/verify",
        method = "post",
        operation_id = "verifyEmail"
    )]
    async fn verify_email(
        &self,
        body: CheckedJsonBody<EmailVerifyRequest>,
        req: &Request,
    ) -> Result<UserResponse, Problems<EmailVerifyErrors>> {
        let user = self
            .identity
            .verify_email(&body.0.token, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }
}
