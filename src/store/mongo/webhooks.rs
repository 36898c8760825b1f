//! Provider webhook events in MongoDB (collection `webhook_events`). The event
//! id is the `_id`, so the primary key is what makes each event count once,
//! however many deliveries race to record it.

use async_trait::async_trait;
use bson::{doc, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, index};
use crate::domain::webhook::WebhookRecord;
use crate::store::{StoreError, WebhookEventRepository};

pub struct MongoWebhookEvents {
    collection: Collection<WebhookDoc>,
}

impl MongoWebhookEvents {
    /// Opens the `webhook_events` collection and makes sure its indexes exist
    /// (idempotent, so every replica may run it at startup).
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<WebhookDoc>("webhook_events");
        collection
            .create_indexes([
                index(
                    doc! { "received_at": -1, "_id": -1 },
                    "received_at",
                    false,
                    false,
                ),
                index(
                    doc! { "event": 1, "received_at": -1 },
                    "event_received_at",
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
struct WebhookDoc {
    /// The provider's event id.
    #[serde(rename = "_id")]
    id: String,
    event: String,
    payload: String,
    received_at: bson::DateTime,
    deliveries: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
}

impl WebhookDoc {
    fn from_record(r: &WebhookRecord) -> Self {
        Self {
            id: r.event_id.clone(),
            event: r.event.clone(),
            payload: r.payload.clone(),
            received_at: bson::DateTime::from_chrono(r.received_at),
            deliveries: i64::from(r.deliveries),
            applied_at: r.applied_at.map(bson::DateTime::from_chrono),
            outcome: r.outcome.clone(),
        }
    }

    fn into_record(self) -> Result<WebhookRecord, StoreError> {
        Ok(WebhookRecord {
            event_id: self.id,
            event: self.event,
            payload: self.payload,
            received_at: self.received_at.to_chrono(),
            deliveries: u32::try_from(self.deliveries).map_err(|_| {
                StoreError::Other(anyhow::anyhow!(
                    "stored webhook event has invalid deliveries"
                ))
            })?,
            applied_at: self.applied_at.map(bson::DateTime::to_chrono),
            outcome: self.outcome,
        })
    }
}

#[async_trait]
impl WebhookEventRepository for MongoWebhookEvents {
    #[tracing::instrument(skip_all, fields(event_id = %event.event_id))]
    async fn record(&self, event: &WebhookRecord) -> Result<bool, StoreError> {
        let doc = WebhookDoc::from_record(event);
        // Insert first: of concurrent deliveries exactly one insert succeeds, and
        // every other one finds the record to count itself on.
        match self.collection.insert_one(doc).await.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate { .. }) => {
                self.collection
                    .update_one(
                        doc! { "_id": &event.event_id },
                        doc! { "$inc": { "deliveries": 1_i64 } },
                    )
                    .await
                    .map_err(classify)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(event_id))]
    async fn get(&self, event_id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": event_id })
            .await
            .map_err(classify)?;
        found.map(WebhookDoc::into_record).transpose()
    }

    #[tracing::instrument(skip_all, fields(event_id))]
    async fn mark_applied(
        &self,
        event_id: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self
            .collection
            .update_one(
                doc! { "_id": event_id },
                doc! { "$set": {
                    "applied_at": bson::DateTime::from_chrono(at),
                    "outcome": outcome,
                } },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tracing::instrument(skip_all, fields(event_id))]
    async fn mark_unapplied(&self, event_id: &str, outcome: &str) -> Result<(), StoreError> {
        let result = self
            .collection
            .update_one(
                doc! { "_id": event_id },
                doc! {
                    "$set": { "outcome": outcome },
                    "$unset": { "applied_at": "" },
                },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        event: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<WebhookRecord>, u64), StoreError> {
        let filter = event.map_or_else(Document::new, |e| doc! { "event": e });
        let total = self
            .collection
            .count_documents(filter.clone())
            .await
            .map_err(classify)?;
        // A limit of 0 means "no limit" to MongoDB.
        if limit == 0 {
            return Ok((Vec::new(), total));
        }
        let docs: Vec<WebhookDoc> = self
            .collection
            .find(filter)
            .sort(doc! { "received_at": -1, "_id": -1 })
            .skip(offset)
            .limit(i64::from(limit))
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        let records = docs
            .into_iter()
            .map(WebhookDoc::into_record)
            .collect::<Result<_, _>>()?;
        Ok((records, total))
    }
}
