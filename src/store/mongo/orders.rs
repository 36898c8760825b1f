//! Orders in MongoDB (collection `orders`). The ledger is embedded in its order,
//! so an order and its money always change together in one document write.
//! The sales summary is computed by aggregation, to the same numbers as
//! [`summarize`](crate::domain::analytics::summarize).

use std::time::Duration;

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use chrono::{DateTime, NaiveDate, Utc};
use futures::{FutureExt as _, TryStreamExt};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::outbox::{enqueue_upserts, upserts_unless_known};
use super::transaction::{run_transaction, DEFAULT_RETRY_BUDGET};
use super::{classify, find_page, index, why_unmatched, PageSpec};
use crate::domain::analytics::{ist, sold, DayRevenue, SalesSummary, TopProduct, TOP_PRODUCTS};
use crate::domain::ids::ProductId;
use crate::domain::listing::{Pagination, SortValue};
use crate::domain::money::{Currency, Paise};
use crate::domain::order::{
    Address, EntryStatus, Flag, FlagReason, LedgerEntry, LedgerKind, Order, OrderId, OrderItem,
    OrderStatus, PaymentInfo,
};
use crate::domain::order_query::{OrderFilter, OrderPage, OrderQuery};
use crate::domain::outbox::OutboxMessage;
use crate::domain::request_key::RequestKey;
use crate::domain::user::UserId;
use crate::store::{OrderRepository, StoreError};

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

    /// Runs `pipeline` and reads its rows as `T`.
    async fn aggregate<T>(&self, pipeline: Vec<Document>) -> Result<Vec<T>, StoreError>
    where
        T: for<'de> Deserialize<'de> + Send + Sync,
    {
        self.collection
            .aggregate(pipeline)
            .with_type::<T>()
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)
    }

    /// Money that moved in `[from, to)`, by day in India, oldest first.
    async fn revenue_by_day(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DayRevenue>, StoreError> {
        let in_range = time_range(from, to);
        let is_capture = doc! { "$eq": ["$ledger.kind", LedgerKind::Capture.as_str()] };
        let pipeline = vec![
            // Orders with an entry in range, then those entries that count.
            doc! { "$match": { "ledger": { "$elemMatch": { "recorded_at": in_range.clone() } } } },
            doc! { "$unwind": "$ledger" },
            doc! { "$match": {
                "ledger.recorded_at": in_range,
                "ledger.currency": { "$in": [Currency::Inr.as_str(), Bson::Null] },
                "$or": [
                    { "ledger.kind": LedgerKind::Capture.as_str(),
                      "ledger.status": EntryStatus::Settled.as_str() },
                    { "ledger.kind": LedgerKind::Refund.as_str(),
                      "ledger.status": { "$in": [
                          EntryStatus::Pending.as_str(), EntryStatus::Settled.as_str(),
                      ] } },
                ],
            } },
            doc! { "$group": {
                "_id": { "$dateToString": {
                    "format": "%Y-%m-%d",
                    "date": "$ledger.recorded_at",
                    "timezone": ist().to_string(),
                } },
                "captured": { "$sum": { "$cond": [is_capture.clone(), "$ledger.amount", 0] } },
                "refunded": { "$sum": { "$cond": [is_capture, 0, "$ledger.amount"] } },
            } },
            doc! { "$match": { "$or": [
                { "captured": { "$ne": 0 } },
                { "refunded": { "$ne": 0 } },
            ] } },
            doc! { "$sort": { "_id": 1 } },
        ];
        self.aggregate::<DayRow>(pipeline)
            .await?
            .into_iter()
            .map(DayRow::into_day)
            .collect()
    }

    /// What the summary says about orders created in `[from, to)`.
    async fn created_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<CreatedFacets, StoreError> {
        let sold_statuses: Vec<&str> = OrderStatus::ALL
            .into_iter()
            .filter(|s| sold(*s))
            .map(OrderStatus::as_str)
            .collect();
        let settled_captures = doc! { "$sum": { "$map": {
            "input": { "$filter": {
                "input": "$ledger",
                "as": "e",
                "cond": { "$and": [
                    { "$eq": ["$$e.kind", LedgerKind::Capture.as_str()] },
                    { "$eq": ["$$e.status", EntryStatus::Settled.as_str()] },
                    { "$eq": [{ "$ifNull": ["$$e.currency", Currency::Inr.as_str()] }, "$currency"] },
                ] },
            } },
            "as": "e",
            "in": "$$e.amount",
        } } };
        // One round trip: the three answers share the first `$match`.
        let pipeline = vec![
            doc! { "$match": { "created_at": time_range(from, to) } },
            doc! { "$facet": {
                "by_status": [
                    { "$group": { "_id": "$status", "n": { "$sum": 1 } } },
                ],
                "top_products": [
                    { "$match": { "status": { "$in": sold_statuses } } },
                    // `$first` below then takes the name from the oldest order.
                    { "$sort": { "created_at": 1, "_id": 1 } },
                    { "$unwind": "$items" },
                    { "$group": {
                        "_id": "$items.product_id",
                        "name": { "$first": "$items.name" },
                        "units": { "$sum": "$items.quantity" },
                        "revenue": { "$sum": "$items.line_total" },
                    } },
                    { "$sort": { "revenue": -1, "_id": 1 } },
                    { "$limit": TOP_PRODUCTS as i64 },
                ],
                "checkouts": [
                    { "$match": { "payment.provider_order_id": { "$type": "string" } } },
                    { "$group": {
                        "_id": null,
                        "n": { "$sum": 1 },
                        "paid": { "$sum": { "$cond": [{ "$gt": [settled_captures, 0] }, 1, 0] } },
                    } },
                ],
            } },
        ];
        Ok(self
            .aggregate::<CreatedFacets>(pipeline)
            .await?
            .pop()
            .unwrap_or_default())
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

fn time_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Document {
    doc! { "$gte": bound(from), "$lt": bound(to) }
}

#[derive(Debug, Deserialize)]
struct DayRow {
    #[serde(rename = "_id")]
    day: String,
    captured: i64,
    refunded: i64,
}

impl DayRow {
    fn into_day(self) -> Result<DayRevenue, StoreError> {
        let day = NaiveDate::parse_from_str(&self.day, "%Y-%m-%d")
            .map_err(|e| StoreError::Other(anyhow::anyhow!("summary day {:?}: {e}", self.day)))?;
        Ok(DayRevenue {
            day,
            captured: self.captured,
            refunded: self.refunded,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct CreatedFacets {
    by_status: Vec<StatusRow>,
    top_products: Vec<ProductRow>,
    /// One row, or none when no order started checkout.
    checkouts: Vec<CheckoutRow>,
}

#[derive(Debug, Deserialize)]
struct StatusRow {
    #[serde(rename = "_id")]
    status: String,
    n: i64,
}

#[derive(Debug, Deserialize)]
struct ProductRow {
    #[serde(rename = "_id")]
    product_id: String,
    name: String,
    units: i64,
    revenue: i64,
}

#[derive(Debug, Deserialize)]
struct CheckoutRow {
    n: i64,
    paid: i64,
}

impl CreatedFacets {
    /// The summary: these numbers and the revenue by day, with every status
    /// listed (zeros included).
    fn into_summary(self, revenue_by_day: Vec<DayRevenue>) -> Result<SalesSummary, StoreError> {
        let mut counts = [0u64; OrderStatus::ALL.len()];
        for row in self.by_status {
            let status =
                OrderStatus::parse("status", &row.status).map_err(|_| corrupt("status"))?;
            if let Some(i) = OrderStatus::ALL.iter().position(|s| *s == status) {
                counts[i] = count(row.n);
            }
        }
        let checkouts = self.checkouts.first();
        Ok(SalesSummary {
            revenue_by_day,
            orders_by_status: OrderStatus::ALL.into_iter().zip(counts).collect(),
            top_products: self
                .top_products
                .into_iter()
                .map(|row| TopProduct {
                    product_id: ProductId::trusted(row.product_id),
                    name: row.name,
                    units: count(row.units),
                    revenue: row.revenue,
                })
                .collect(),
            checkouts: checkouts.map_or(0, |c| count(c.n)),
            paid_checkouts: checkouts.map_or(0, |c| count(c.paid)),
        })
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[derive(Debug, Serialize, Deserialize)]
struct ItemDoc {
    product_id: String,
    sku: String,
    name: String,
    unit_price: i64,
    quantity: i64,
    line_total: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct AddressDoc {
    name: String,
    line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line2: Option<String>,
    city: String,
    state: String,
    postal_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PaymentDoc {
    // Absent, not null, so the sparse unique index ignores orders without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_failure: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EntryDoc {
    kind: String,
    provider_id: String,
    payment_id: String,
    amount: i64,
    /// Absent on entries written before currencies were kept: rupees.
    #[serde(default = "rupees")]
    currency: String,
    status: String,
    recorded_at: bson::DateTime,
}

fn rupees() -> String {
    Currency::Inr.as_str().to_owned()
}

#[derive(Debug, Serialize, Deserialize)]
struct FlagDoc {
    reason: String,
    subject: String,
    detail: String,
    flagged_at: bson::DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct OrderDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: String,
    items: Vec<ItemDoc>,
    currency: String,
    subtotal: i64,
    tax: i64,
    tax_rate_bp: i64,
    total: i64,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<AddressDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(default)]
    payment: PaymentDoc,
    #[serde(default)]
    ledger: Vec<EntryDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flags: Vec<FlagDoc>,
    /// Set (true) only on flagged orders, for the sparse index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    flagged: bool,
    /// The order's unpaid-order slot, kept after it was paid (for reading back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<i64>,
    /// `user:slot` while the order is unpaid, absent otherwise: what the
    /// unique index holds the cap with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unpaid_slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_key: Option<RequestKeyDoc>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    expires_at: bson::DateTime,
    version: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct RequestKeyDoc {
    id: String,
    fingerprint: String,
}

fn object_id(id: &OrderId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored order has an invalid {what}"))
}

fn ledger_kind(raw: &str) -> Result<LedgerKind, StoreError> {
    [LedgerKind::Capture, LedgerKind::Refund]
        .into_iter()
        .find(|k| k.as_str() == raw)
        .ok_or_else(|| corrupt("ledger kind"))
}

fn entry_status(raw: &str) -> Result<EntryStatus, StoreError> {
    [
        EntryStatus::Pending,
        EntryStatus::Settled,
        EntryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| corrupt("ledger status"))
}

fn to_u32(n: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what))
}

impl ItemDoc {
    fn from_item(i: &OrderItem) -> Self {
        Self {
            product_id: i.product_id.to_string(),
            sku: i.sku.clone(),
            name: i.name.clone(),
            unit_price: i.unit_price.get(),
            quantity: i64::from(i.quantity),
            line_total: i.line_total.get(),
        }
    }

    fn into_item(self) -> Result<OrderItem, StoreError> {
        Ok(OrderItem {
            product_id: ProductId::trusted(self.product_id),
            sku: self.sku,
            name: self.name,
            unit_price: Paise::trusted(self.unit_price),
            quantity: to_u32(self.quantity, "quantity")?,
            line_total: Paise::trusted(self.line_total),
        })
    }
}

impl AddressDoc {
    fn from_address(a: &Address) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            postal_code: a.postal_code.clone(),
            phone: a.phone.clone(),
        }
    }

    fn into_address(self) -> Address {
        Address {
            name: self.name,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            state: self.state,
            postal_code: self.postal_code,
            phone: self.phone,
        }
    }
}

impl EntryDoc {
    fn from_entry(e: &LedgerEntry) -> Self {
        Self {
            kind: e.kind.as_str().to_owned(),
            provider_id: e.provider_id.clone(),
            payment_id: e.payment_id.clone(),
            amount: e.amount.get(),
            currency: e.currency.clone(),
            status: e.status.as_str().to_owned(),
            recorded_at: bson::DateTime::from_chrono(e.recorded_at),
        }
    }

    fn into_entry(self) -> Result<LedgerEntry, StoreError> {
        Ok(LedgerEntry {
            kind: ledger_kind(&self.kind)?,
            provider_id: self.provider_id,
            payment_id: self.payment_id,
            amount: Paise::trusted(self.amount),
            currency: self.currency,
            status: entry_status(&self.status)?,
            recorded_at: self.recorded_at.to_chrono(),
        })
    }
}

impl FlagDoc {
    fn from_flag(f: &Flag) -> Self {
        Self {
            reason: f.reason.as_str().to_owned(),
            subject: f.subject.clone(),
            detail: f.detail.clone(),
            flagged_at: bson::DateTime::from_chrono(f.flagged_at),
        }
    }

    fn into_flag(self) -> Result<Flag, StoreError> {
        Ok(Flag {
            reason: FlagReason::parse(&self.reason).ok_or_else(|| corrupt("flag reason"))?,
            subject: self.subject,
            detail: self.detail,
            flagged_at: self.flagged_at.to_chrono(),
        })
    }
}

impl OrderDoc {
    fn from_order(o: &Order) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&o.id)?,
            user_id: o.user_id.to_string(),
            items: o.items.iter().map(ItemDoc::from_item).collect(),
            currency: o.currency.as_str().to_owned(),
            subtotal: o.subtotal.get(),
            tax: o.tax.get(),
            tax_rate_bp: i64::from(o.tax_rate_bp),
            total: o.total.get(),
            status: o.status.as_str().to_owned(),
            address: o.address.as_ref().map(AddressDoc::from_address),
            notes: o.notes.clone(),
            payment: PaymentDoc {
                provider_order_id: o.payment.provider_order_id.clone(),
                payment_id: o.payment.payment_id.clone(),
                last_failure: o.payment.last_failure.clone(),
            },
            ledger: o.ledger.iter().map(EntryDoc::from_entry).collect(),
            flags: o.flags.iter().map(FlagDoc::from_flag).collect(),
            flagged: !o.flags.is_empty(),
            slot: o.unpaid_slot.map(i64::from),
            unpaid_slot: o
                .unpaid_slot
                .filter(|_| o.status.is_unpaid())
                .map(|slot| format!("{}:{slot}", o.user_id)),
            request_key: o.request_key.as_ref().map(|k| RequestKeyDoc {
                id: k.id.clone(),
                fingerprint: k.fingerprint.clone(),
            }),
            created_at: bson::DateTime::from_chrono(o.created_at),
            updated_at: bson::DateTime::from_chrono(o.updated_at),
            expires_at: bson::DateTime::from_chrono(o.expires_at),
            version: o.version as i64,
        })
    }

    fn into_order(self) -> Result<Order, StoreError> {
        Ok(Order {
            id: OrderId::trusted(self.id.to_hex()),
            user_id: UserId::trusted(self.user_id),
            items: self
                .items
                .into_iter()
                .map(ItemDoc::into_item)
                .collect::<Result<_, _>>()?,
            currency: Currency::parse("currency", &self.currency)
                .map_err(|_| corrupt("currency"))?,
            subtotal: Paise::trusted(self.subtotal),
            tax: Paise::trusted(self.tax),
            tax_rate_bp: to_u32(self.tax_rate_bp, "tax rate")?,
            total: Paise::trusted(self.total),
            status: OrderStatus::parse("status", &self.status).map_err(|_| corrupt("status"))?,
            address: self.address.map(AddressDoc::into_address),
            notes: self.notes,
            payment: PaymentInfo {
                provider_order_id: self.payment.provider_order_id,
                payment_id: self.payment.payment_id,
                last_failure: self.payment.last_failure,
            },
            ledger: self
                .ledger
                .into_iter()
                .map(EntryDoc::into_entry)
                .collect::<Result<_, _>>()?,
            flags: self
                .flags
                .into_iter()
                .map(FlagDoc::into_flag)
                .collect::<Result<_, _>>()?,
            unpaid_slot: self.slot.map(|n| to_u32(n, "unpaid slot")).transpose()?,
            request_key: self.request_key.map(|k| RequestKey {
                id: k.id,
                fingerprint: k.fingerprint,
            }),
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            expires_at: self.expires_at.to_chrono(),
            version: self.version as u64,
        })
    }
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
