//! The audit trail in MongoDB: append-only, read newest first. Money actions keep
//! their order and amount as fields of their own, indexed with the actor, so staff can
//! be asked "who refunded this order" without scanning.

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, find_page, index, PageSpec};
use crate::domain::audit::{AuditEvent, AuditKind, AuditPage, AuditQuery, Reason};
use crate::domain::listing::{Pagination, SortValue};
use crate::store::{AuditRepository, StoreError};

pub struct MongoAudit {
    collection: Collection<AuditDoc>,
}

impl MongoAudit {
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<AuditDoc>("audit_events");
        collection
            .create_indexes([
                index(doc! { "at": -1, "_id": -1 }, "at", false, false),
                index(
                    doc! { "user_id": 1, "at": -1, "_id": -1 },
                    "user_at",
                    false,
                    false,
                ),
                index(
                    doc! { "kind": 1, "at": -1, "_id": -1 },
                    "kind_at",
                    false,
                    false,
                ),
                // Sparse: most events have no actor and no order.
                index(
                    doc! { "actor_id": 1, "at": -1, "_id": -1 },
                    "actor_at",
                    false,
                    true,
                ),
                index(
                    doc! { "order_id": 1, "at": -1, "_id": -1 },
                    "order_at",
                    false,
                    true,
                ),
            ])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AuditDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor_id: Option<String>,
    request_id: String,
    ip: String,
    user_agent: String,
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount_paise: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    at: bson::DateTime,
}

fn object_id(id: &str) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id).map_err(|e| StoreError::Other(e.into()))
}

#[async_trait]
impl AuditRepository for MongoAudit {
    async fn record(&self, e: &AuditEvent) -> Result<(), StoreError> {
        let doc = AuditDoc {
            id: object_id(&e.id)?,
            kind: e.kind.as_str().to_owned(),
            user_id: e.user_id.clone(),
            actor_id: e.actor_id.clone(),
            request_id: e.request_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            detail: e.detail.clone(),
            order_id: e.order_id.clone(),
            amount_paise: e.amount_paise,
            reason: e.reason.as_ref().map(|r| r.as_str().to_owned()),
            at: bson::DateTime::from_chrono(e.at),
        };
        self.collection.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    async fn list(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let f = &query.filter;
        let mut clauses: Vec<Document> = Vec::new();
        if let Some(kind) = f.kind {
            clauses.push(doc! { "kind": kind.as_str() });
        }
        if let Some(user) = &f.user_id {
            clauses.push(doc! { "user_id": user });
        }
        if let Some(actor) = &f.actor_id {
            clauses.push(doc! { "actor_id": actor });
        }
        if let Some(order) = &f.order_id {
            clauses.push(doc! { "order_id": order });
        }
        if let Some(since) = f.since {
            clauses.push(doc! { "at": { "$gte": bson::DateTime::from_chrono(since) } });
        }
        if let Some(until) = f.until {
            clauses.push(doc! { "at": { "$lt": bson::DateTime::from_chrono(until) } });
        }
        let after = match &query.pagination {
            Pagination::Cursor(Some(c)) => match c.after_value {
                SortValue::Int(ms) => Some((
                    bson::Bson::DateTime(bson::DateTime::from_millis(ms)),
                    c.after_id.as_str(),
                )),
                SortValue::Text(_) => {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "audit cursor without a time"
                    )))
                }
            },
            _ => None,
        };
        let spec = PageSpec {
            field: "at",
            descending: true,
            after,
            pagination: &query.pagination,
            limit: query.limit,
        };
        find_page(&self.collection, clauses, spec, |d: AuditDoc| {
            Ok(AuditEvent {
                id: d.id.to_hex(),
                kind: AuditKind::parse("kind", &d.kind).map_err(|_| {
                    StoreError::Other(anyhow::anyhow!("unknown audit kind {}", d.kind))
                })?,
                user_id: d.user_id,
                actor_id: d.actor_id,
                request_id: d.request_id,
                ip: d.ip,
                user_agent: d.user_agent,
                detail: d.detail,
                order_id: d.order_id,
                amount_paise: d.amount_paise,
                reason: d.reason.map(Reason::trusted),
                at: d.at.to_chrono(),
            })
        })
        .await
    }
}
