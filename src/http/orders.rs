//! `/api/v1/orders`, payments, the Razorpay webhook receiver, the admin view
//! of webhook events and the sales summary: thin handlers over `crate::app::orders`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::contract::ApiTags;
use super::idempotency::retry_of;
use super::json_body::{JsonBody, RawJson};
use super::listing::page_info;
use super::params::{
    BoolText, CursorText, Limit, OrderSortParam, OrderStatusParam, PageNumber, SettableOrderStatus,
    TimeBound,
};
use super::problem::Problems;
use super::security::{require, BearerAuth};
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Identity;
use crate::app::orders::{Checkout, Orders, Placed, Received};
use crate::domain::analytics::SalesSummary;
use crate::domain::order::{Flag, LedgerEntry, Order, RawAddress, RawLine};
use crate::domain::order_query::{parse_instant, RawOrderQuery};
use crate::domain::webhook::WebhookRecord;
use crate::{error_set, list_object};
use bazaar_adapters::razorpay::FakeRazorpay;

error_set!(
    /// Errors of creating an order.
    idempotent CreateOrderErrors: 400, 401, 403, 409, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of starting a payment.
    idempotent PaymentErrors: 400, 401, 403, 404, 409, 422, 429, 500, 502, 503
);
error_set!(
    /// Errors of refunding (which takes a body).
    idempotent RefundErrors: 400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503
);
error_set!(
    /// Errors of reading orders.
    OrderReadErrors: 400, 401, 403, 404, 429, 500, 503
);
error_set!(
    /// Errors of changing an order or its payment.
    OrderActionErrors: 400, 401, 403, 404, 409, 422, 429, 500, 502, 503
);
error_set!(
    /// Errors of changing an order or its payment with a body.
    OrderBodyActionErrors: 400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503
);
error_set!(
    /// Errors of the webhook receiver.
    WebhookErrors: 400, 401, 409, 413, 415, 429, 500, 502, 503
);

const BASE: &str = "/api/v1/orders";

/// One line to order.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    /// Product id (24 hexadecimal characters).
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    pub product_id: String,
    /// Units: at least 1, at most `BAZAAR_ORDER_PRODUCT_UNITS_MAX` (10 by
    /// default) of one product per order.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub quantity: i64,
}

/// A shipping address in India.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields, rename = "Address")]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub name: String,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub line1: String,
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    #[serde(default)]
    pub line2: Option<String>,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub city: String,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub state: String,
    /// Six-digit PIN code.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub postal_code: String,
    /// Contact phone for delivery.
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$")
    )]
    #[serde(default)]
    pub phone: Option<String>,
}

/// An order to place.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// 1–50 lines; a product listed twice is ordered once with the quantities added.
    #[oai(validator(min_items = 1, max_items = 50))]
    pub items: Vec<OrderLineInput>,
    #[serde(default)]
    pub address: Option<AddressBody>,
    /// At most 500 characters.
    #[serde(default)]
    #[oai(validator(max_length = 500))]
    pub notes: Option<String>,
}

/// A line of an order, as it was when ordered.
#[derive(Debug, Clone, Object)]
pub struct OrderItemBody {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    /// Paise.
    pub unit_price: i64,
    pub quantity: u32,
    /// `unit_price × quantity`, paise.
    pub line_total: i64,
}

/// One money movement.
#[derive(Debug, Clone, Object)]
pub struct LedgerEntryBody {
    /// `capture` or `refund`.
    pub kind: String,
    /// Razorpay's id of the movement (`pay_…` or `rfnd_…`).
    pub provider_id: String,
    pub payment_id: String,
    /// In the minor unit of `currency` (paise for INR).
    pub amount: i64,
    /// ISO 4217, as Razorpay reported it. Only entries in the order's currency
    /// count in `captured` and `refunded`; another is a mismatch.
    pub currency: String,
    /// `pending`, `settled` or `failed`.
    pub status: String,
    pub recorded_at: DateTime<Utc>,
}

/// Something wrong with the order's money that staff should look at.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OrderFlag")]
pub struct FlagBody {
    /// `payment_mismatch`: a payment (authorised or captured) not for the
    /// order's total in its currency; it did not pay the order.
    /// `refund_exceeds_capture`: Razorpay reported a refund larger than what
    /// is left of its payment's capture; it was not recorded.
    pub reason: String,
    /// The Razorpay id it is about (`pay_…` or `rfnd_…`).
    pub subject: String,
    /// For people: the amounts and currencies involved.
    pub detail: String,
    pub flagged_at: DateTime<Utc>,
}

impl From<&Flag> for FlagBody {
    fn from(f: &Flag) -> Self {
        Self {
            reason: f.reason.as_str().into(),
            subject: f.subject.clone(),
            detail: f.detail.clone(),
            flagged_at: f.flagged_at,
        }
    }
}

impl From<&LedgerEntry> for LedgerEntryBody {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            kind: e.kind.as_str().into(),
            provider_id: e.provider_id.clone(),
            payment_id: e.payment_id.clone(),
            amount: e.amount.get(),
            currency: e.currency.clone(),
            status: e.status.as_str().into(),
            recorded_at: e.recorded_at,
        }
    }
}

/// An order.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "Order")]
pub struct OrderBody {
    pub id: String,
    pub user_id: String,
    /// `pending_payment`, `payment_mismatch`, `paid`, `fulfilled`, `shipped`,
    /// `delivered`, `cancelled`, `expired` or `refunded` (see
    /// `docs/orders.md`). `payment_mismatch`: money was captured, but not the
    /// order's total in its currency; not paid, and held for staff.
    pub status: String,
    pub items: Vec<OrderItemBody>,
    pub currency: String,
    /// Paise.
    pub subtotal: i64,
    /// GST on the subtotal, rounded half up to the paisa.
    pub tax: i64,
    /// GST rate in basis points (1800 = 18%).
    pub tax_rate_bp: u32,
    /// `subtotal + tax`, paise: what the customer pays.
    pub total: i64,
    /// Captured so far (from the ledger), paise.
    pub captured: i64,
    /// Refunded or being refunded, paise.
    pub refunded: i64,
    /// What can still be refunded, paise.
    pub refundable: i64,
    #[oai(skip_serializing_if_is_none)]
    pub address: Option<AddressBody>,
    #[oai(skip_serializing_if_is_none)]
    pub notes: Option<String>,
    /// Razorpay's order id once checkout started.
    #[oai(skip_serializing_if_is_none)]
    pub razorpay_order_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub payment_id: Option<String>,
    /// Why the last payment attempt failed, while unpaid.
    #[oai(skip_serializing_if_is_none)]
    pub last_payment_failure: Option<String>,
    /// Every capture and refund.
    pub ledger: Vec<LedgerEntryBody>,
    /// What staff should look at, oldest first; empty for almost every order.
    pub flags: Vec<FlagBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An unpaid order expires then.
    pub expires_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&Order> for OrderBody {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id.to_string(),
            user_id: o.user_id.to_string(),
            status: o.status.as_str().into(),
            items: o
                .items
                .iter()
                .map(|i| OrderItemBody {
                    product_id: i.product_id.to_string(),
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    unit_price: i.unit_price.get(),
                    quantity: i.quantity,
                    line_total: i.line_total.get(),
                })
                .collect(),
            currency: o.currency.as_str().into(),
            subtotal: o.subtotal.get(),
            tax: o.tax.get(),
            tax_rate_bp: o.tax_rate_bp,
            total: o.total.get(),
            captured: o.captured(),
            refunded: o.refunded(),
            refundable: o.refundable(),
            address: o.address.as_ref().map(|a| AddressBody {
                name: a.name.clone(),
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                phone: a.phone.clone(),
            }),
            notes: o.notes.clone(),
            razorpay_order_id: o.payment.provider_order_id.clone(),
            payment_id: o.payment.payment_id.clone(),
            last_payment_failure: o.payment.last_failure.clone(),
            ledger: o.ledger.iter().map(Into::into).collect(),
            flags: o.flags.iter().map(Into::into).collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            expires_at: o.expires_at,
            version: o.version,
        }
    }
}

list_object!(
    /// One page of orders, newest first unless `sort` says otherwise.
    #[oai(example)]
    OrderList,
    OrderBody
);

/// A refund to make.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Paise; omit to refund everything still refundable.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// A fulfilment step.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `fulfilled`, `shipped` or `delivered`; only forward.
    pub status: SettableOrderStatus,
}

/// Who is paying, for Checkout's form.
#[derive(Debug, Clone, Object)]
pub struct CheckoutPrefill {
    pub name: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// Phone, E.164.
    pub contact: String,
}

/// Everything Razorpay Checkout needs: pass these as its options.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "Checkout")]
pub struct CheckoutBody {
    pub order_id: String,
    /// Checkout's `key`.
    pub key_id: String,
    /// Checkout's `order_id`.
    pub razorpay_order_id: String,
    /// Paise.
    pub amount: i64,
    pub currency: String,
    pub prefill: CheckoutPrefill,
}

impl From<Checkout> for CheckoutBody {
    fn from(c: Checkout) -> Self {
        Self {
            order_id: c.order.id.to_string(),
            key_id: c.key_id,
            razorpay_order_id: c.provider_order_id,
            amount: c.order.total.get(),
            currency: c.order.currency.as_str().into(),
            prefill: CheckoutPrefill {
                name: c.name,
                email: c.email,
                contact: c.contact,
            },
        }
    }
}

/// What Razorpay Checkout's handler received, passed on unchanged.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    pub razorpay_order_id: String,
    pub razorpay_payment_id: String,
    pub razorpay_signature: String,
}

/// The receiver's answer to Razorpay.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct WebhookAck {
    /// `applied` (new), `duplicate` (seen before; nothing changed) or
    /// `unparseable` (verified and stored, but Bazaar could not read it; staff
    /// see it under `/api/v1/admin/webhooks` and can apply it again).
    pub status: String,
}

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
    pub status: String,
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
                status: status.as_str().into(),
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
pub enum CreateOrderResponse {
    /// Created; stock is reserved until the order is paid, cancelled or expires.
    #[oai(
        status = 201,
        header(
            name = "Idempotent-Replayed",
            ty = "Option<bool>",
            description = "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`."
        )
    )]
    Created(Json<OrderBody>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum OrderResponse {
    #[oai(status = 200)]
    Ok(Json<OrderBody>),
}

#[derive(ApiResponse)]
pub enum OrderListResponse {
    #[oai(status = 200)]
    Ok(Json<OrderList>),
}

#[derive(ApiResponse)]
pub enum CheckoutResponse {
    /// Open Razorpay Checkout with these.
    #[oai(
        status = 200,
        header(
            name = "Idempotent-Replayed",
            ty = "Option<bool>",
            description = "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`."
        )
    )]
    Ok(Json<CheckoutBody>),
}

#[derive(ApiResponse)]
pub enum RefundResponse {
    /// The order with the refund in its ledger (`pending` until Razorpay processes it).
    #[oai(
        status = 200,
        header(
            name = "Idempotent-Replayed",
            ty = "Option<bool>",
            description = "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`."
        )
    )]
    Ok(Json<OrderBody>),
}

#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// Verified and stored (and applied, or seen before).
    #[oai(status = 200)]
    Ok(Json<WebhookAck>),
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

pub struct OrdersApi {
    pub orders: Arc<Orders>,
    pub identity: Arc<Identity>,
}

fn ok(order: &Order) -> OrderResponse {
    OrderResponse::Ok(Json(order.into()))
}

fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, AppError> {
    parse_instant(field, raw).map_err(|e| AppError::invalid_parameter(field, e.message))
}

impl OrdersApi {
    #[allow(clippy::too_many_arguments)]
    async fn list_page(
        &self,
        who: &crate::app::identity::Principal,
        base: &str,
        of_user: Option<&str>,
        status: Option<String>,
        flagged: Option<String>,
        from: Option<String>,
        to: Option<String>,
        sort: Option<String>,
        limit: Option<Limit>,
        cursor: Option<CursorText>,
        page: Option<PageNumber>,
    ) -> Result<OrderListResponse, AppError> {
        let raw = RawOrderQuery {
            status,
            flagged,
            from,
            to,
            sort,
            limit: limit.map(|l| l.0),
            cursor: cursor.map(|c| c.0),
            page: page.map(|p| p.0),
        };
        let (query, result) = self.orders.list(who, &raw, of_user).await?;
        let params = [
            ("status", raw.status.clone()),
            ("flagged", raw.flagged.clone()),
            ("from", raw.from.clone()),
            ("to", raw.to.clone()),
            ("sort", raw.sort.clone()),
        ];
        let info = page_info(
            base,
            &params,
            query.limit,
            &query.pagination,
            raw.cursor.as_deref(),
            result.has_next,
            result.total,
            || result.items.last().map(|o| query.next_cursor(o)),
        );
        Ok(OrderListResponse::Ok(Json(OrderList::new(
            result.items.iter().map(OrderBody::from).collect(),
            info,
        ))))
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Place an order
    ///
    /// Snapshots each product's name and price, adds GST, and reserves the
    /// stock of every item — all or none (409 `insufficient_stock` names the
    /// item). Pay for it with `createPayment` before `expires_at`.
    #[oai(path = "/orders", method = "post", operation_id = "createOrder")]
    async fn create_order(
        &self,
        auth: BearerAuth,
        body: JsonBody<OrderInput>,
        // Applied by `http::idempotency` before this runs; declared for the contract.
        /// Makes retries safe: the same request with the same key is answered
        /// once and then replayed (`Idempotent-Replayed: true`).
        /// 1–255 printable ASCII characters; a random UUID per attempt.
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = "^[ -~]+$")
        )]
        _idempotency_key: Header<Option<String>>,
        req: &Request,
    ) -> Result<CreateOrderResponse, Problems<CreateOrderErrors>> {
        require(&self.identity, &auth.0, "orders:write", req).await?;
        let input = body.0;
        let lines: Vec<RawLine> = input
            .items
            .iter()
            .map(|l| RawLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
            })
            .collect();
        let address = input.address.map(|a| RawAddress {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            phone: a.phone,
        });
        let retry = retry_of(req);
        let placed = self
            .orders
            .create(
                &auth.0,
                &lines,
                address.as_ref(),
                input.notes.as_deref(),
                retry.map(|r| &r.key),
            )
            .await?;
        if let (Placed::Found(_), Some(retry)) = (&placed, retry) {
            retry.found_earlier();
        }
        let order = placed.order();
        Ok(CreateOrderResponse::Created(
            Json(order.into()),
            format!("{BASE}/{}", order.id),
        ))
    }

    /// List orders
    ///
    /// Your own orders; staff see everyone's. Filter by `status`, by whether
    /// the order has `flags` for staff (`flagged=true`), and by creation time
    /// (`from` inclusive, `to` exclusive: a date or an RFC 3339 time). The
    /// standard list conventions: `limit`, `cursor` or `page`.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/orders", method = "get", operation_id = "listOrders")]
    async fn list_orders(
        &self,
        auth: BearerAuth,
        /// One order status.
        status: Query<Option<OrderStatusParam>>,
        /// `true`: only orders with flags for staff; `false`: only those without.
        flagged: Query<Option<BoolText>>,
        /// Created at or after.
        from: Query<Option<TimeBound>>,
        /// Created before.
        to: Query<Option<TimeBound>>,
        /// `-created_at` (default) or `created_at`.
        sort: Query<Option<OrderSortParam>>,
        limit: Query<Option<Limit>>,
        cursor: Query<Option<CursorText>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<OrderListResponse, Problems<OrderReadErrors>> {
        require(&self.identity, &auth.0, "orders:read", req).await?;
        Ok(self
            .list_page(
                &auth.0,
                BASE,
                None,
                status.0.map(String::from),
                flagged.0.map(String::from),
                from.0.map(String::from),
                to.0.map(String::from),
                sort.0.map(String::from),
                limit.0,
                cursor.0,
                page.0,
            )
            .await?)
    }

    /// List a user's orders
    ///
    /// Your own (`id` is your user id), or anyone's for staff; 404 otherwise.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/users/:id/orders",
        method = "get",
        operation_id = "listUserOrders"
    )]
    async fn list_user_orders(
        &self,
        auth: BearerAuth,
        /// User id.
        id: Path<String>,
        status: Query<Option<OrderStatusParam>>,
        from: Query<Option<TimeBound>>,
        to: Query<Option<TimeBound>>,
        sort: Query<Option<OrderSortParam>>,
        limit: Query<Option<Limit>>,
        cursor: Query<Option<CursorText>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<OrderListResponse, Problems<OrderReadErrors>> {
        require(&self.identity, &auth.0, "orders:read", req).await?;
        let base = format!("/api/v1/users/{}/orders", id.0);
        Ok(self
            .list_page(
                &auth.0,
                &base,
                Some(&id.0),
                status.0.map(String::from),
                None,
                from.0.map(String::from),
                to.0.map(String::from),
                sort.0.map(String::from),
                limit.0,
                cursor.0,
                page.0,
            )
            .await?)
    }

    /// Get an order
    ///
    /// Its owner or staff; 404 for anyone else.
    #[oai(path = "/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get_order(
        &self,
        auth: BearerAuth,
        /// Order id.
        id: Path<String>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderReadErrors>> {
        require(&self.identity, &auth.0, "orders:read", req).await?;
        Ok(ok(&self.orders.get(&auth.0, &id.0).await?))
    }

    /// Cancel an order
    ///
    /// The owner, before payment; staff until fulfilment (refunding what was
    /// captured). Releases the stock. 409 `illegal_transition` otherwise.
    #[oai(
        path = "/orders/:id/actions/cancel",
        method = "post",
        operation_id = "cancelOrder"
    )]
    async fn cancel_order(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderActionErrors>> {
        require(&self.identity, &auth.0, "orders:write", req).await?;
        Ok(ok(&self.orders.cancel(&auth.0, &id.0).await?))
    }

    /// Refund an order
    ///
    /// Staff. Refunds `amount` paise (everything refundable if omitted)
    /// through Razorpay; more than was captured and not yet refunded is 409
    /// `refund_exceeds_captured`.
    #[oai(
        path = "/orders/:id/actions/refund",
        method = "post",
        operation_id = "refundOrder"
    )]
    async fn refund_order(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: JsonBody<RefundInput>,
        // Replayed by `http::idempotency`; also makes Razorpay's own refund key.
        /// Makes retries safe: the same request with the same key is answered
        /// once and then replayed (`Idempotent-Replayed: true`).
        /// 1–255 printable ASCII characters; a random UUID per attempt.
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = "^[ -~]+$")
        )]
        idempotency_key: Header<Option<String>>,
        req: &Request,
    ) -> Result<RefundResponse, Problems<RefundErrors>> {
        require(&self.identity, &auth.0, "payments:refund", req).await?;
        let order = self
            .orders
            .refund(&id.0, body.0.amount, idempotency_key.0.as_deref())
            .await?;
        Ok(RefundResponse::Ok(Json((&order).into())))
    }

    /// Move an order along fulfilment
    ///
    /// Staff: `fulfilled`, `shipped`, `delivered`, forward only (a step may be
    /// skipped); 409 `illegal_transition` names both states otherwise.
    #[oai(
        path = "/orders/:id/status",
        method = "put",
        operation_id = "setOrderStatus"
    )]
    async fn set_order_status(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        body: JsonBody<StatusInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyActionErrors>> {
        require(&self.identity, &auth.0, "orders:manage", req).await?;
        Ok(ok(&self.orders.set_status(&id.0, &body.0.status.0).await?))
    }

    /// Start paying for an order
    ///
    /// Creates the Razorpay order (once; later calls reuse it) and answers the
    /// options for Razorpay Checkout. When Checkout succeeds, send its result
    /// to `verifyPayment`.
    #[oai(
        path = "/orders/:id/payments",
        method = "post",
        operation_id = "createPayment"
    )]
    async fn create_payment(
        &self,
        auth: BearerAuth,
        id: Path<String>,
        // Applied by `http::idempotency` before this runs; declared for the contract.
        /// Makes retries safe: the same request with the same key is answered
        /// once and then replayed (`Idempotent-Replayed: true`).
        /// 1–255 printable ASCII characters; a random UUID per attempt.
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = "^[ -~]+$")
        )]
        _idempotency_key: Header<Option<String>>,
        req: &Request,
    ) -> Result<CheckoutResponse, Problems<PaymentErrors>> {
        require(&self.identity, &auth.0, "orders:write", req).await?;
        let checkout = self.orders.checkout(&auth.0, &id.0).await?;
        Ok(CheckoutResponse::Ok(Json(checkout.into())))
    }

    /// Verify a payment
    ///
    /// Checks Checkout's signature (401 `invalid_signature` if it does not
    /// verify), asks Razorpay about the payment, captures it if it is only
    /// authorised, and answers the order as it is now: `paid` only when the
    /// payment is for exactly the order's `total` in its `currency`. Any other
    /// payment is never captured (a captured one leaves the order
    /// `payment_mismatch`) and is flagged for staff in `flags`. Webhooks for
    /// the same payment, before or after, change nothing more.
    #[oai(
        path = "/payments/verify",
        method = "post",
        operation_id = "verifyPayment"
    )]
    async fn verify_payment(
        &self,
        auth: BearerAuth,
        body: JsonBody<VerifyInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyActionErrors>> {
        require(&self.identity, &auth.0, "orders:write", req).await?;
        let input = body.0;
        let order = self
            .orders
            .verify(
                &auth.0,
                &input.razorpay_order_id,
                &input.razorpay_payment_id,
                &input.razorpay_signature,
            )
            .await?;
        Ok(ok(&order))
    }

    /// Receive a Razorpay webhook
    ///
    /// For Razorpay, not for clients. Verifies `X-Razorpay-Signature` over the
    /// raw body before anything else (401, nothing stored, if it does not),
    /// stores every verified event once per `X-Razorpay-Event-Id` and applies
    /// it. One Bazaar cannot read is stored unapplied for staff and answered
    /// 200 `unparseable`. A redelivery answers 200 and changes nothing. 5xx
    /// means "deliver again".
    #[oai(
        path = "/webhooks/razorpay",
        method = "post",
        operation_id = "receiveRazorpayWebhook"
    )]
    async fn receive_webhook(
        &self,
        body: RawJson,
        #[oai(name = "X-Razorpay-Signature")] signature: Header<Option<String>>,
        #[oai(name = "X-Razorpay-Event-Id")] event_id: Header<Option<String>>,
    ) -> Result<WebhookResponse, Problems<WebhookErrors>> {
        let received = self
            .orders
            .receive_webhook(&body.0, signature.0.as_deref(), event_id.0.as_deref())
            .await?;
        let status = match received {
            Received::Applied => "applied",
            Received::Duplicate => "duplicate",
            Received::Unparseable => "unparseable",
        };
        Ok(WebhookResponse::Ok(Json(WebhookAck {
            status: status.into(),
        })))
    }
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
        auth: BearerAuth,
        /// Event type, e.g. `payment.captured`.
        event: Query<Option<String>>,
        limit: Query<Option<Limit>>,
        page: Query<Option<PageNumber>>,
        req: &Request,
    ) -> Result<WebhookEventsResponse, Problems<OrderReadErrors>> {
        require(&self.identity, &auth.0, "webhooks:manage", req).await?;
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
        auth: BearerAuth,
        event_id: Path<String>,
        req: &Request,
    ) -> Result<WebhookEventResponse, Problems<OrderActionErrors>> {
        require(&self.identity, &auth.0, "webhooks:manage", req).await?;
        let record = self.orders.reapply_webhook(&event_id.0).await?;
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
        auth: BearerAuth,
        /// Start (inclusive): a date or an RFC 3339 time.
        from: Query<Option<TimeBound>>,
        /// End (exclusive): a date or an RFC 3339 time.
        to: Query<Option<TimeBound>>,
        req: &Request,
    ) -> Result<SummaryResponse, Problems<OrderReadErrors>> {
        require(&self.identity, &auth.0, "analytics:read", req).await?;
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

/// The development route that completes a checkout with the fake Razorpay.
pub struct PaymentsDevApi {
    pub orders: Arc<Orders>,
    /// `None` in production and with real Razorpay keys.
    pub fake: Option<Arc<FakeRazorpay>>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Development")]
impl PaymentsDevApi {
    /// Complete a checkout with the fake Razorpay
    ///
    /// Development only (404 in production and with real Razorpay keys): the
    /// customer "pays" the Razorpay order in full, and Razorpay's signed
    /// webhooks (`payment.authorized`, `payment.captured`, `order.paid`) are
    /// delivered to this server's receiver. Calling it again for a paid order
    /// delivers the same webhooks again (Razorpay's at-least-once delivery).
    /// Answers the order afterwards.
    #[oai(
        path = "/dev/payments/:razorpay_order_id/capture",
        method = "post",
        operation_id = "devCapturePayment"
    )]
    async fn dev_capture(
        &self,
        razorpay_order_id: Path<String>,
    ) -> Result<OrderResponse, Problems<OrderActionErrors>> {
        let not_found = || AppError::new(ErrorCode::NotFound, "no resource exists at this path");
        let fake = self.fake.as_ref().ok_or_else(not_found)?;
        let order = self
            .orders
            .pay_with_fake(fake, &razorpay_order_id.0)
            .await?;
        Ok(ok(&order))
    }
}

fn example_time(offset_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + offset_secs, 0).unwrap_or_default()
}

const EXAMPLE_ORDER: &str = "6650c0ffee0000000000c001";
const EXAMPLE_PRODUCT: &str = "6650c0ffee0000000000b001";

impl Example for OrderInput {
    fn example() -> Self {
        Self {
            items: vec![OrderLineInput {
                product_id: EXAMPLE_PRODUCT.into(),
                quantity: 2,
            }],
            address: Some(AddressBody {
                name: "Asha Rao".into(),
                line1: "12, 4th Cross, Indiranagar".into(),
                line2: None,
                city: "Bengaluru".into(),
                state: "Karnataka".into(),
                postal_code: "560038".into(),
                phone: Some("+919812345678".into()),
            }),
            notes: Some("Please call before delivery".into()),
        }
    }
}

impl Example for RefundInput {
    fn example() -> Self {
        Self {
            amount: Some(50_000),
        }
    }
}

impl Example for StatusInput {
    fn example() -> Self {
        Self {
            status: "shipped".into(),
        }
    }
}

impl Example for VerifyInput {
    fn example() -> Self {
        Self {
            razorpay_order_id: "order_IEIaMR65cu6nz3".into(),
            razorpay_payment_id: "pay_IH4NVgf4Dreq1l".into(),
            razorpay_signature: "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f"
                .into(),
        }
    }
}

impl Example for OrderBody {
    fn example() -> Self {
        Self {
            id: EXAMPLE_ORDER.into(),
            user_id: "6650c0ffee0000000000a001".into(),
            status: "paid".into(),
            items: vec![OrderItemBody {
                product_id: EXAMPLE_PRODUCT.into(),
                sku: "KURTA-M-BLUE".into(),
                name: "Cotton kurta".into(),
                unit_price: 129_900,
                quantity: 2,
                line_total: 259_800,
            }],
            currency: "INR".into(),
            subtotal: 259_800,
            tax: 46_764,
            tax_rate_bp: 1800,
            total: 306_564,
            captured: 306_564,
            refunded: 0,
            refundable: 306_564,
            address: OrderInput::example().address,
            notes: None,
            razorpay_order_id: Some("order_IEIaMR65cu6nz3".into()),
            payment_id: Some("pay_IH4NVgf4Dreq1l".into()),
            last_payment_failure: None,
            ledger: vec![LedgerEntryBody {
                kind: "capture".into(),
                provider_id: "pay_IH4NVgf4Dreq1l".into(),
                payment_id: "pay_IH4NVgf4Dreq1l".into(),
                amount: 306_564,
                currency: "INR".into(),
                status: "settled".into(),
                recorded_at: example_time(120),
            }],
            flags: Vec::new(),
            created_at: example_time(0),
            updated_at: example_time(120),
            expires_at: example_time(1800),
            version: 3,
        }
    }
}

impl Example for OrderList {
    fn example() -> Self {
        Self {
            items: vec![OrderBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: None,
            total: None,
            total_pages: None,
            links: super::listing::PageLinks {
                this: "/api/v1/orders?status=paid&limit=20".into(),
                first: "/api/v1/orders?status=paid&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}

impl Example for CheckoutBody {
    fn example() -> Self {
        Self {
            order_id: EXAMPLE_ORDER.into(),
            key_id: "rzp_test_1DP5mmOlF5G5ag".into(),
            razorpay_order_id: "order_IEIaMR65cu6nz3".into(),
            amount: 306_564,
            currency: "INR".into(),
            prefill: CheckoutPrefill {
                name: "Asha Rao".into(),
                email: Some("asha@example.in".into()),
                contact: "+919812345678".into(),
            },
        }
    }
}

impl Example for WebhookAck {
    fn example() -> Self {
        Self {
            status: "applied".into(),
        }
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
                status: "paid".into(),
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
