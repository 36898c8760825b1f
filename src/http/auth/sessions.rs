//! Signing in with a password, refreshing the tokens, and signing out.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{device, token_pair, TokenPair};
use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::CheckedJsonBody;
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};
use crate::http::users::NoContentResponse;

error_set!(
    /// Errors of signing in.
    LoginErrors: ANY, BODY; InvalidCredentials, Forbidden, AccountLocked
);
error_set!(
    /// Errors of refreshing.
    RefreshErrors: ANY, BODY; Unauthorized, RefreshTokenReused
);
error_set!(
    /// Errors of signing out.
    LogoutErrors: ANY, SIGNED_IN;
);

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Phone number or email address.
    #[oai(validator(max_length = 254))]
    pub identifier: String,
    #[oai(validator(max_length = 128))]
    pub password: String,
    /// A name for this device in the session list.
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub device: Option<String>,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            identifier: "+919812345678".into(),
            password: "correct horse battery staple".into(),
            device: Some("Chrome on Windows".into()),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 200))]
    pub refresh_token: String,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        Self {
            refresh_token: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f.Jx3…".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum TokensResponse {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<TokenPair>),
}

pub struct SessionsApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl SessionsApi {
    /// Sign in with a password
    ///
    /// Unknown accounts, wrong passwords and accounts whose phone is not yet
    /// verified get the same 401. Failures count on the account, however it
    /// is spelled: five from one address lock that address out of it (423)
    /// for 1, 2, 4… minutes; twenty from all addresses in an hour lock the
    /// account for everyone, sign-in by code included.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: CheckedJsonBody<LoginRequest>,
        req: &Request,
    ) -> Result<TokensResponse, Problems<LoginErrors>> {
        let b = body.0;
        let device = device(b.device.as_deref(), req);
        let tokens = self
            .identity
            .login(&b.identifier, &b.password, &device, &context(req))
            .await?;
        Ok(TokensResponse::Ok(Json(token_pair(
            tokens,
            self.identity.access_token_ttl(),
        ))))
    }

    /// Refresh tokens
    ///
    /// Each refresh token works once and is replaced. Using one twice ends
    /// the session (401 `refresh_token_reused`): it means the token was copied.
    #[oai(
        path = "/auth/refresh",
        method = "post",
        operation_id = "refreshTokens"
    )]
    async fn refresh(
        &self,
        body: CheckedJsonBody<RefreshRequest>,
        req: &Request,
    ) -> Result<TokensResponse, Problems<RefreshErrors>> {
        let tokens = self
            .identity
            .refresh(&body.0.refresh_token, &context(req))
            .await?;
        Ok(TokensResponse::Ok(Json(token_pair(
            tokens,
            self.identity.access_token_ttl(),
        ))))
    }

    /// Sign out
    ///
    /// Ends this session: its access token stops working at once.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<LogoutErrors>> {
        self.identity.logout(&auth.0, &context(req)).await?;
        Ok(NoContentResponse::Done)
    }

    /// Sign out everywhere
    #[oai(path = "/auth/logout-all", method = "post", operation_id = "logoutAll")]
    async fn logout_all(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<LogoutErrors>> {
        self.identity.logout_all(&auth.0, &context(req)).await?;
        Ok(NoContentResponse::Done)
    }
}
