//! The outbox in MongoDB (collection `outbox`).
//!
//! Enqueueing is an upsert on the unique `dedupe_key` that only writes on insert, so enqueueing
//! twice changes nothing, also inside another store's transaction
//! ([`enqueue_in_transaction`]), where a plain duplicate insert would abort the transaction.
//! Claims are one `findOneAndUpdate` per message whose filter says "due and not leased": the
//! server applies each atomically, so two workers never take the same message. Leases are
//! judged by the server's clock, so replicas with skewed clocks cannot both hold one.

use std::time::Duration;

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use mongodb::options::ReturnDocument;
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, find_page, index, why_unmatched, PageSpec};
use crate::domain::listing::{Pagination, SortValue};
use crate::domain::outbox::{
    Channel, Lease, NextAttempt, NoticeKind, OutboxId, OutboxMessage, OutboxState, Recipient,
};
use crate::domain::outbox_query::{OutboxPage, OutboxQuery};
use crate::domain::time::truncate_to_millis;
use crate::store::{OutboxRepository, StoreError};

/// The collection's name, for stores that write messages in their own transactions.
pub const OUTBOX_COLLECTION: &str = "outbox";

pub struct MongoOutbox {
    collection: Collection<OutboxDoc>,
}

impl MongoOutbox {
    /// Opens the `outbox` collection and makes sure its indexes exist (idempotent).
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<OutboxDoc>(OUTBOX_COLLECTION);
        collection
            .create_indexes([
                index(doc! { "dedupe_key": 1 }, "dedupe_key_unique", true, false),
                // Claims: pending messages by due time.
                index(
                    doc! { "state": 1, "next_attempt_at": 1 },
                    "state_next_attempt_at",
                    false,
                    false,
                ),
                // The admin's list, of one state or all.
                index(
                    doc! { "state": 1, "created_at": -1, "_id": -1 },
                    "state_created_at",
                    false,
                    false,
                ),
                index(
                    doc! { "created_at": -1, "_id": -1 },
                    "created_at",
                    false,
                    false,
                ),
                // An erasure's messages by their address.
                index(doc! { "to": 1 }, "to", false, false),
            ])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }

    /// Empties the data of a message of a kind that carries a secret (a reset link), once
    /// it will not be sent again ([`OutboxMessage::data_after_sending`]).
    async fn clear_secret_data(&self, id: &OutboxId) -> Result<(), StoreError> {
        let secret_kinds: Vec<&str> = NoticeKind::ALL
            .into_iter()
            .filter(|k| k.carries_secret())
            .map(NoticeKind::as_str)
            .collect();
        self.collection
            .update_one(
                doc! { "_id": object_id(id)?, "kind": { "$in": secret_kinds } },
                doc! { "$set": { "data": {} } },
            )
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct OutboxDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    kind: String,
    channel: String,
    to: String,
    data: serde_json::Map<String, serde_json::Value>,
    dedupe_key: String,
    state: String,
    attempts: i64,
    next_attempt_at: bson::DateTime,
    // Stored as `null` when absent (not left out), so claims can match `lease: null`.
    #[serde(default)]
    lease: Option<LeaseDoc>,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
    created_at: bson::DateTime,
    #[serde(default)]
    delivered_at: Option<bson::DateTime>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LeaseDoc {
    owner: String,
    /// When the lease runs out by the claimer's clock: what the domain and the admin see.
    until: bson::DateTime,
    /// When it runs out by the database server's clock: what claims are judged by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<bson::DateTime>,
}

fn object_id(id: &OutboxId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!(
        "stored outbox message has an invalid {what}"
    ))
}

fn time(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_chrono(truncate_to_millis(t))
}

impl OutboxDoc {
    fn from_message(m: &OutboxMessage) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&m.id)?,
            kind: m.kind.as_str().to_owned(),
            channel: m.channel().as_str().to_owned(),
            to: m.recipient.address().to_owned(),
            data: m.data.clone(),
            dedupe_key: m.dedupe_key.clone(),
            state: m.state.as_str().to_owned(),
            attempts: i64::from(m.attempts),
            next_attempt_at: time(m.next_attempt_at),
            lease: m.lease.as_ref().map(|l| LeaseDoc {
                owner: l.owner.clone(),
                until: time(l.until),
                expires: None,
            }),
            last_error: m.last_error.clone(),
            provider_id: m.provider_id.clone(),
            created_at: time(m.created_at),
            delivered_at: m.delivered_at.map(time),
        })
    }

    fn into_message(self) -> Result<OutboxMessage, StoreError> {
        let channel = Channel::parse(&self.channel).ok_or_else(|| corrupt("channel"))?;
        Ok(OutboxMessage {
            id: OutboxId::parse(&self.id.to_hex()).map_err(|_| corrupt("id"))?,
            kind: NoticeKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            recipient: Recipient::trusted(channel, self.to),
            data: self.data,
            dedupe_key: self.dedupe_key,
            state: OutboxState::parse("state", &self.state).map_err(|_| corrupt("state"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            next_attempt_at: self.next_attempt_at.to_chrono(),
            lease: self.lease.map(|l| Lease {
                owner: l.owner,
                until: l.until.to_chrono(),
            }),
            last_error: self.last_error,
            provider_id: self.provider_id,
            created_at: self.created_at.to_chrono(),
            delivered_at: self.delivered_at.map(bson::DateTime::to_chrono),
        })
    }
}

/// The document of `message` as stored in [`OUTBOX_COLLECTION`].
pub fn outbox_document(message: &OutboxMessage) -> Result<Document, StoreError> {
    bson::to_document(&OutboxDoc::from_message(message)?).map_err(|e| StoreError::Other(e.into()))
}

/// Enqueues `messages` inside the caller's transaction on `session`, so that they are written
/// if and only if the caller's own change is: the "same write" of an outbox. Skips messages
/// whose `dedupe_key` is stored, like [`OutboxRepository::enqueue`]; answers how many were new.
/// The collection and its indexes must exist ([`MongoOutbox::new`] at startup), since a
/// transaction may not create them.
pub async fn enqueue_in_transaction(
    db: &Database,
    session: &mut ClientSession,
    messages: &[OutboxMessage],
) -> Result<usize, StoreError> {
    let upserts = upserts_unless_known(messages)?;
    enqueue_upserts(db, session, &upserts)
        .await
        .map_err(classify)
}

/// Each message's [`insert_unless_known`] upsert, made before a transaction starts so that
/// the transaction's body fails only with the driver's (labelled) errors.
pub(super) fn upserts_unless_known(
    messages: &[OutboxMessage],
) -> Result<Vec<(Document, Document)>, StoreError> {
    messages.iter().map(insert_unless_known).collect()
}

/// Runs `upserts` on `session`, answering the driver's error as is (its labels say whether
/// the transaction may run again).
pub(super) async fn enqueue_upserts(
    db: &Database,
    session: &mut ClientSession,
    upserts: &[(Document, Document)],
) -> Result<usize, mongodb::error::Error> {
    let collection = db.collection::<Document>(OUTBOX_COLLECTION);
    let mut added = 0;
    for (filter, update) in upserts {
        let result = collection
            .update_one(filter.clone(), update.clone())
            .upsert(true)
            .session(&mut *session)
            .await?;
        added += usize::from(result.upserted_id.is_some());
    }
    Ok(added)
}

/// An upsert that inserts `message` unless its dedupe key is stored, and changes nothing then.
fn insert_unless_known(message: &OutboxMessage) -> Result<(Document, Document), StoreError> {
    Ok((
        doc! { "dedupe_key": &message.dedupe_key },
        doc! { "$setOnInsert": outbox_document(message)? },
    ))
}

fn pending_leased_to(oid: ObjectId, owner: &str) -> Document {
    doc! { "_id": oid, "state": OutboxState::Pending.as_str(), "lease.owner": owner }
}

#[async_trait]
impl OutboxRepository for MongoOutbox {
    #[tracing::instrument(skip_all, fields(messages = messages.len()))]
    async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<usize, StoreError> {
        let collection = self.collection.clone_with_type::<Document>();
        let mut added = 0;
        for message in messages {
            let (filter, update) = insert_unless_known(message)?;
            match collection.update_one(filter, update).upsert(true).await {
                Ok(result) => added += usize::from(result.upserted_id.is_some()),
                // Two upserts of one new key raced, and the other inserted it.
                Err(e) => match classify(e) {
                    StoreError::Duplicate { .. } => {}
                    other => return Err(other),
                },
            }
        }
        Ok(added)
    }

    #[tracing::instrument(skip_all, fields(owner = %owner, limit = limit))]
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let now_bson = time(now);
        let until = chrono::Duration::from_std(lease)
            .map(|lease| time(now + lease))
            .map_err(|e| StoreError::Other(e.into()))?;
        let lease_ms = i64::try_from(lease.as_millis()).map_err(|e| StoreError::Other(e.into()))?;
        // Whether a lease still holds is judged by the server's clock (`$$NOW`), never the
        // claimer's: replicas whose clocks disagree then never both hold a message. Times are
        // compared as milliseconds, which every server compares alike. A lease stored before
        // `expires` existed falls back to its `until`.
        let server_now = doc! { "$toLong": "$$NOW" };
        let due = doc! {
            "state": OutboxState::Pending.as_str(),
            "next_attempt_at": { "$lte": now_bson },
            "$or": [
                { "lease": Bson::Null },
                { "$expr": { "$lte": [
                    { "$toLong": { "$ifNull": ["$lease.expires", "$lease.until"] } },
                    server_now.clone(),
                ] } },
            ],
        };
        let take = vec![doc! { "$set": {
            "lease": {
                "owner": { "$literal": owner },
                "until": { "$literal": until },
                "expires": { "$toDate": { "$add": [server_now, lease_ms] } },
            },
            "attempts": { "$add": ["$attempts", 1_i64] },
        } }];
        let mut claimed = Vec::new();
        while claimed.len() < limit as usize {
            let found = self
                .collection
                .find_one_and_update(due.clone(), take.clone())
                .sort(doc! { "next_attempt_at": 1, "_id": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(classify)?;
            let Some(doc) = found else { break };
            let oid = doc.id;
            match doc.into_message() {
                Ok(message) => claimed.push(message),
                // Unreadable (written by hand, or by another version): set aside as
                // dead, so it neither stops this round nor comes back every lease.
                Err(e) => {
                    tracing::error!(outbox_id = %oid, error = %e, "outbox: an unreadable message was set aside as dead");
                    let aside = doc! { "$set": {
                        "state": OutboxState::Dead.as_str(),
                        "lease": Bson::Null,
                        "last_error": format!("unreadable: {e}"),
                    } };
                    self.collection
                        .update_one(doc! { "_id": oid }, aside)
                        .await
                        .map_err(classify)?;
                }
            }
        }
        Ok(claimed)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn mark_delivered(
        &self,
        id: &OutboxId,
        owner: &str,
        provider_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .collection
            .update_one(
                pending_leased_to(object_id(id)?, owner),
                doc! { "$set": {
                    "state": OutboxState::Delivered.as_str(),
                    "lease": Bson::Null,
                    "provider_id": provider_id,
                    "delivered_at": time(now),
                } },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            self.clear_secret_data(id).await?;
        }
        Ok(result.matched_count == 1)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn mark_failed(
        &self,
        id: &OutboxId,
        owner: &str,
        error: &str,
        next: NextAttempt,
    ) -> Result<bool, StoreError> {
        let mut set = doc! { "lease": Bson::Null, "last_error": error };
        match next {
            NextAttempt::At(at) => set.insert("next_attempt_at", time(at)),
            NextAttempt::Never => set.insert("state", OutboxState::Dead.as_str()),
        };
        let result = self
            .collection
            .update_one(
                pending_leased_to(object_id(id)?, owner),
                doc! { "$set": set },
            )
            .await
            .map_err(classify)?;
        Ok(result.matched_count == 1)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn mark_skipped(
        &self,
        id: &OutboxId,
        owner: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .collection
            .update_one(
                pending_leased_to(object_id(id)?, owner),
                doc! { "$set": {
                    "state": OutboxState::Skipped.as_str(),
                    "lease": Bson::Null,
                    "last_error": why,
                } },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            self.clear_secret_data(id).await?;
        }
        Ok(result.matched_count == 1)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn get(&self, id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        found.map(OutboxDoc::into_message).transpose()
    }

    async fn list(&self, query: &OutboxQuery) -> Result<OutboxPage, StoreError> {
        let clauses: Vec<Document> = query
            .state
            .map(|s| doc! { "state": s.as_str() })
            .into_iter()
            .collect();
        let after = match &query.pagination {
            Pagination::Cursor(Some(c)) => match c.after_value {
                SortValue::Int(ms) => Some((
                    Bson::DateTime(bson::DateTime::from_millis(ms)),
                    c.after_id.as_str(),
                )),
                SortValue::Text(_) => return Err(corrupt("cursor")),
            },
            _ => None,
        };
        let spec = PageSpec {
            field: "created_at",
            descending: true,
            after,
            pagination: &query.pagination,
            limit: query.limit,
        };
        find_page(&self.collection, clauses, spec, OutboxDoc::into_message).await
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn retry(&self, id: &OutboxId, now: DateTime<Utc>) -> Result<OutboxMessage, StoreError> {
        let oid = object_id(id)?;
        let revived = self
            .collection
            .find_one_and_update(
                doc! { "_id": oid, "state": OutboxState::Dead.as_str() },
                doc! { "$set": {
                    "state": OutboxState::Pending.as_str(),
                    "attempts": 0_i64,
                    "next_attempt_at": time(now),
                    "lease": Bson::Null,
                } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?;
        match revived {
            Some(doc) => doc.into_message(),
            None => Err(why_unmatched(&self.collection, oid).await),
        }
    }

    /// Two writes, in this order: a crash between them leaves messages skipped
    /// and not yet forgotten, which the erasure's retry finishes.
    #[tracing::instrument(skip_all)]
    async fn forget_recipient(&self, address: &str) -> Result<u64, StoreError> {
        self.collection
            .update_many(
                doc! { "to": address, "state": OutboxState::Pending.as_str() },
                doc! { "$set": {
                    "state": OutboxState::Skipped.as_str(),
                    "lease": Bson::Null,
                    "last_error": crate::domain::erasure::SKIPPED_ERASED,
                } },
            )
            .await
            .map_err(classify)?;
        let result = self
            .collection
            .update_many(
                doc! { "to": address },
                doc! { "$set": { "to": crate::domain::erasure::ERASED, "data": {} } },
            )
            .await
            .map_err(classify)?;
        Ok(result.modified_count)
    }
}
