//! `POST /cart/checkout`: the signed-in customer's cart becomes an order to one
//! of their saved addresses, charged exactly as `GET /cart?address_id=…` priced it.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use crate::app::checkout::{Checkout, CheckoutRequest};
use crate::app::orders::create::Placed;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::JsonBody;
use crate::http::orders::body::OrderBody;
use crate::http::params::PaymentMethodParam;
use crate::http::problem::Problems;
use crate::http::security::{needs, Permit};

error_set!(
    /// Errors of checking out the cart.
    CheckoutErrors: ANY, PERMITTED, BODY; InsufficientStock, TooManyUnpaidOrders, PriceChanged, Conflict
);

/// How to pay for the cart and where to send it.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// One of your saved addresses (`/users/me/addresses`): its shipping zone prices
    /// delivery and says whether cash on delivery is offered.
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    pub address_id: String,
    /// `razorpay` (pay with `createPayment`) or `cod`: cash on delivery, where the
    /// address's zone offers it, up to `BAZAAR_COD_MAX_ORDER_PAISE`, for a customer
    /// with a verified phone; confirmed with the code sent there (`confirmCodOrder`).
    pub payment_method: PaymentMethodParam,
    /// The total the customer was shown (`GET /cart?address_id=…`), paise. When given
    /// and the cart now comes to something else, 409 `price_changed` and nothing is
    /// placed.
    #[serde(default)]
    #[oai(validator(minimum(value = "0")))]
    pub expected_total: Option<i64>,
    /// For the courier or the seller; at most 500 characters.
    #[serde(default)]
    #[oai(validator(max_length = 500))]
    pub notes: Option<String>,
}

impl Example for CheckoutInput {
    fn example() -> Self {
        Self {
            address_id: "6650c0ffee0000000000ad01".into(),
            payment_method: PaymentMethodParam("razorpay".into()),
            expected_total: Some(282_964),
            notes: Some("Please call before delivery".into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum CheckoutResponse {
    /// The order, with the cart's lines, discount, shipping and tax; the cart is now
    /// empty and the stock reserved until the order is paid (or, cash on delivery,
    /// confirmed), cancelled or expires.
    #[oai(status = 201)]
    Created(Json<OrderBody>, #[oai(header = "Location")] String),
}

pub struct CheckoutApi {
    pub checkout: Arc<Checkout>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Cart")]
impl CheckoutApi {
    /// Check out the cart
    ///
    /// Places your cart as an order to one of your saved addresses, priced by the
    /// same function as `GET /cart?address_id=…`: the lines at today's prices, the
    /// cart's coupon (redeemed now, given back if the order is cancelled or
    /// expires), the zone's shipping fee and GST. Everything that stands in the way
    /// is answered at once as a 422: an empty cart, a line out of stock
    /// (`cart.lines[i]`), a coupon that no longer applies (`coupon_code`), an
    /// address outside every zone (`address_id`), cash on delivery not offered there
    /// (`payment_method`). Send `expected_total` so that a total that moved is a 409
    /// `price_changed` instead of a surprise. Retry with the same `Idempotency-Key`
    /// to get the same order back.
    #[oai(
        path = "/cart/checkout",
        method = "post",
        operation_id = "checkoutCart"
    )]
    async fn checkout_cart(
        &self,
        auth: Permit<needs::OrdersWrite>,
        body: JsonBody<CheckoutInput>,
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
    ) -> Result<CheckoutResponse, Problems<CheckoutErrors>> {
        let input = body.0;
        let request = CheckoutRequest {
            address_id: input.address_id,
            payment_method: input.payment_method.0,
            expected_total: input.expected_total,
            notes: input.notes,
        };
        let retry = idempotency_key.retry();
        let placed = self
            .checkout
            .place(&auth.0, &request, retry.map(|r| &r.key))
            .await?;
        if let (Placed::Found(_), Some(retry)) = (&placed, retry) {
            retry.found_earlier();
        }
        let order = placed.order();
        Ok(CheckoutResponse::Created(
            Json(order.into()),
            format!("/api/v1/orders/{}", order.id),
        ))
    }
}
