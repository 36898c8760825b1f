//! Administration: users, the audit trail and the outbox. Every operation needs a
//! permission (`users:read`, `users:write`, `audit:read`, `outbox:read`,
//! `outbox:write`), which only admins hold; others get 403, and the refusal is audited.

mod outbox;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::contract::ApiTags;
use super::json_body::CheckedJsonBody;
use super::listing::page_info;
use super::params::{
    AuditKindParam, CursorText, HexId, Limit, OutboxStateParam, PageNumber, RoleParam,
    UserSortParam, UserStatusParam,
};
use super::problem::Problems;
use super::security::{context, require, BearerAuth};
use super::users::{UserBody, UserResponse};
use crate::app::identity::Identity;
use crate::app::outbox::Outbox;
use crate::domain::audit::{AuditEvent, AuditQuery, RawAuditQuery};
use crate::domain::outbox_query::RawOutboxQuery;
use crate::domain::user_query::RawUserQuery;
use crate::{error_set, list_object};
use outbox::{OutboxListResponse, OutboxMessageBody, OutboxMessageList, OutboxRetryResponse};

error_set!(
    /// Errors of admin reads.
    AdminReadErrors: 400, 401, 403, 404, 429, 500, 503
);
error_set!(
    /// Errors of admin changes.
    AdminWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503
);

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
            links: super::listing::PageLinks {
                this: "/api/v1/users?role=customer&limit=20".into(),
                first: "/api/v1/users?role=customer&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}

/// A security event.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AuditEventBody {
    pub id: String,
    /// `register`, `login_succeeded`, `login_failed`, `account_locked`,
    /// `refresh_reused`, `logout`, `logout_all`, `session_revoked`,
    /// `password_reset`, `roles_changed`, `permission_denied`, `user_disabled`,
    /// `phone_verified`, `email_verified`.
    pub kind: String,
    /// Whom the event concerns.
    #[oai(skip_serializing_if_is_none)]
    pub user_id: Option<String>,
    /// Who caused it, when that was someone else (an admin).
    #[oai(skip_serializing_if_is_none)]
    pub actor_id: Option<String>,
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

impl From<&AuditEvent> for AuditEventBody {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.as_str().to_owned(),
            user_id: e.user_id.clone(),
            actor_id: e.actor_id.clone(),
            request_id: e.request_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            detail: e.detail.clone(),
            at: e.at,
        }
    }
}

impl Example for AuditEventBody {
    fn example() -> Self {
        Self {
            id: "6650c0ffee0000000000f00d".into(),
            kind: "login_failed".into(),
            user_id: Some("6650c0ffee0000000000beef".into()),
            actor_id: None,
            request_id: "9b2f6c1e0d6a4f0c8e1f2a3b4c5d6e7f".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
            detail: String::new(),
            at: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
        }
    }
}

list_object!(
    /// One page of audit events, newest first.
    #[oai(example)]
    AuditEventList,
    AuditEventBody
);

impl Example for AuditEventList {
    fn example() -> Self {
        Self {
            items: vec![AuditEventBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: None,
            total: None,
            total_pages: None,
            links: super::listing::PageLinks {
                this: "/api/v1/audit-events?kind=login_failed&limit=20".into(),
                first: "/api/v1/audit-events?kind=login_failed&limit=20".into(),
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

#[derive(ApiResponse)]
pub enum AuditListResponse {
    /// A page of audit events.
    #[oai(status = 200)]
    Ok(Json<AuditEventList>),
}

pub struct AdminApi {
    pub identity: Arc<Identity>,
    pub outbox: Arc<Outbox>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl AdminApi {
    /// List users
    ///
    /// The same list conventions as products: `limit`, `cursor` or `page`.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
    async fn list_users(
        &self,
        auth: BearerAuth,
        /// Only users with this role.
        role: Query<Option<RoleParam>>,
        /// `active`, `locked` or `disabled`.
        status: Query<Option<UserStatusParam>>,
        /// Text in name, phone or email (case-insensitive).
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// `-created_at` (default), `created_at` or `name`.
        sort: Query<Option<UserSortParam>>,
        limit: Query<Option<Limit>>,
        cursor: Query<Option<CursorText>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<UserListResponse, Problems<AdminReadErrors>> {
        require(&self.identity, &auth.0, "users:read", req).await?;
        let raw = RawUserQuery {
            role: role.0.map(String::from),
            status: status.0.map(String::from),
            q: q.0,
            sort: sort.0.map(String::from),
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0.map(|c| c.0),
            page: page.0.map(|p| p.0),
        };
        let (query, result) = self.identity.list_users(&raw).await?;
        let params = [
            ("role", raw.role.clone()),
            ("status", raw.status.clone()),
            ("q", raw.q.clone()),
            ("sort", raw.sort.clone()),
        ];
        let info = page_info(
            "/api/v1/users",
            &params,
            query.limit,
            &query.pagination,
            raw.cursor.as_deref(),
            result.has_next,
            result.total,
            || result.items.last().map(|u| query.next_cursor(u)),
        );
        Ok(UserListResponse::Ok(Json(UserList::new(
            result.items.iter().map(UserBody::from).collect(),
            info,
        ))))
    }

    /// Get a user
    #[oai(path = "/users/:id", method = "get", operation_id = "getUser")]
    async fn get_user(
        &self,
        auth: BearerAuth,
        /// User id (24 hexadecimal characters).
        id: Path<HexId>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminReadErrors>> {
        require(&self.identity, &auth.0, "users:read", req).await?;
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
        auth: BearerAuth,
        /// User id (24 hexadecimal characters).
        id: Path<HexId>,
        body: CheckedJsonBody<RolesBody>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        require(&self.identity, &auth.0, "users:write", req).await?;
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
        auth: BearerAuth,
        /// User id (24 hexadecimal characters).
        id: Path<HexId>,
        req: &Request,
    ) -> Result<UserResponse, Problems<AdminWriteErrors>> {
        require(&self.identity, &auth.0, "users:write", req).await?;
        let user = self
            .identity
            .disable_user(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }

    /// List audit events
    ///
    /// Newest first. `since` is inclusive, `until` exclusive (RFC 3339).
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/audit-events",
        method = "get",
        operation_id = "listAuditEvents"
    )]
    async fn list_audit(
        &self,
        auth: BearerAuth,
        /// Only events of this kind.
        kind: Query<Option<AuditKindParam>>,
        /// Only events concerning this user.
        user_id: Query<Option<HexId>>,
        since: Query<Option<DateTime<Utc>>>,
        until: Query<Option<DateTime<Utc>>>,
        limit: Query<Option<Limit>>,
        cursor: Query<Option<CursorText>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<AuditListResponse, Problems<AdminReadErrors>> {
        require(&self.identity, &auth.0, "audit:read", req).await?;
        let raw = RawAuditQuery {
            kind: kind.0.map(String::from),
            user_id: user_id.0.map(String::from),
            since: since.0,
            until: until.0,
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0.map(|c| c.0),
            page: page.0.map(|p| p.0),
        };
        let (query, result): (AuditQuery, _) = self.identity.audit_events(&raw).await?;
        let params = [
            ("kind", raw.kind.clone()),
            ("user_id", raw.user_id.clone()),
            ("since", raw.since.map(|d| d.to_rfc3339())),
            ("until", raw.until.map(|d| d.to_rfc3339())),
        ];
        let info = page_info(
            "/api/v1/audit-events",
            &params,
            query.limit,
            &query.pagination,
            raw.cursor.as_deref(),
            result.has_next,
            result.total,
            || result.items.last().map(|e| query.next_cursor(e)),
        );
        Ok(AuditListResponse::Ok(Json(AuditEventList::new(
            result.items.iter().map(AuditEventBody::from).collect(),
            info,
        ))))
    }

    /// List outbox messages
    ///
    /// Notices to customers (order confirmations, payment receipts, refunds, cancellations):
    /// waiting or being delivered (`pending`), `delivered`, `dead` after their last
    /// failed attempt, or `skipped` (not sent on purpose: an unverified phone or email, or an
    /// address over its hourly cap; `last_error` says which). Newest first; `limit`, `cursor`
    /// or `page` as for every list.
    #[oai(
        path = "/admin/outbox",
        method = "get",
        operation_id = "listOutboxMessages"
    )]
    async fn list_outbox(
        &self,
        auth: BearerAuth,
        /// Only messages in this state: `pending`, `delivered`, `dead` or `skipped`.
        state: Query<Option<OutboxStateParam>>,
        limit: Query<Option<Limit>>,
        cursor: Query<Option<CursorText>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<OutboxListResponse, Problems<AdminReadErrors>> {
        require(&self.identity, &auth.0, "outbox:read", req).await?;
        let raw = RawOutboxQuery {
            state: state.0.map(String::from),
            limit: limit.0.map(|l| l.0),
            cursor: cursor.0.map(|c| c.0),
            page: page.0.map(|p| p.0),
        };
        let (query, result) = self.outbox.list(&raw).await?;
        let info = page_info(
            "/api/v1/admin/outbox",
            &[("state", raw.state.clone())],
            query.limit,
            &query.pagination,
            raw.cursor.as_deref(),
            result.has_next,
            result.total,
            || result.items.last().map(|m| query.next_cursor(m)),
        );
        Ok(OutboxListResponse::Ok(Json(OutboxMessageList::new(
            result.items.iter().map(OutboxMessageBody::from).collect(),
            info,
        ))))
    }

    /// Retry a dead outbox message
    ///
    /// The message becomes pending and due at once, with all its attempts ahead of it; a
    /// worker sends it within moments. Only a `dead` message can be retried (409 otherwise).
    #[oai(
        path = "/admin/outbox/:id/actions/retry",
        method = "post",
        operation_id = "retryOutboxMessage"
    )]
    async fn retry_outbox(
        &self,
        auth: BearerAuth,
        /// Message id (24 hexadecimal characters).
        id: Path<HexId>,
        req: &Request,
    ) -> Result<OutboxRetryResponse, Problems<AdminWriteErrors>> {
        require(&self.identity, &auth.0, "outbox:write", req).await?;
        let message = self.outbox.retry(id.0.checked("id")?).await?;
        Ok(OutboxRetryResponse::Ok(Json((&message).into())))
    }
}
