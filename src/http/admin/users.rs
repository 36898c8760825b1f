//! `/users…`: the admin's view of users and their sessions, their roles, and the
//! staff actions on an account (disable, enable, unlock, end its sessions), each
//! audited with the acting admin.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{AdminReadErrors, AdminWriteErrors};
use crate::app::identity::Identity;
use crate::domain::ids::UserId;
use crate::domain::user_query::RawUserQuery;
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::json_body::CheckedJsonBody;
use crate::http::listing::{page_of, PageLinks, Paging};
use crate::http::params::{RoleParam, UserSortParam, UserStatusParam};
use crate::http::problem::Problems;
use crate::http::security::{context, needs, Permit};
use crate::http::users::{SessionBody, UserBody, UserResponse};
use crate::list_object;

list_object!(
    /// One page of users.
    #[oai(example)]
    UserList,
    UserBody
);

impl Example for UserList {
    fn example() -> Self {
        Self {
            items: vec![UserBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: None,
            total: None,
            total_pages: None,
            links: PageLinks {
                this: "/api/v1/users?role=customer&limit=20".into(),
                first: "/api/v1/users?role=customer&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}

/// A user's new roles (replacing the old ones).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// `customer`, `catalog_manager`, `admin`.
    #[oai(validator(min_items = 1, max_items = 3))]
    pub roles: Vec<RoleParam>,
}

impl Example for RolesBody {
    fn example() -> Self {
        Self {
            roles: vec!["customer".into(), "catalog_manager".into()],
        }
    }
}

#[derive(ApiResponse)]
pub enum UserListResponse {
    /// A page of users.
    #[oai(status = 200)]
    Ok(Json<UserList>),
}

/// How many sessions a staff action ended.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct EndedSessionsBody {
    /// Sessions that were live and are now ended.
    pub ended: u64,
}

impl Example for EndedSessionsBody {
    fn example() -> Self {
        Self { ended: 2 }
    }
}

#[derive(ApiResponse)]
pub enum EndedSessionsResponse {
    /// Every session of the user has ended; their tokens no longer work.
    #[oai(status = 200)]
    Ok(Json<EndedSessionsBody>),
}

#[derive(ApiResponse)]
pub enum UserSessionsResponse {
    /// The user's live sessions, most recently used first.
    #[oai(status = 200)]
    Ok(Json<Vec<SessionBody>>),
}

pub struct UsersAdminApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl UsersAdminApi {
    /// List users
    ///
    /// The same list conventions as products: `limit`, `cursor` or `page`.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
    async fn list_users(
        &self,
        _auth: Permit<needs::UsersRead>,
        /// Only users with this role.
        role: Query<Option<RoleParam>>,
        /// `active`, `locked` or `disabled`.
        status: Query<Option<UserStatusParam>>,
        /// Text in name, phone or email (case-insensitive).
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// `-created_at` (default), `created_at` or `name`.
        sort: Query<Option<UserSortParam>>,
        paging: Paging,
    ) -> Result<UserListResponse, Problems<AdminReadErrors>> {
        let raw = RawUserQuery {
            role: role.0.map(String::from),
            status: status.0.map(String::from),
            q: q.0,
            sort: sort.0.map(String::from),
            paging: paging.0,
        };
        let (query, result) = self.identity.list_users(&raw).await?;
        let params = [
            ("role", raw.role.clone()),
            ("status", raw.status.clone()),
            ("q", raw.q.clone()),
            ("sort", raw.sort.clone()),
        ];
        let info = page_of("/api/v1/users", &params, &raw.paging, &query, &result);
        Ok(UserListResponse::Ok(Json(UserList::new(
            result.items.iter().map(UserBody::from).collect(),
            info,
        ))))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get", operation_id = "getUser")]
    async fn get_user(
        &self,
        _auth: Permit<needs::UsersRead>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
    ) -> Result<UserResponse, Problems<AdminReadErrors>> {
        let user = self.identity.get_user(id.0.checked("id")?).await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Replace a user's roles
    ///
    /// The user's sessions end so the new roles apply at once.
    #[oai(
        path = "/users/:id/roles",
        method = "put",
        operation_id = "setUserRoles"
    )]
    async fn set_roles(
        &self,
        auth: Permit<needs::UsersWrite>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        body: CheckedJsonBody<RolesBody>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        let user = self
            .identity
            .set_roles(
                &auth.0,
                id.0.checked("id")?,
                &body
                    .0
                    .roles
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>(),
                &context(req),
            )
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Disable a user
    ///
    /// The user can no longer sign in and every session ends at once.
    #[oai(
        path = "/users/:id/actions/disable",
        method = "post",
        operation_id = "disableUser"
    )]
    async fn disable(
        &self,
        auth: Permit<needs::UsersWrite>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        let user = self
            .identity
            .disable_user(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Re-enable a user
    ///
    /// A disabled account may sign in again (its sessions ended when it was
    /// disabled). An account that is not disabled is answered as it is.
    /// Audited as `user_enabled` with the acting admin.
    #[oai(
        path = "/users/:id/actions/enable",
        method = "post",
        operation_id = "enableUser"
    )]
    async fn enable(
        &self,
        auth: Permit<needs::UsersWrite>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        let user = self
            .identity
            .enable_user(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// Unlock a user
    ///
    /// Lifts the sign-in lockout after failed passwords: the account's lock and
    /// every client address's, with their failure counts, so the owner can sign
    /// in at once. A `locked` account becomes `active`; a disabled one stays
    /// disabled. Audited as `user_unlocked` with the acting admin.
    #[oai(
        path = "/users/:id/actions/unlock",
        method = "post",
        operation_id = "unlockUser"
    )]
    async fn unlock(
        &self,
        auth: Permit<needs::UsersWrite>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        let user = self
            .identity
            .unlock_user(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// End all of a user's sessions
    ///
    /// Every access and refresh token of the user stops working at once; the
    /// account itself is unchanged and may sign in again. Audited as
    /// `user_sessions_ended` with the acting admin.
    #[oai(
        path = "/users/:id/actions/end-sessions",
        method = "post",
        operation_id = "endUserSessions"
    )]
    async fn end_sessions(
        &self,
        auth: Permit<needs::UsersWrite>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        req: &Request,
    ) -> Result<EndedSessionsResponse, Problems<AdminWriteErrors>> {
        let ended = self
            .identity
            .end_user_sessions(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(EndedSessionsResponse::Ok(Json(EndedSessionsBody {
            ended: ended as u64,
        })))
    }

    /// List a user's sessions
    ///
    /// The same shape as `listMySessions`; `current` is true only for the
    /// calling admin's own session. Looking is audited as
    /// `user_sessions_viewed`: the list shows the customer's devices and addresses.
    #[oai(
        path = "/users/:id/sessions",
        method = "get",
        operation_id = "listUserSessions"
    )]
    async fn list_sessions(
        &self,
        auth: Permit<needs::UsersRead>,
        /// User id (24 hexadecimal characters).
        id: Path<IdParam<UserId>>,
        req: &Request,
    ) -> Result<UserSessionsResponse, Problems<AdminReadErrors>> {
        let sessions = self
            .identity
            .user_sessions(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        let current = auth.0.session_id.as_str();
        Ok(UserSessionsResponse::Ok(Json(
            sessions
                .iter()
                .map(|s| SessionBody::from_session(s, current))
                .collect(),
        )))
    }
}
