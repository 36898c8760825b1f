//! The sales summary as two aggregations over `orders`: money that moved by
//! day, and what the orders created in the range say (statuses, top products,
//! checkouts), read into the domain's `SalesSummary`.

use bson::{doc, Bson, Document};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use serde::Deserialize;

use super::documents::corrupt;
use super::{bound, MongoOrders};
use crate::domain::analytics::{ist, sold, DayRevenue, SalesSummary, TopProduct, TOP_PRODUCTS};
use crate::domain::ids::ProductId;
use crate::domain::money::Currency;
use crate::domain::order::ledger::{EntryStatus, LedgerKind};
use crate::domain::order::status::OrderStatus;
use crate::store::mongo::classify;
use crate::store::StoreError;

impl MongoOrders {
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
    pub(super) async fn revenue_by_day(
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
    pub(super) async fn created_in(
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
pub(super) struct CreatedFacets {
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
    pub(super) fn into_summary(
        self,
        revenue_by_day: Vec<DayRevenue>,
    ) -> Result<SalesSummary, StoreError> {
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
