//! `/users/me`: reading and changing the caller's own profile.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::{MeReadErrors, MeWriteErrors, UserResponse};
use crate::app::identity::Identity;
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::BearerAuth;

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

pub struct MyProfileApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyProfileApi {
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
}
