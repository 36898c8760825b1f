//! `/api/v1/orders`: placing, listing, reading, cancelling and refunding
//! orders (`OrdersApi`), with the bodies they take. Reads answer an
//! `ETag` and honour `If-None-Match`; changes honour `If-Match` (`http::conditional`).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::body::{AddressBody, OrderBody, OrderList};
use super::{etag, ok, OrderBodyWriteErrors, OrderReadErrors, OrderResponse, EXAMPLE_PRODUCT};
use crate::app::errors::AppError;
use crate::app::identity::Identity;
use crate::app::orders::create::Placed;
use crate::app::orders::{ActionNote, Orders};
use crate::domain::ids::{OrderId, UserId};
use crate::domain::order::request::{RawAddress, RawLine};
use crate::domain::order_query::RawOrderQuery;
use crate::error_set;
use crate::http::conditional::{not_modified, precondition, IfMatchHeader, IfNoneMatch};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::{JsonBody, OptionalJsonBody};
use crate::http::listing::{page_of, Paging};
use crate::http::params::{
    BoolText, OrderSortParam, OrderStatusParam, PaymentMethodParam, TimeBound,
};
use crate::http::problem::Problems;
use crate::http::security::{context, needs, Permit};

error_set!(
    /// Errors of creating an order.
    CreateOrderErrors: ANY, PERMITTED, BODY; InsufficientStock, TooManyUnpaidOrders, Conflict
);
error_set!(
    /// Errors of refunding (which takes a body).
    RefundErrors: ANY, PERMITTED, BODY, PAYMENT_PROVIDER; NotFound, IllegalTransition, RefundExceedsCaptured, PreconditionFailed
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
    /// The variant to buy (24 hexadecimal characters, from the product's `variants`).
    /// Omitted: the product's only variant; a product with several answers 422 on
    /// `items[i].variant_id`.
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    #[serde(default)]
    pub variant_id: Option<String>,
    /// Units: at least 1, at most `BAZAAR_ORDER_PRODUCT_UNITS_MAX` (10 by
    /// default) of one product per order.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub quantity: i64,
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
    /// `razorpay` (the default: pay with `createPayment`) or `cod`, cash on
    /// delivery: only for a customer with a verified phone and a total up to
    /// `BAZAAR_COD_MAX_ORDER_PAISE` (422 on `payment_method` otherwise, with
    /// `cod_phone_unverified` or `cod_above_limit`). A COD order is confirmed
    /// with the code sent to that phone (`confirmCodOrder`) before `expires_at`.
    #[serde(default)]
    pub payment_method: Option<PaymentMethodParam>,
}

/// A refund to make.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Paise; omit to refund everything still refundable.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Why, for the audit trail (`order_refunded`); at most 500 characters.
    #[serde(default)]
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub reason: Option<String>,
}

/// A cancellation's detail; the body may be left out.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why, for the audit trail (`order_cancelled`); at most 500 characters.
    #[serde(default)]
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub reason: Option<String>,
}

/// What the audit trail records of a change beside its actor.
pub(super) fn note(reason: Option<String>, req: &Request) -> ActionNote {
    ActionNote {
        reason,
        context: context(req),
    }
}

#[derive(ApiResponse)]
pub enum CreateOrderResponse {
    /// Created; stock is reserved until the order is paid, cancelled or expires.
    #[oai(status = 201)]
    Created(Json<OrderBody>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum OrderListResponse {
    #[oai(status = 200)]
    Ok(Json<OrderList>),
}

#[derive(ApiResponse)]
pub enum RefundResponse {
    /// The order with the refund in its ledger (`pending` until Razorpay processes it).
    #[oai(status = 200)]
    Ok(Json<OrderBody>, #[oai(header = "ETag")] String),
}

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
pub enum GetOrderResponse {
    /// The order, with its version tag.
    #[oai(status = 200)]
    Ok(Json<OrderBody>, #[oai(header = "ETag")] String),
    /// The order has not changed since the `If-None-Match` tag.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

pub struct OrdersApi {
    pub orders: Arc<Orders>,
    pub identity: Arc<Identity>,
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
        paging: Paging,
    ) -> Result<OrderListResponse, AppError> {
        let raw = RawOrderQuery {
            status,
            flagged,
            from,
            to,
            sort,
            paging: paging.0,
        };
        let (query, result) = self.orders.list(who, &raw, of_user).await?;
        let params = [
            ("status", raw.status.clone()),
            ("flagged", raw.flagged.clone()),
            ("from", raw.from.clone()),
            ("to", raw.to.clone()),
            ("sort", raw.sort.clone()),
        ];
        let info = page_of(base, &params, &raw.paging, &query, &result);
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
        auth: Permit<needs::OrdersWrite>,
        body: JsonBody<OrderInput>,
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
    ) -> Result<CreateOrderResponse, Problems<CreateOrderErrors>> {
        let input = body.0;
        let lines: Vec<RawLine> = input
            .items
            .iter()
            .map(|l| RawLine {
                product_id: l.product_id.clone(),
                variant_id: l.variant_id.clone(),
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
            landmark: a.landmark,
        });
        let retry = idempotency_key.retry();
        let placed = self
            .orders
            .create_paid_by(
                &auth.0,
                &lines,
                address.as_ref(),
                input.notes.as_deref(),
                input.payment_method.as_ref().map(|m| m.0.as_str()),
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
        auth: Permit<needs::OrdersRead>,
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
        paging: Paging,
    ) -> Result<OrderListResponse, Problems<OrderReadErrors>> {
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
                paging,
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
        auth: Permit<needs::OrdersRead>,
        /// User id.
        id: Path<IdParam<UserId>>,
        status: Query<Option<OrderStatusParam>>,
        from: Query<Option<TimeBound>>,
        to: Query<Option<TimeBound>>,
        sort: Query<Option<OrderSortParam>>,
        paging: Paging,
    ) -> Result<OrderListResponse, Problems<OrderReadErrors>> {
        let id = id.0.checked("id")?;
        let base = format!("/api/v1/users/{id}/orders");
        Ok(self
            .list_page(
                &auth.0,
                &base,
                Some(id),
                status.0.map(String::from),
                None,
                from.0.map(String::from),
                to.0.map(String::from),
                sort.0.map(String::from),
                paging,
            )
            .await?)
    }

    /// Get an order
    ///
    /// Its owner or staff; 404 for anyone else. Send the `ETag` of a copy you
    /// hold as `If-None-Match` to get 304 when it has not changed.
    #[oai(path = "/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get_order(
        &self,
        auth: Permit<needs::OrdersRead>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<IfNoneMatch>>,
    ) -> Result<GetOrderResponse, Problems<OrderReadErrors>> {
        let order = self.orders.get(&auth.0, id.0.checked("id")?).await?;
        let tag = etag(&order);
        if not_modified(if_none_match.0.as_ref(), &tag) {
            return Ok(GetOrderResponse::NotModified(tag.into()));
        }
        Ok(GetOrderResponse::Ok(Json((&order).into()), tag.into()))
    }

    /// Cancel an order
    ///
    /// The owner, before payment; staff until fulfilment (refunding what was
    /// captured). Releases the stock. 409 `illegal_transition` otherwise.
    /// With `If-Match`, only the version it names is cancelled (412 otherwise).
    /// The body is optional: a `reason` for the audit trail, where the
    /// cancellation is recorded as `order_cancelled` with whoever cancelled.
    #[oai(
        path = "/orders/:id/actions/cancel",
        method = "post",
        operation_id = "cancelOrder"
    )]
    async fn cancel_order(
        &self,
        auth: Permit<needs::OrdersWrite>,
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: OptionalJsonBody<CancelInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyWriteErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let reason = body.0.and_then(|b| b.reason);
        Ok(ok(&self
            .orders
            .cancel(
                &auth.0,
                id.0.checked("id")?,
                precondition.as_ref(),
                &note(reason, req),
            )
            .await?))
    }

    /// Refund an order
    ///
    /// Staff. Refunds `amount` paise (everything refundable if omitted)
    /// through Razorpay; more than was captured and not yet refunded is 409
    /// `refund_exceeds_captured`. With `If-Match`, only the version it names is
    /// refunded (412 otherwise, nothing refunded). Audited as `order_refunded`
    /// with the acting staff member, the amount and the `reason`.
    #[oai(
        path = "/orders/:id/actions/refund",
        method = "post",
        operation_id = "refundOrder"
    )]
    async fn refund_order(
        &self,
        auth: Permit<needs::PaymentsRefund>,
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<RefundInput>,
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
        req: &Request,
    ) -> Result<RefundResponse, Problems<RefundErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let order = self
            .orders
            .refund(
                &auth.0,
                id.0.checked("id")?,
                body.0.amount,
                idempotency_key.raw(),
                precondition.as_ref(),
                &note(body.0.reason, req),
            )
            .await?;
        Ok(RefundResponse::Ok(
            Json((&order).into()),
            etag(&order).into(),
        ))
    }
}

impl Example for OrderInput {
    fn example() -> Self {
        Self {
            items: vec![OrderLineInput {
                product_id: EXAMPLE_PRODUCT.into(),
                variant_id: Some("6650c0ffee0000000000abce".into()),
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
                landmark: Some("Opposite the metro station".into()),
            }),
            notes: Some("Please call before delivery".into()),
            payment_method: Some("razorpay".into()),
        }
    }
}

impl Example for RefundInput {
    fn example() -> Self {
        Self {
            amount: Some(50_000),
            reason: Some("one kurta arrived torn".into()),
        }
    }
}

impl Example for CancelInput {
    fn example() -> Self {
        Self {
            reason: Some("customer asked by phone; address unserviceable".into()),
        }
    }
}
