//! The sales summary admins read: revenue net of refunds by day, orders by
//! status, top products and the payment success rate over a date range.
//!
//! [`summarize`] is the definition; the in-memory store runs it directly and
//! the MongoDB store computes the same numbers by aggregation (the conformance
//! suite holds them equal).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use super::ids::ProductId;
use super::order::ledger::{EntryStatus, LedgerKind};
use super::order::status::OrderStatus;
use super::order::Order;

/// Days are India's (UTC+05:30): a sale at 23:00 IST belongs to that day.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 1800).expect("a valid offset")
}

/// How many products the summary ranks.
pub const TOP_PRODUCTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRevenue {
    pub day: NaiveDate,
    /// Captured that day.
    pub captured: i64,
    /// Refunded that day (refunds that failed are not counted).
    pub refunded: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopProduct {
    pub product_id: ProductId,
    pub name: String,
    pub units: u64,
    /// Sum of line totals, in paise.
    pub revenue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SalesSummary {
    /// Days with any money movement, oldest first.
    pub revenue_by_day: Vec<DayRevenue>,
    /// Orders created in the range, by status; every status is listed.
    pub orders_by_status: Vec<(OrderStatus, u64)>,
    /// Best sellers among paid orders created in the range, by revenue.
    pub top_products: Vec<TopProduct>,
    /// Orders created in the range that started checkout.
    pub checkouts: u64,
    /// Of those, how many were paid.
    pub paid_checkouts: u64,
}

/// An order counts as sold once paid, and stays sold through fulfilment and
/// refunds (a refund shows in revenue, not in what was sold).
pub fn sold(status: OrderStatus) -> bool {
    status.is_paid() || status == OrderStatus::Refunded
}

/// The summary over orders created in `[from, to)` and money that moved in it.
pub fn summarize<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> SalesSummary {
    let mut by_day: BTreeMap<NaiveDate, DayRevenue> = BTreeMap::new();
    let mut by_status = [0u64; OrderStatus::ALL.len()];
    let mut products: BTreeMap<String, TopProduct> = BTreeMap::new();
    let mut summary = SalesSummary::default();
    for order in orders {
        for entry in &order.ledger {
            // A payment in another currency is a mismatch, not revenue.
            if entry.recorded_at < from
                || entry.recorded_at >= to
                || entry.currency != order.currency.as_str()
            {
                continue;
            }
            let day = entry.recorded_at.with_timezone(&ist()).date_naive();
            let row = by_day.entry(day).or_insert(DayRevenue {
                day,
                captured: 0,
                refunded: 0,
            });
            match (entry.kind, entry.status) {
                (LedgerKind::Capture, EntryStatus::Settled) => row.captured += entry.amount.get(),
                (LedgerKind::Refund, EntryStatus::Pending | EntryStatus::Settled) => {
                    row.refunded += entry.amount.get()
                }
                _ => {}
            }
        }
        if order.created_at < from || order.created_at >= to {
            continue;
        }
        if let Some(i) = OrderStatus::ALL.iter().position(|s| *s == order.status) {
            by_status[i] += 1;
        }
        if order.payment.provider_order_id.is_some() {
            summary.checkouts += 1;
            if order.captured() > 0 {
                summary.paid_checkouts += 1;
            }
        }
        if sold(order.status) {
            for item in &order.items {
                let row = products
                    .entry(item.product_id.to_string())
                    .or_insert_with(|| TopProduct {
                        product_id: item.product_id.clone(),
                        name: item.name.clone(),
                        units: 0,
                        revenue: 0,
                    });
                row.units += u64::from(item.quantity);
                row.revenue += item.line_total.get();
            }
        }
    }
    summary.revenue_by_day = by_day
        .into_values()
        .filter(|d| d.captured != 0 || d.refunded != 0)
        .collect();
    summary.orders_by_status = OrderStatus::ALL.into_iter().zip(by_status).collect();
    let mut top: Vec<TopProduct> = products.into_values().collect();
    top.sort_by(|a, b| {
        b.revenue
            .cmp(&a.revenue)
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    top.truncate(TOP_PRODUCTS);
    summary.top_products = top;
    summary
}
