//! `/users/me`: reading (with `If-None-Match`) and changing (with `If-Match`) the
//! caller's own profile, and erasing the account (with `app::privacy`).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{MeReadErrors, MeUpdateErrors, NoContentResponse, UserBody};
use crate::app::identity::Identity;
use crate::app::privacy::Privacy;
use crate::domain::user::User;
use crate::error_set;
use crate::http::conditional::{not_modified, precondition, ETag, IfMatchHeader, IfNoneMatch};
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};

/// Changes to the caller's profile. A new email starts unverified, or, beside
/// a verified one, waits as `pending_email` until proven; `email: null` removes it.
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

#[derive(ApiResponse)]
pub enum MeResponse {
    /// The profile, with its version tag for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<UserBody>, #[oai(header = "ETag")] String),
    /// The profile has not changed since the `If-None-Match` tag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum UpdateMeResponse {
    /// The profile as it is now, with its new version tag.
    #[oai(status = 200)]
    Ok(Json<UserBody>, #[oai(header = "ETag")] String),
}

/// The profile's entity tag: the user's version, which every change of the
/// profile or the preferences moves on.
pub(super) fn etag(user: &User) -> ETag {
    ETag::of_version(user.version)
}

pub struct MyProfileApi {
    pub identity: Arc<Identity>,
    pub privacy: Arc<Privacy>,
}

error_set!(
    /// Errors of erasing one's account.
    EraseMeErrors: ANY, SIGNED_IN; NotFound, Conflict, RecentSignInRequired
);

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyProfileApi {
    /// Get my profile
    ///
    /// Send the `ETag` of a copy you hold as `If-None-Match` to get 304 when it
    /// has not changed.
    #[oai(path = "/users/me", method = "get", operation_id = "getMe")]
    async fn get_me(
        &self,
        auth: BearerAuth,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<IfNoneMatch>>,
    ) -> Result<MeResponse, Problems<MeReadErrors>> {
        let user = self.identity.me(&auth.0).await?;
        let tag = etag(&user);
        if not_modified(if_none_match.0.as_ref(), &tag) {
            return Ok(MeResponse::NotModified(tag.into()));
        }
        Ok(MeResponse::Ok(Json((&user).into()), tag.into()))
    }

    /// Update my profile
    ///
    /// A new email replaces an unverified (or absent) one at once, unverified
    /// until the link sent by `POST /users/me/email/verify-request` is followed.
    /// Beside a verified email, the new one is held as `pending_email` and a
    /// verification link goes to it at once: the verified address stays the
    /// account's until the link is followed, then the new one replaces it and
    /// the old one is told. `email: null` removes the email (and any pending
    /// one) at once. Any address is accepted, including one another account
    /// has: it becomes this account's (for sign-in and password reset) only
    /// once verified. With `If-Match`, only the version it names is changed
    /// (412 otherwise).
    #[oai(path = "/users/me", method = "patch", operation_id = "updateMe")]
    async fn update_me(
        &self,
        auth: BearerAuth,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<ProfilePatch>,
    ) -> Result<UpdateMeResponse, Problems<MeUpdateErrors>> {
        let patch = body.0;
        let email = match &patch.email {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(e) => Some(Some(e.as_str())),
        };
        let precondition = precondition(if_match.0.as_ref());
        let user = self
            .identity
            .update_me(&auth.0, patch.name.as_deref(), email, precondition.as_ref())
            .await?;
        Ok(UpdateMeResponse::Ok(
            Json((&user).into()),
            etag(&user).into(),
        ))
    }

    /// Erase my account
    ///
    /// Needs a sign-in in the last 10 minutes (403 `recent_sign_in_required`),
    /// and no order still in progress (409 naming them: cancel them, or wait
    /// until they are delivered). Then the account and every session end, the
    /// phone and email are free to register again, queued notices are not
    /// sent, and orders keep only the tax record of the sale (items, amounts,
    /// tax, payment, the state and PIN code of delivery) under an account id
    /// that names no one. `docs/privacy.md` lists what is kept and for how long.
    #[oai(path = "/users/me", method = "delete", operation_id = "eraseMe")]
    async fn erase(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<EraseMeErrors>> {
        self.privacy.erase(&auth.0, &context(req)).await?;
        Ok(NoContentResponse::Done)
    }
}
