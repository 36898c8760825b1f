//! Orders in MongoDB (collection `orders`). The ledger is embedded in its order,
//! so an order and its money always change together in one document write.
//! The sales summary is computed by aggregation, to the same numbers as
//! [`summarize`](crate::domain::analytics::summarize).
//!
//! Here: the collection, its indexes and the repository's reads and writes.
//! [`documents`] maps an order to its stored document and back; [`summary`]
//! holds the summary's aggregations.

mod documents;
mod summary;

use std::time::Duration;

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::{FutureExt as _, TryStreamExt};
use mongodb::{Collection, Database};

use super::outbox::{enqueue_upserts, upserts_unless_known};
use super::transaction::{run_transaction, DEFAULT_RETRY_BUDGET};
use super::{classify, find_page, index, why_unmatched, PageSpec};
use crate::domain::analytics::SalesSummary;
use crate::domain::listing::{Pagination, SortValue};
use crate::domain::order::status::OrderStatus;
use crate::domain::order::{Order, OrderId};
use crate::domain::order_query::{OrderFilter, OrderPage, OrderQuery};
use crate::domain::outbox::OutboxMessage;
use crate::domain::user::UserId;
use crate::store::{OrderRepository, StoreError};
use documents::{object_id, OrderDoc};

pub struct MongoOrders {
    collection: Collection<OrderDoc>,
    /// For transactions that also write the outbox.
    db: Database,
    /// How long a transaction is run again while the server labels its errors transient.
    transaction_budget: Duration,
}

impl MongoOrders {
    /// Opens the `orders` collection and makes sure its indexes exist
    /// (idempotent, so every replica may run it at startup).
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<OrderDoc>("orders");
        collection
            .create_indexes([
                // A customer's orders, newest first.
                index(
                    doc! { "user_id": 1, "created_at": -1, "_id": -1 },
                    "user_created_at",
                    false,
                    false,
                ),
                // Staff lists of everyone's orders, and the summary's date range.
                index(
                    doc! { "created_at": -1, "_id": -1 },
                    "created_at",
                    false,
                    false,
                ),
                // The expiry job.
                index(
                    doc! { "status": 1, "expires_at": 1 },
                    "status_expires_at",
                    false,
                    false,
                ),
                // Reconciliation.
                index(
                    doc! { "status": 1, "updated_at": 1 },
                    "status_updated_at",
                    false,
                    false,
                ),
                // Sparse: an order gets a provider order only when checkout starts.
                index(
                    doc! { "payment.provider_order_id": 1 },
                    "provider_order_unique",
                    true,
                    true,
                ),
                // The cap on a customer's unpaid orders: `user:slot`, present
                // only while the order is unpaid, so at most one per slot.
                index(doc! { "unpaid_slot": 1 }, "unpaid_slot_unique", true, true),
                // One order per request key: a retry after an ambiguous failure
                // finds the first attempt's order (sparse: most have no key).
                index(
                    doc! { "request_key.id": 1 },
                    "request_key_unique",
                    true,
                    true,
                ),
                // Staff's list of flagged orders; only those carry the field.
                index(doc! { "flagged": 1 }, "flagged", false, true),
            ])
            .await
            .map_err(classify)?;
        Ok(Self {
            collection,
            db: db.clone(),
            transaction_budget: DEFAULT_RETRY_BUDGET,
        })
    }

    /// Retries transactions for `budget` (the backend timeout) rather than the default 2 s.
    pub fn retrying_transactions_for(mut self, budget: Duration) -> Self {
        self.transaction_budget = budget;
        self
    }

    /// Which field an insert's duplicate-key error is about. When the id and the
    /// provider order are both taken the server may name either index; the id
    /// wins, since a repeated insert is what that means.
    async fn duplicate_on_insert(&self, id: ObjectId, named: &'static str) -> StoreError {
        match self.collection.count_documents(doc! { "_id": id }).await {
            Ok(0) => StoreError::Duplicate { field: named },
            Ok(_) => StoreError::Duplicate { field: "id" },
            Err(e) => classify(e),
        }
    }

    async fn find_one(&self, filter: Document) -> Result<Option<Order>, StoreError> {
        let found = self.collection.find_one(filter).await.map_err(classify)?;
        found.map(OrderDoc::into_order).transpose()
    }

    /// Unpaid orders also matching `filter`, oldest first, at most `limit`.
    async fn unpaid(&self, filter: Document, limit: u32) -> Result<Vec<Order>, StoreError> {
        // A limit of 0 means "no limit" to MongoDB.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut filter = filter;
        filter.insert("status", OrderStatus::PendingPayment.as_str());
        let docs: Vec<OrderDoc> = self
            .collection
            .find(filter)
            .sort(doc! { "created_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(OrderDoc::into_order).collect()
    }
}

/// `t` as the bound of a `$gte` or `$lt` on a stored time. Stored times are
/// whole milliseconds, so rounding a finer bound up compares exactly as the
/// domain values do (rounding down would let in the millisecond before it).
fn bound(t: DateTime<Utc>) -> bson::DateTime {
    let ms = t.timestamp_millis();
    let finer = !t.timestamp_subsec_nanos().is_multiple_of(1_000_000);
    bson::DateTime::from_millis(if finer { ms + 1 } else { ms })
}

fn filter_document(filter: &OrderFilter) -> Vec<Document> {
    let mut clauses = Vec::new();
    if let Some(user) = &filter.user {
        clauses.push(doc! { "user_id": user.as_str() });
    }
    if let Some(status) = filter.status {
        clauses.push(doc! { "status": status.as_str() });
    }
    if let Some(from) = filter.from {
        clauses.push(doc! { "created_at": { "$gte": bound(from) } });
    }
    if let Some(to) = filter.to {
        clauses.push(doc! { "created_at": { "$lt": bound(to) } });
    }
    match filter.flagged {
        Some(true) => clauses.push(doc! { "flagged": true }),
        Some(false) => clauses.push(doc! { "flagged": { "$ne": true } }),
        None => {}
    }
    clauses
}

#[async_trait]
impl OrderRepository for MongoOrders {
    #[tracing::instrument(skip_all, fields(order_id = %order.id))]
    async fn insert(&self, order: &Order) -> Result<(), StoreError> {
        let doc = OrderDoc::from_order(order)?;
        let id = doc.id;
        match self.collection.insert_one(doc).await.map_err(classify) {
            Ok(_) => Ok(()),
            Err(StoreError::Duplicate { field }) => Err(self.duplicate_on_insert(id, field).await),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(order_id = %id))]
    async fn get(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        self.find_one(doc! { "_id": object_id(id)? }).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_provider_order(
        &self,
        provider_order_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        self.find_one(doc! { "payment.provider_order_id": provider_order_id })
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_request_key(&self, request_key_id: &str) -> Result<Option<Order>, StoreError> {
        self.find_one(doc! { "request_key.id": request_key_id })
            .await
    }

    #[tracing::instrument(skip_all, fields(order_id = %order.id))]
    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        notices: &[OutboxMessage],
    ) -> Result<(), StoreError> {
        let doc = OrderDoc::from_order(order)?;
        let id = doc.id;
        let filter = doc! { "_id": id, "version": expected_version as i64 };
        if notices.is_empty() {
            let result = self
                .collection
                .replace_one(filter, doc)
                .await
                .map_err(classify)?;
            if result.matched_count == 1 {
                return Ok(());
            }
            return Err(why_unmatched(&self.collection, id).await);
        }
        // The order and its notices in one transaction: the outbox's "same write". Run
        // again from the start when the server says it may (an election, a lost connection).
        let upserts = upserts_unless_known(notices)?;
        let write = (&self.collection, &self.db, filter, doc, upserts);
        let replaced = run_transaction(
            self.db.client(),
            self.transaction_budget,
            &write,
            |session, (orders, db, filter, doc, upserts)| {
                async move {
                    let result = orders
                        .replace_one(filter.clone(), doc)
                        .session(&mut *session)
                        .await?;
                    if result.matched_count != 1 {
                        return Ok(Err(StoreError::VersionConflict));
                    }
                    enqueue_upserts(db, session, upserts).await?;
                    Ok(Ok(()))
                }
                .boxed()
            },
        )
        .await;
        match replaced {
            // Unmatched: stale, or gone; asked outside the aborted transaction.
            Err(StoreError::VersionConflict) => Err(why_unmatched(&self.collection, id).await),
            other => other,
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let after = match &query.pagination {
            Pagination::Cursor(Some(c)) => match c.after_value {
                SortValue::Int(ms) => Some((
                    Bson::DateTime(bson::DateTime::from_millis(ms)),
                    c.after_id.as_str(),
                )),
                SortValue::Text(_) => {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "order cursor without a time"
                    )))
                }
            },
            _ => None,
        };
        let spec = PageSpec {
            field: "created_at",
            descending: query.sort.descending,
            after,
            pagination: &query.pagination,
            limit: query.limit,
        };
        find_page(
            &self.collection,
            filter_document(&query.filter),
            spec,
            OrderDoc::into_order,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn count_unpaid(&self, user: &UserId) -> Result<u64, StoreError> {
        let unpaid: Vec<&str> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_unpaid())
            .map(OrderStatus::as_str)
            .collect();
        self.collection
            .count_documents(doc! { "user_id": user.as_str(), "status": { "$in": unpaid } })
            .await
            .map_err(classify)
    }

    #[tracing::instrument(skip_all)]
    async fn expired_unpaid(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        // Rounded down, the `$lte` counterpart of `bound`.
        let now = bson::DateTime::from_chrono(now);
        self.unpaid(doc! { "expires_at": { "$lte": now } }, limit)
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn stuck_in_payment(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        self.unpaid(
            doc! {
                "payment.provider_order_id": { "$type": "string" },
                "updated_at": { "$lt": bound(before) },
            },
            limit,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SalesSummary, StoreError> {
        let revenue_by_day = self.revenue_by_day(from, to).await?;
        self.created_in(from, to)
            .await?
            .into_summary(revenue_by_day)
    }
}
