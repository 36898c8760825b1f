//! `/api/v1/users/me…`: the signed-in user's profile, preferences and sessions.
//! Also the user representation every identity endpoint answers with.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::contract::ApiTags;
use super::json_body::JsonBody;
use super::params::Language;
use super::problem::Problems;
use super::security::{context, BearerAuth};
use crate::app::identity::sessions::Session;
use crate::app::identity::Identity;
use crate::domain::user::{Preferences, User};
use crate::error_set;

error_set!(
    /// Errors of reading the caller's own resources.
    MeReadErrors: 400, 401, 404, 500, 503
);
error_set!(
    /// Errors of changing the caller's own resources.
    MeWriteErrors: 400, 401, 404, 409, 413, 415, 422, 429, 500, 503
);

/// A user. The password hash never leaves the service.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "User")]
pub struct UserBody {
    pub id: String,
    /// E.164, e.g. `+919812345678`.
    pub phone: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    pub name: String,
    /// `customer`, `catalog_manager`, `admin`.
    pub roles: Vec<String>,
    /// `active`, `locked` or `disabled`.
    pub status: String,
    pub phone_verified: bool,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            phone: u.phone.as_str().to_owned(),
            email: u.email.as_ref().map(|e| e.as_str().to_owned()),
            name: u.name.as_str().to_owned(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            status: u.status.as_str().to_owned(),
            phone_verified: u.phone_verified,
            email_verified: u.email_verified,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

impl Example for UserBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        Self {
            id: "6650c0ffee0000000000beef".into(),
            phone: "+919812345678".into(),
            email: Some("asha@example.in".into()),
            name: "Asha Rao".into(),
            roles: vec!["customer".into()],
            status: "active".into(),
            phone_verified: true,
            email_verified: false,
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }
}

/// Changes to the caller's profile. A new email starts unverified;
/// `email: null` removes it.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[oai(
        skip_serializing_if_is_none,
        validator(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F<>]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000<>][^\u0000-\u001F\u007F-\u009F<>]*$"
        )
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[oai(
        nullable,
        validator(
            max_length = 254,
            pattern = r"^([\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*|[^@\u0000-\u0020]+@[^@\u0000-\u0020]+\.[^@\u0000-\u0020]+)$"
        )
    )]
    pub email: MaybeUndefined<String>,
}

impl Example for ProfilePatch {
    fn example() -> Self {
        Self {
            name: Some("Asha R.".into()),
            email: MaybeUndefined::Value("asha.rao@example.in".into()),
        }
    }
}

/// How the user wants to hear from Bazaar.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// ISO 639-1: en, hi, bn, te, mr, ta, gu, kn, ml, pa, or.
    pub language: Language,
    pub sms: bool,
    pub email: bool,
    pub whatsapp: bool,
}

impl From<&Preferences> for PreferencesBody {
    fn from(p: &Preferences) -> Self {
        Self {
            language: p.language.as_str().into(),
            sms: p.sms,
            email: p.email,
            whatsapp: p.whatsapp,
        }
    }
}

impl Example for PreferencesBody {
    fn example() -> Self {
        (&Preferences::default()).into()
    }
}

/// A signed-in device.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SessionBody {
    pub id: String,
    /// As the client named it at sign-in (or its user agent).
    pub device: String,
    /// The address it was last used from.
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl Example for SessionBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        Self {
            id: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f".into(),
            device: "Pixel 8, Bazaar app 1.4".into(),
            ip: "203.0.113.7".into(),
            created_at: at,
            last_used_at: at,
            current: true,
        }
    }
}

impl SessionBody {
    fn from_session(s: &Session, current: &str) -> Self {
        Self {
            id: s.id.clone(),
            device: s.device.clone(),
            ip: s.ip.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            current: s.id == current,
        }
    }
}

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<UserBody>),
}

#[derive(ApiResponse)]
pub enum PreferencesResponse {
    /// The preferences.
    #[oai(status = 200)]
    Ok(Json<PreferencesBody>),
}

#[derive(ApiResponse)]
pub enum SessionsResponse {
    /// The caller's live sessions, most recently used first.
    #[oai(status = 200)]
    Ok(Json<Vec<SessionBody>>),
}

#[derive(ApiResponse)]
pub enum AcceptedResponse {
    /// Accepted: the message is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum NoContentResponse {
    /// Done.
    #[oai(status = 204)]
    Done,
}

pub struct UsersApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Get my profile
    #[oai(path = "/users/me", method = "get", operation_id = "getMe")]
    async fn get_me(&self, auth: BearerAuth) -> Result<UserResponse, Problems<MeReadErrors>> {
        let user = self.identity.me(&auth.0).await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Update my profile
    ///
    /// Changing the email makes it unverified until the link sent by
    /// `POST /users/me/email/verify-request` is followed. Any address is
    /// accepted, including one another account has: it becomes this
    /// account's (for sign-in and password reset) only once verified.
    #[oai(path = "/users/me", method = "patch", operation_id = "updateMe")]
    async fn update_me(
        &self,
        auth: BearerAuth,
        body: JsonBody<ProfilePatch>,
    ) -> Result<UserResponse, Problems<MeWriteErrors>> {
        let patch = body.0;
        let email = match &patch.email {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(e) => Some(Some(e.as_str())),
        };
        let user = self
            .identity
            .update_me(&auth.0, patch.name.as_deref(), email)
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Get my preferences
    #[oai(
        path = "/users/me/preferences",
        method = "get",
        operation_id = "getMyPreferences"
    )]
    async fn get_preferences(
        &self,
        auth: BearerAuth,
    ) -> Result<PreferencesResponse, Problems<MeReadErrors>> {
        let user = self.identity.me(&auth.0).await?;
        Ok(PreferencesResponse::Ok(Json((&user.preferences).into())))
    }

    /// Replace my preferences
    #[oai(
        path = "/users/me/preferences",
        method = "put",
        operation_id = "replaceMyPreferences"
    )]
    async fn put_preferences(
        &self,
        auth: BearerAuth,
        body: JsonBody<PreferencesBody>,
    ) -> Result<PreferencesResponse, Problems<MeWriteErrors>> {
        let b = body.0;
        let prefs = Preferences::parse(&b.language.0, b.sms, b.email, b.whatsapp)
            .map_err(crate::app::errors::AppError::validation)?;
        let user = self.identity.set_preferences(&auth.0, prefs).await?;
        Ok(PreferencesResponse::Ok(Json((&user.preferences).into())))
    }

    /// Send me an email verification link
    ///
    /// Sends a link (valid 24 hours) to the profile's email; follow it, or post
    /// its token to `POST /auth/email/verify`. One link per account per
    /// cooldown (`BAZAAR_OTP_COOLDOWN_SECS`) and five an hour per address,
    /// whoever asks; more is 429 with `Retry-After`.
    #[oai(
        path = "/users/me/email/verify-request",
        method = "post",
        operation_id = "requestEmailVerification"
    )]
    async fn request_email_verification(
        &self,
        auth: BearerAuth,
    ) -> Result<AcceptedResponse, Problems<MeWriteErrors>> {
        self.identity.request_email_verification(&auth.0).await?;
        Ok(AcceptedResponse::Accepted)
    }

    /// List my sessions
    #[oai(
        path = "/users/me/sessions",
        method = "get",
        operation_id = "listMySessions"
    )]
    async fn list_sessions(
        &self,
        auth: BearerAuth,
    ) -> Result<SessionsResponse, Problems<MeReadErrors>> {
        let sessions = self.identity.sessions(&auth.0).await?;
        let current = auth.0.session_id.as_str();
        Ok(SessionsResponse::Ok(Json(
            sessions
                .iter()
                .map(|s| SessionBody::from_session(s, current))
                .collect(),
        )))
    }

    /// End one of my sessions
    ///
    /// Its access and refresh tokens stop working at once. Sessions of other
    /// users answer 404.
    #[oai(
        path = "/users/me/sessions/:id",
        method = "delete",
        operation_id = "deleteMySession"
    )]
    async fn delete_session(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<MeWriteErrors>> {
        self.identity
            .revoke_session(&auth.0, &id.0, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }
}
