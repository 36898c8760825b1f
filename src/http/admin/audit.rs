//! `/audit-events`: the admin's view of the audit trail.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::AdminReadErrors;
use crate::app::identity::Identity;
use crate::domain::audit::{AuditEvent, AuditKind, AuditQuery, RawAuditQuery};
use crate::domain::ids::{OrderId, UserId};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::listing::{page_of, PageLinks, Paging};
use crate::http::params::AuditKindParam;
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::wire::Wire;
use crate::list_object;

/// A security event, a staff action on an account, or a money action on an order.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AuditEventBody {
    pub id: String,
    pub kind: Wire<AuditKind>,
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
    /// The order a money action concerns.
    #[oai(skip_serializing_if_is_none)]
    pub order_id: Option<String>,
    /// What a money action moved or concerned, in paise: the amount refunded, or
    /// the order's total for a cancellation or a status change.
    #[oai(skip_serializing_if_is_none)]
    pub amount_paise: Option<i64>,
    /// Why, as the staff member said.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<&AuditEvent> for AuditEventBody {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id.clone(),
            kind: Wire(e.kind),
            user_id: e.user_id.clone(),
            actor_id: e.actor_id.clone(),
            request_id: e.request_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            detail: e.detail.clone(),
            order_id: e.order_id.clone(),
            amount_paise: e.amount_paise,
            reason: e.reason.as_ref().map(|r| r.as_str().to_owned()),
            at: e.at,
        }
    }
}

impl Example for AuditEventBody {
    fn example() -> Self {
        Self {
            id: "6650c0ffee0000000000f00d".into(),
            kind: Wire(AuditKind::OrderRefunded),
            user_id: Some("6650c0ffee0000000000beef".into()),
            actor_id: Some("6650c0ffee0000000000a11e".into()),
            request_id: "9b2f6c1e0d6a4f0c8e1f2a3b4c5d6e7f".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0".into(),
            detail: "50000 of 259800 paise refunded".into(),
            order_id: Some("6650c0ffee0000000000cafe".into()),
            amount_paise: Some(50_000),
            reason: Some("one kurta arrived torn".into()),
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
            links: PageLinks {
                this: "/api/v1/audit-events?kind=order_refunded&order_id=6650c0ffee0000000000cafe&limit=20".into(),
                first: "/api/v1/audit-events?kind=order_refunded&order_id=6650c0ffee0000000000cafe&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}

#[derive(ApiResponse)]
pub enum AuditListResponse {
    /// A page of audit events.
    #[oai(status = 200)]
    Ok(Json<AuditEventList>),
}

pub struct AuditAdminApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl AuditAdminApi {
    /// List audit events
    ///
    /// Newest first. `since` is inclusive, `until` exclusive (RFC 3339). Filters
    /// combine: `kind=order_refunded&order_id=…` is who refunded an order, how much
    /// and why; `actor_id=…` is everything one staff member did.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/audit-events",
        method = "get",
        operation_id = "listAuditEvents"
    )]
    async fn list_audit(
        &self,
        _auth: Permit<needs::AuditRead>,
        /// Only events of this kind.
        kind: Query<Option<AuditKindParam>>,
        /// Only events concerning this user.
        user_id: Query<Option<IdParam<UserId>>>,
        /// Only events caused by this user (a staff member).
        actor_id: Query<Option<IdParam<UserId>>>,
        /// Only events about this order.
        order_id: Query<Option<IdParam<OrderId>>>,
        since: Query<Option<DateTime<Utc>>>,
        until: Query<Option<DateTime<Utc>>>,
        paging: Paging,
    ) -> Result<AuditListResponse, Problems<AdminReadErrors>> {
        let raw = RawAuditQuery {
            kind: kind.0.map(String::from),
            user_id: user_id.0.map(String::from),
            actor_id: actor_id.0.map(String::from),
            order_id: order_id.0.map(String::from),
            since: since.0,
            until: until.0,
            paging: paging.0,
        };
        let (query, result): (AuditQuery, _) = self.identity.audit_events(&raw).await?;
        let params = [
            ("kind", raw.kind.clone()),
            ("user_id", raw.user_id.clone()),
            ("actor_id", raw.actor_id.clone()),
            ("order_id", raw.order_id.clone()),
            ("since", raw.since.map(|d| d.to_rfc3339())),
            ("until", raw.until.map(|d| d.to_rfc3339())),
        ];
        let info = page_of(
            "/api/v1/audit-events",
            &params,
            &raw.paging,
            &query,
            &result,
        );
        Ok(AuditListResponse::Ok(Json(AuditEventList::new(
            result.items.iter().map(AuditEventBody::from).collect(),
            info,
        ))))
    }
}
