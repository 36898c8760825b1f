//! `/api/v1/auth`: sign-up, one-time passwords, sign-in, refresh and sign-out, password
//! resets, email verification, and sign-in with Google (or another OpenID Connect
//! provider). One `#[OpenApi]` struct per job, combined in [`AuthApi`] in the contract's
//! order; the tokens a sign-in answers are shared here.

mod email;
mod oidc;
mod otp;
mod passwords;
mod sessions;
mod sign_up;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::types::Example;
use poem_openapi::Object;

use super::security::context;
use super::users::UserBody;
use crate::app::identity::sign_in::Tokens;
use crate::app::identity::Identity;
use email::EmailApi;
use oidc::OidcApi;
use otp::OtpApi;
use passwords::PasswordsApi;
use sessions::SessionsApi;
use sign_up::SignUpApi;

/// The `Auth` tag's operations, in the contract's order.
pub type AuthApi = (
    SignUpApi,
    OtpApi,
    SessionsApi,
    PasswordsApi,
    EmailApi,
    OidcApi,
);

/// Every `/auth` operation, over one identity service.
pub fn api(identity: Arc<Identity>) -> AuthApi {
    (
        SignUpApi {
            identity: identity.clone(),
        },
        OtpApi {
            identity: identity.clone(),
        },
        SessionsApi {
            identity: identity.clone(),
        },
        PasswordsApi {
            identity: identity.clone(),
        },
        EmailApi {
            identity: identity.clone(),
        },
        OidcApi { identity },
    )
}

/// Tokens for a signed-in session.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
    /// Exchange at `POST /auth/refresh` for new tokens; each works once.
    pub refresh_token: String,
    pub session_id: String,
    pub user: UserBody,
}

impl Example for TokenPair {
    fn example() -> Self {
        Self {
            access_token:
                "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiI2NjUwYzBmZmVlIn0.c2lnbmF0dXJl"
                    .into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            expires_at: DateTime::from_timestamp(1_767_226_500, 0).unwrap_or_default(),
            refresh_token: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f.Jx3…".into(),
            session_id: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f".into(),
            user: UserBody::example(),
        }
    }
}

fn token_pair(t: Tokens, ttl: std::time::Duration) -> TokenPair {
    TokenPair {
        access_token: t.access_token,
        token_type: "Bearer".into(),
        expires_in: ttl.as_secs(),
        expires_at: t.access_expires_at,
        refresh_token: t.refresh_token,
        session_id: t.session_id,
        user: (&t.user).into(),
    }
}

fn device(named: Option<&str>, req: &Request) -> String {
    named
        .map(str::to_owned)
        .unwrap_or_else(|| context(req).user_agent)
}
