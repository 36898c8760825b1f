//! `POST /auth/register`: creating a customer account.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::context;
use crate::http::users::UserBody;

error_set!(
    /// Errors of registering. A phone that is taken is not one of them: it gets
    /// the answer a new one would.
    RegisterErrors: ANY, BODY;
);

/// A new account. Unknown fields are refused (no `roles` here).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Mobile number; without a country code it is read as Indian.
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    #[oai(validator(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F<>]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000<>][^\u0000-\u001F\u007F-\u009F<>]*$"
    ))]
    pub name: String,
    /// 8–128 characters. Optional: without one the account signs in by code
    /// (`POST /auth/otp/send`, purpose `login`) and may set a password later.
    #[oai(
        skip_serializing_if_is_none,
        validator(min_length = 8, max_length = 128)
    )]
    pub password: Option<String>,
    #[oai(
        skip_serializing_if_is_none,
        validator(
            max_length = 254,
            pattern = r"^([\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*|[^@\u0000-\u0020]+@[^@\u0000-\u0020]+\.[^@\u0000-\u0020]+)$"
        )
    )]
    pub email: Option<String>,
}

impl Example for RegisterRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            name: "Asha Rao".into(),
            password: Some("correct horse battery staple".into()),
            email: Some("asha@example.in".into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// Registered; a code to verify the phone was sent by SMS. A phone that
    /// already has an account gets this same answer and nothing is changed.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

pub struct SignUpApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl SignUpApi {
    /// Register
    ///
    /// Creates a customer account and sends a six-digit code to the phone;
    /// confirm it with `POST /auth/otp/verify` (`purpose: verify_phone`).
    /// Password sign-in works once the phone is verified (sign-in by code
    /// verifies it too). The password is optional; a phone-first client can
    /// skip this operation altogether: `otp/send` then `otp/verify` with
    /// `purpose: login` creates the account on the first correct code. The answer is the same whether or not the phone is
    /// already registered, so it reveals nothing; an email is the account's
    /// only once verified. Counts in the `otp` rate-limit group.
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: JsonBody<RegisterRequest>,
        req: &Request,
    ) -> Result<RegisterResponse, Problems<RegisterErrors>> {
        let b = body.0;
        let user = self
            .identity
            .register(
                &b.phone,
                &b.name,
                b.password.as_deref(),
                b.email.as_deref(),
                &context(req),
            )
            .await?;
        Ok(RegisterResponse::Created(Json((&user).into())))
    }
}
