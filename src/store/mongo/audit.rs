//! The audit trail in MongoDB: append-only, read newest first.

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Document};
use futures::TryStreamExt;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{and, classify, index};
use crate::domain::audit::{AuditEvent, AuditKind, AuditPage, AuditQuery};
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
        if let Some(since) = f.since {
            clauses.push(doc! { "at": { "$gte": bson::DateTime::from_chrono(since) } });
        }
        if let Some(until) = f.until {
            clauses.push(doc! { "at": { "$lt": bson::DateTime::from_chrono(until) } });
        }
        let total = match query.pagination {
            Pagination::Page(_) => Some(
                self.collection
                    .count_documents(and(clauses.clone()))
                    .await
                    .map_err(classify)?,
            ),
            Pagination::Cursor(_) => None,
        };
        if let Pagination::Cursor(Some(cursor)) = &query.pagination {
            let SortValue::Int(ms) = cursor.after_value else {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "audit cursor without a time"
                )));
            };
            let at = bson::DateTime::from_millis(ms);
            let after = object_id(&cursor.after_id)?;
            clauses.push(doc! { "$or": [
                { "at": { "$lt": at } },
                { "at": at, "_id": { "$lt": after } },
            ]});
        }
        let limit = i64::from(query.limit);
        let docs: Vec<AuditDoc> = self
            .collection
            .find(and(clauses))
            .sort(doc! { "at": -1, "_id": -1 })
            .skip(query.offset())
            .limit(limit + 1)
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        let has_next = docs.len() as i64 > limit;
        let items = docs
            .into_iter()
            .take(query.limit as usize)
            .map(|d| {
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
                    at: d.at.to_chrono(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(AuditPage {
            items,
            has_next,
            total,
        })
    }
}
