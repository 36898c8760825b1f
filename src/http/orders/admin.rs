//! The admin side of payments (`OrdersAdminApi`): stored webhook events, applying
//! one again, and the sales summary.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{example_time, OrderActionErrors, OrderReadErrors, EXAMPLE_PRODUCT};
use crate::app::errors::AppError;
use crate::app::identity::Identity;
use crate::app::orders::Orders;
use crate::domain::analytics::SalesSummary;
use crate::domain::order::status::OrderStatus;
use crate::domain::order_query::parse_instant;
use crate::domain::webhook::WebhookRecord;
use crate::http::contract::ApiTags;
use crate::http::id_param::{IdParam, RazorpayEventId};
use crate::http::params::{Limit, PageNumber, TimeBound};
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};
use crate::http::wire::Wire;

/// A stored webhook event.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct WebhookEventBody {
    pub event_id: String,
    pub event: String,
    /// The raw body as received.
    pub payload: String,
    pub received_at: DateTime<Utc>,
    pub deliveries: u32,
    /// Absent until the event was applied (or found to need nothing); an
    /// event Bazaar could not read stays unapplied.
    #[oai(skip_serializing_if_is_none)]
    pub applied_at: Option<DateTime<Utc>>,
    /// What applying it did: `applied`, `no change`, `ignored: …`,
    /// `flagged: …` (the order's money needs staff), or `unparseable: …`.
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<String>,
}

impl From<&WebhookRecord> for WebhookEventBody {
    fn from(r: &WebhookRecord) -> Self {
        Self {
            event_id: r.event_id.clone(),
            event: r.event.clone(),
            payload: r.payload.clone(),
            received_at: r.received_at,
            deliveries: r.deliveries,
            applied_at: r.applied_at,
            outcome: r.outcome.clone(),
        }
    }
}

/// A page of stored webhook events, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct WebhookEventList {
    pub items: Vec<WebhookEventBody>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, Object)]
pub struct DayRevenueBody {
    /// The day in India (UTC+05:30).
    pub day: String,
    pub captured: i64,
    pub refunded: i64,
    /// `captured − refunded`, paise.
    pub net: i64,
}

#[derive(Debug, Clone, Object)]
pub struct StatusCountBody {
    pub status: Wire<OrderStatus>,
    pub orders: u64,
}

#[derive(Debug, Clone, Object)]
pub struct TopProductBody {
    pub product_id: String,
    pub name: String,
    pub units: u64,
    /// Paise.
    pub revenue: i64,
}

/// Sales over a date range.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "SalesSummary")]
pub struct SalesSummaryBody {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub revenue_by_day: Vec<DayRevenueBody>,
    /// Net revenue over the range, paise.
    pub net_revenue: i64,
    pub orders_by_status: Vec<StatusCountBody>,
    pub top_products: Vec<TopProductBody>,
    /// Orders created in the range that started checkout.
    pub checkouts: u64,
    pub paid_checkouts: u64,
    /// `paid_checkouts / checkouts`; absent when there were none.
    #[oai(skip_serializing_if_is_none)]
    pub payment_success_rate: Option<f64>,
}

fn summary_body(s: SalesSummary, from: DateTime<Utc>, to: DateTime<Utc>) -> SalesSummaryBody {
    SalesSummaryBody {
        from,
        to,
        net_revenue: s
            .revenue_by_day
            .iter()
            .map(|d| d.captured - d.refunded)
            .sum(),
        revenue_by_day: s
            .revenue_by_day
            .iter()
            .map(|d| DayRevenueBody {
                day: d.day.to_string(),
                captured: d.captured,
                refunded: d.refunded,
                net: d.captured - d.refunded,
            })
            .collect(),
        orders_by_status: s
            .orders_by_status
            .iter()
            .map(|(status, n)| StatusCountBody {
                status: Wire(*status),
                orders: *n,
            })
            .collect(),
        top_products: s
            .top_products
            .iter()
            .map(|p| TopProductBody {
                product_id: p.product_id.to_string(),
                name: p.name.clone(),
                units: p.units,
                revenue: p.revenue,
            })
            .collect(),
        checkouts: s.checkouts,
        paid_checkouts: s.paid_checkouts,
        payment_success_rate: (s.checkouts > 0)
            .then(|| s.paid_checkouts as f64 / s.checkouts as f64),
    }
}

#[derive(ApiResponse)]
pub enum WebhookEventsResponse {
    #[oai(status = 200)]
    Ok(Json<WebhookEventList>),
}

#[derive(ApiResponse)]
pub enum WebhookEventResponse {
    #[oai(status = 200)]
    Ok(Json<WebhookEventBody>),
}

#[derive(ApiResponse)]
pub enum SummaryResponse {
    #[oai(status = 200)]
    Ok(Json<SalesSummaryBody>),
}

fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, AppError> {
    parse_instant(field, raw).map_err(|e| AppError::invalid_parameter(field, e.message))
}

/// The admin side of payments: stored webhook events and the sales summary.
pub struct OrdersAdminApi {
    pub orders: Arc<Orders>,
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl OrdersAdminApi {
    /// List stored webhook events
    ///
    /// Admins. Newest first; `event` filters by type.
    #[oai(
        path = "/admin/webhooks",
        method = "get",
        operation_id = "listWebhookEvents"
    )]
    async fn list_webhook_events(
        &self,
        _auth: Permit<needs::WebhooksManage>,
        /// Event type, e.g. `payment.captured`.
        event: Query<Option<String>>,
        limit: Query<Option<Limit>>,
        page: Query<Option<PageNumber>>,
    ) -> Result<WebhookEventsResponse, Problems<OrderReadErrors>> {
        let limit = limit.0.map_or(20, |l| l.0) as u32;
        let page = page.0.map_or(1, |p| p.0) as u32;
        let (items, total) = self
            .orders
            .webhook_events(
                event.0.as_deref(),
                limit,
                u64::from(page - 1) * u64::from(limit),
            )
            .await?;
        Ok(WebhookEventsResponse::Ok(Json(WebhookEventList {
            items: items.iter().map(Into::into).collect(),
            total,
            page,
            limit,
        })))
    }

    /// Apply a stored webhook event again
    ///
    /// Admins. Safe at any time: applying is idempotent. An event Bazaar
    /// still cannot read is 409 `conflict` and stays as it was.
    #[oai(
        path = "/admin/webhooks/:event_id/actions/reapply",
        method = "post",
        operation_id = "reapplyWebhookEvent"
    )]
    async fn reapply_webhook_event(
        &self,
        _auth: Permit<needs::WebhooksManage>,
        event_id: Path<IdParam<RazorpayEventId>>,
    ) -> Result<WebhookEventResponse, Problems<OrderActionErrors>> {
        let record = self
            .orders
            .reapply_webhook(event_id.0.checked("event_id")?)
            .await?;
        Ok(WebhookEventResponse::Ok(Json((&record).into())))
    }

    /// Sales summary
    ///
    /// Admins. Revenue net of refunds by day (India time), orders by status,
    /// top products and the payment success rate, for orders created (and
    /// money moved) in `[from, to)`. Dates are India days; default: the last 30 days.
    /// `from` at or after `to` is an empty range.
    #[oai(
        path = "/analytics/summary",
        method = "get",
        operation_id = "getSalesSummary"
    )]
    async fn sales_summary(
        &self,
        _auth: Permit<needs::AnalyticsRead>,
        /// Start (inclusive): a date or an RFC 3339 time.
        from: Query<Option<TimeBound>>,
        /// End (exclusive): a date or an RFC 3339 time.
        to: Query<Option<TimeBound>>,
    ) -> Result<SummaryResponse, Problems<OrderReadErrors>> {
        // By default up to the next whole minute, so that repeated default
        // requests share one cached answer.
        let to = match to.0.as_ref().map(|t| t.0.as_str()) {
            Some(raw) => parse_time("to", raw)?,
            None => {
                let next_minute = (self.orders.now().timestamp() / 60 + 1) * 60;
                DateTime::from_timestamp(next_minute, 0).unwrap_or_default()
            }
        };
        let from = match from.0.as_ref().map(|t| t.0.as_str()) {
            Some(raw) => parse_time("from", raw)?,
            None => to
                .checked_sub_signed(chrono::Duration::days(30))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        };
        // `from` at or after `to` is an empty range, as for the order list: the
        // contract cannot relate two parameters, so it allows the pair.
        let summary = self.orders.summary(from, to).await?;
        Ok(SummaryResponse::Ok(Json(summary_body(summary, from, to))))
    }
}

impl Example for WebhookEventBody {
    fn example() -> Self {
        Self {
            event_id: "evt_IH4NVhHbBqkxVa".into(),
            event: "payment.captured".into(),
            payload: r#"{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_IH4NVgf4Dreq1l"}}}}"#.into(),
            received_at: example_time(121),
            deliveries: 1,
            applied_at: Some(example_time(121)),
            outcome: Some("applied".into()),
        }
    }
}

impl Example for WebhookEventList {
    fn example() -> Self {
        Self {
            items: vec![WebhookEventBody::example()],
            total: 1,
            page: 1,
            limit: 20,
        }
    }
}

impl Example for SalesSummaryBody {
    fn example() -> Self {
        Self {
            from: example_time(-30 * 86_400),
            to: example_time(0),
            revenue_by_day: vec![DayRevenueBody {
                day: "2025-12-31".into(),
                captured: 306_564,
                refunded: 50_000,
                net: 256_564,
            }],
            net_revenue: 256_564,
            orders_by_status: vec![StatusCountBody {
                status: Wire(OrderStatus::Paid),
                orders: 1,
            }],
            top_products: vec![TopProductBody {
                product_id: EXAMPLE_PRODUCT.into(),
                name: "Cotton kurta".into(),
                units: 2,
                revenue: 259_800,
            }],
            checkouts: 1,
            paid_checkouts: 1,
            payment_success_rate: Some(1.0),
        }
    }
}
