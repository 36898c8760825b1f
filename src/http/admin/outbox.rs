//! `/admin/outbox…`: the admin's view of the outbox, and retrying a dead message.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{AdminReadErrors, AdminWriteErrors};
use crate::app::identity::Identity;
use crate::app::outbox::Outbox;
use crate::domain::ids::OutboxId;
use crate::domain::outbox::{Channel, NoticeKind, OutboxMessage, OutboxState};
use crate::domain::outbox_query::RawOutboxQuery;
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::listing::{page_of, PageLinks, Paging};
use crate::http::params::OutboxStateParam;
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::wire::Wire;
use crate::list_object;

/// A notice to a customer in the outbox.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct OutboxMessageBody {
    pub id: String,
    pub kind: Wire<NoticeKind>,
    pub channel: Wire<Channel>,
    /// The email address, or the phone in E.164.
    pub to: String,
    /// The template's variables.
    pub data: BTreeMap<String, serde_json::Value>,
    /// Unique among messages: a notice with a known key is never enqueued again.
    pub dedupe_key: String,
    pub state: Wire<OutboxState>,
    /// Delivery attempts so far (since the last retry by an admin).
    pub attempts: u32,
    /// No worker tries it before this.
    pub next_attempt_at: DateTime<Utc>,
    /// The worker delivering it right now.
    #[oai(skip_serializing_if_is_none)]
    pub lease_owner: Option<String>,
    /// Until when that worker has it to itself.
    #[oai(skip_serializing_if_is_none)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed, as the provider explained it; for a `skipped` message,
    /// why it was not sent (the phone or email is unverified, or the address had its
    /// notices for the hour).
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// The provider's id of the delivered message.
    #[oai(skip_serializing_if_is_none)]
    pub provider_id: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&OutboxMessage> for OutboxMessageBody {
    fn from(m: &OutboxMessage) -> Self {
        Self {
            id: m.id.to_string(),
            kind: Wire(m.kind),
            channel: Wire(m.channel()),
            to: m.recipient.address().to_owned(),
            data: m.data.clone().into_iter().collect(),
            dedupe_key: m.dedupe_key.clone(),
            state: Wire(m.state),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            lease_owner: m.lease.as_ref().map(|l| l.owner.clone()),
            lease_until: m.lease.as_ref().map(|l| l.until),
            last_error: m.last_error.clone(),
            provider_id: m.provider_id.clone(),
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        }
    }
}

impl Example for OutboxMessageBody {
    fn example() -> Self {
        let at =
            |seconds: i64| DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap_or_default();
        Self {
            id: "6650c0ffee0000000000a0b1".into(),
            kind: Wire(NoticeKind::OrderConfirmation),
            channel: Wire(Channel::Sms),
            to: "+919812345678".into(),
            data: [
                ("order_id".to_owned(), "6650c0ffee0000000000c0de".into()),
                ("total_paise".to_owned(), 49_900.into()),
            ]
            .into(),
            dedupe_key: "6650c0ffee0000000000c0de:order_confirmation:sms".into(),
            state: Wire(OutboxState::Dead),
            attempts: 8,
            next_attempt_at: at(3_000),
            lease_owner: None,
            lease_until: None,
            last_error: Some("msg91 rejected the request: Mobile no. not found".into()),
            provider_id: None,
            created_at: at(0),
            delivered_at: None,
        }
    }
}

list_object!(
    /// One page of outbox messages, newest first.
    #[oai(example)]
    OutboxMessageList,
    OutboxMessageBody
);

impl Example for OutboxMessageList {
    fn example() -> Self {
        Self {
            items: vec![OutboxMessageBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: None,
            total: None,
            total_pages: None,
            links: PageLinks {
                this: "/api/v1/admin/outbox?state=dead&limit=20".into(),
                first: "/api/v1/admin/outbox?state=dead&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}

#[derive(ApiResponse)]
pub enum OutboxListResponse {
    /// A page of outbox messages.
    #[oai(status = 200)]
    Ok(Json<OutboxMessageList>),
}

#[derive(ApiResponse)]
pub enum OutboxRetryResponse {
    /// The message, pending again and due now.
    #[oai(status = 200)]
    Ok(Json<OutboxMessageBody>),
}

pub struct OutboxAdminApi {
    pub identity: Arc<Identity>,
    pub outbox: Arc<Outbox>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl OutboxAdminApi {
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
        _auth: Permit<needs::OutboxRead>,
        /// Only messages in this state: `pending`, `delivered`, `dead` or `skipped`.
        state: Query<Option<OutboxStateParam>>,
        paging: Paging,
    ) -> Result<OutboxListResponse, Problems<AdminReadErrors>> {
        let raw = RawOutboxQuery {
            state: state.0.map(String::from),
            paging: paging.0,
        };
        let (query, result) = self.outbox.list(&raw).await?;
        let info = page_of(
            "/api/v1/admin/outbox",
            &[("state", raw.state.clone())],
            &raw.paging,
            &query,
            &result,
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
        _auth: Permit<needs::OutboxWrite>,
        /// Message id (24 hexadecimal characters).
        id: Path<IdParam<OutboxId>>,
    ) -> Result<OutboxRetryResponse, Problems<AdminWriteErrors>> {
        let message = self.outbox.retry(id.0.checked("id")?).await?;
        Ok(OutboxRetryResponse::Ok(Json((&message).into())))
    }
}
