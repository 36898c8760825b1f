//! `/api/v1/orders`, payments, the Razorpay webhook receiver, the admin view
//! of webhook events and the sales summary: thin handlers over `crate::app::orders`,
//! one module per resource. [`lifecycle`] places, lists, cancels and refunds
//! orders; [`fulfilment`] packs, ships and delivers them, takes returns and
//! confirms, collects and refunds cash on delivery; [`payments`] starts and verifies payments and receives
//! Razorpay's webhooks; [`admin`] lists stored webhook events and answers the
//! sales summary; [`body`] is how an order is shown. What they share is here:
//! error sets, the order answer, and the examples' ids and times.

pub mod admin;
pub mod body;
pub mod fulfilment;
pub mod lifecycle;
pub mod payments;

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use crate::domain::order::Order;
use crate::error_set;
use crate::http::conditional::ETag;
use body::OrderBody;

error_set!(
    /// Errors of reading orders.
    OrderReadErrors: ANY, PERMITTED, LIST; NotFound
);
error_set!(
    /// Errors of changing an order or its payment.
    OrderActionErrors: ANY, PERMITTED, PAYMENT_PROVIDER; NotFound, IllegalTransition, Conflict, ValidationFailed
);
error_set!(
    /// Errors of changing one order with a body (optional for a cancellation),
    /// under an optional `If-Match`.
    OrderBodyWriteErrors: ANY, PERMITTED, BODY, PAYMENT_PROVIDER; NotFound, IllegalTransition, Conflict, PreconditionFailed
);
error_set!(
    /// Errors of changing an order or its payment with a body.
    OrderBodyActionErrors: ANY, PERMITTED, BODY, PAYMENT_PROVIDER; NotFound, IllegalTransition, Conflict, InvalidSignature
);

#[derive(ApiResponse)]
pub enum OrderResponse {
    /// The order as it is now, with its version tag for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<OrderBody>, #[oai(header = "ETag")] String),
}

/// The answer of an operation that reads or changes one order.
pub(crate) fn ok(order: &Order) -> OrderResponse {
    OrderResponse::Ok(Json(order.into()), etag(order).into())
}

/// An order's entity tag.
pub(crate) fn etag(order: &Order) -> ETag {
    ETag::of_version(order.version)
}

fn example_time(offset_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + offset_secs, 0).unwrap_or_default()
}

const EXAMPLE_ORDER: &str = "6650c0ffee0000000000c001";
const EXAMPLE_PRODUCT: &str = "6650c0ffee0000000000b001";
