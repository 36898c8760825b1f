//! `PUT /users/me/password`: the caller setting or changing their password.

use std::sync::Arc;

use poem::Request;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::NoContentResponse;
use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::CheckedJsonBody;
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};

error_set!(
    /// Errors of setting the caller's password.
    PasswordChangeErrors: ANY, SIGNED_IN, BODY; NotFound, AccountLocked, RecentSignInRequired
);

/// A new password, and the current one when the account has one.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// The account's password now; required when it has one (`has_password`).
    #[oai(skip_serializing_if_is_none, validator(max_length = 128))]
    pub current_password: Option<String>,
    /// 8–128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for PasswordChangeRequest {
    fn example() -> Self {
        Self {
            current_password: Some("correct horse battery staple".into()),
            new_password: "a longer passphrase than before".into(),
        }
    }
}

pub struct MyPasswordApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyPasswordApi {
    /// Set or change my password
    ///
    /// A password is optional: phone-first accounts sign in by code. An account
    /// with a password (`has_password`) names it in `current_password` (a wrong
    /// one is a 422 on that field and counts towards the account's lockout, as
    /// at sign-in: 423 once locked). An account without one sets its first
    /// password within 10 minutes of signing in (else 403
    /// `recent_sign_in_required`: sign in by code again). Every other session
    /// ends; this one stays. In the `auth` rate-limit group.
    #[oai(
        path = "/users/me/password",
        method = "put",
        operation_id = "setMyPassword"
    )]
    async fn set_password(
        &self,
        auth: BearerAuth,
        body: CheckedJsonBody<PasswordChangeRequest>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<PasswordChangeErrors>> {
        let b = body.0;
        self.identity
            .change_password(
                &auth.0,
                b.current_password.as_deref(),
                &b.new_password,
                &context(req),
            )
            .await?;
        Ok(NoContentResponse::Done)
    }
}
