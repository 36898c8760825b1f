//! Returns and cash on delivery (`OrderFulfilmentApi`): the customer asks to
//! return a delivered order and confirms a COD order with the code sent to
//! their phone; staff receive returned goods, record COD cash as collected and
//! record the refunds they made in cash; and `setOrderStatus`, the released
//! operation staff pack, ship and deliver with.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::body::OrderBody;
use super::lifecycle::note;
use super::{etag, ok, OrderBodyWriteErrors, OrderResponse};
use crate::app::identity::Identity;
use crate::app::orders::fulfilment::RawShipment;
use crate::app::orders::Orders;
use crate::domain::ids::OrderId;
use crate::error_set;
use crate::http::conditional::{precondition, IfMatchHeader};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::{JsonBody, OptionalJsonBody};
use crate::http::params::{OfflineMethodParam, SettableOrderStatus};
use crate::http::problem::Problems;
use crate::http::security::{context, needs, Permit};

error_set!(
    /// Errors of confirming a cash-on-delivery order by code.
    CodConfirmErrors: ANY, PERMITTED, BODY; NotFound, IllegalTransition, Conflict, InvalidOtp, OtpAttemptsExceeded
);
error_set!(
    /// Errors of sending a COD confirmation code again.
    CodCodeErrors: ANY, PERMITTED; NotFound, IllegalTransition, Conflict, DeliveryFailed
);
error_set!(
    /// Errors of recording a cash refund.
    CodRefundErrors: ANY, PERMITTED, BODY; NotFound, Conflict, RefundExceedsCaptured, PreconditionFailed
);

/// Who carries a parcel and how to follow it.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "ShipmentInput", deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ShipmentInput {
    /// The carrier, e.g. `Delhivery`; 1–100 characters.
    #[oai(validator(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub carrier: String,
    /// The carrier's tracking number; 1–100 characters.
    #[oai(validator(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub tracking_number: String,
}

/// A fulfilment step.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `packed` (or its released name `fulfilled`), `shipped` or `delivered`;
    /// only forward. `delivered` on a `return_requested` order declines the return.
    pub status: SettableOrderStatus,
    /// The carrier and tracking number: only with `shipped` (422 otherwise),
    /// kept on the order as `shipment` and sent in the `order_shipped` notice.
    #[serde(default)]
    #[oai(skip_serializing_if_is_none)]
    pub shipment: Option<ShipmentInput>,
    /// Why, for the audit trail (`order_status_changed`); at most 500 characters.
    #[serde(default)]
    #[oai(validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub reason: Option<String>,
}

/// A return request.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// Why the goods go back; 1–500 characters, not only spaces.
    #[oai(validator(
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub reason: String,
}

/// Returned goods received.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ReturnReceivedInput {
    /// Whether the goods go back on sale (their units return to stock).
    pub restock: bool,
    /// Why, for the audit trail (`order_status_changed`); at most 500 characters.
    #[serde(default)]
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub reason: Option<String>,
}

/// The code that confirms a cash-on-delivery order.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CodConfirmationInput {
    /// The six digits sent by SMS to the customer's phone.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
}

/// Cash collected at delivery; the body may be left out.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CodCollectionInput {
    /// The courier's receipt or remittance reference; at most 100 characters.
    #[serde(default)]
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub reference: Option<String>,
    /// Why, for the audit trail (`cod_collected`); at most 500 characters.
    #[serde(default)]
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub reason: Option<String>,
}

/// A refund of cash-on-delivery money that staff made outside Razorpay.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CodRefundInput {
    /// Paise; omit to record everything still refundable.
    #[serde(default)]
    #[oai(skip_serializing_if_is_none, validator(minimum(value = "1")))]
    pub amount: Option<i64>,
    /// How the money went back.
    pub method: OfflineMethodParam,
    /// The UPI transaction id, bank reference or receipt number; at most 100 characters.
    #[serde(default)]
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub reference: Option<String>,
    /// Why, for the audit trail (`order_refunded`); at most 500 characters.
    #[serde(default)]
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub reason: Option<String>,
}

#[derive(ApiResponse)]
pub enum CodCodeResponse {
    /// A new code is on its way to the customer's phone.
    #[oai(status = 202)]
    Accepted(Json<OrderBody>, #[oai(header = "ETag")] String),
}

pub struct OrderFulfilmentApi {
    pub orders: Arc<Orders>,
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Orders")]
impl OrderFulfilmentApi {
    /// Move an order along fulfilment
    ///
    /// Staff: `packed` (`fulfilled` is its released name), `shipped` (with an
    /// optional `shipment`: carrier and tracking number), `delivered`, forward
    /// only from `paid` or `confirmed` (a step may be skipped); `delivered` on a
    /// `return_requested` order declines the return. 409 `illegal_transition`
    /// names both states otherwise. Each step writes its notice to the customer
    /// (`order_packed`, `order_shipped`, `order_delivered`). With `If-Match`,
    /// only from the version it names (412 otherwise). Audited as
    /// `order_status_changed` with the acting staff member and the `reason`.
    #[oai(
        path = "/orders/:id/status",
        method = "put",
        operation_id = "setOrderStatus"
    )]
    async fn set_order_status(
        &self,
        auth: Permit<needs::OrdersManage>,
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<StatusInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyWriteErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let StatusInput {
            status,
            shipment,
            reason,
        } = body.0;
        let shipment = shipment.map(|s| RawShipment {
            carrier: s.carrier,
            tracking_number: s.tracking_number,
        });
        Ok(ok(&self
            .orders
            .set_status(
                &auth.0,
                id.0.checked("id")?,
                &status.0,
                shipment.as_ref(),
                precondition.as_ref(),
                &note(reason, req),
            )
            .await?))
    }

    /// Ask to return an order
    ///
    /// The order's owner (or staff for them), once it is `delivered` and
    /// within `BAZAAR_ORDER_RETURN_WINDOW_DAYS` of delivery: `return_requested`,
    /// with the `reason` kept on the order and a `return_requested` notice.
    /// 409 `illegal_transition` before delivery, twice, or after the window.
    #[oai(
        path = "/orders/:id/actions/request-return",
        method = "post",
        operation_id = "requestReturn"
    )]
    async fn request_return(
        &self,
        auth: Permit<needs::OrdersWrite>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        body: JsonBody<ReturnInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyWriteErrors>> {
        Ok(ok(&self
            .orders
            .request_return(
                &auth.0,
                id.0.checked("id")?,
                &body.0.reason,
                &note(None, req),
            )
            .await?))
    }

    /// Receive returned goods
    ///
    /// Staff, for a `return_requested` order: `returned`, with a
    /// `return_received` notice. With `restock: true` its units go back on
    /// sale. Refund it next: `refundOrder` (Razorpay) or `recordCodRefund`
    /// (cash on delivery). With `If-Match`, only from the version it names.
    /// Audited as `order_status_changed`.
    #[oai(
        path = "/orders/:id/actions/receive-return",
        method = "post",
        operation_id = "receiveReturn"
    )]
    async fn receive_return(
        &self,
        auth: Permit<needs::OrdersManage>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<ReturnReceivedInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyWriteErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let ReturnReceivedInput { restock, reason } = body.0;
        Ok(ok(&self
            .orders
            .receive_return(
                &auth.0,
                id.0.checked("id")?,
                restock,
                precondition.as_ref(),
                &note(reason, req),
            )
            .await?))
    }

    /// Confirm a cash-on-delivery order
    ///
    /// The owner, with the six-digit code sent by SMS when the order was
    /// placed: `pending_payment → confirmed` (stock held, nothing paid, no
    /// longer expires), with the `order_confirmation` notice. A wrong or
    /// expired code is 400 `invalid_otp`; an order that is not COD is 409
    /// `conflict`; one no longer waiting (expired, cancelled, confirmed) is
    /// 409 `illegal_transition`.
    #[oai(
        path = "/orders/:id/actions/confirm-cod",
        method = "post",
        operation_id = "confirmCodOrder"
    )]
    async fn confirm_cod(
        &self,
        auth: Permit<needs::OrdersWrite>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        body: JsonBody<CodConfirmationInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<CodConfirmErrors>> {
        let ctx = context(req);
        Ok(ok(&self
            .orders
            .confirm_cod(&auth.0, id.0.checked("id")?, &body.0.code, &ctx.ip)
            .await?))
    }

    /// Send the COD confirmation code again
    ///
    /// The owner, while the COD order waits for confirmation: a new code to
    /// the verified phone, replacing the last (the phone's cooldown and hourly
    /// cap apply: 429 with `Retry-After`).
    #[oai(
        path = "/orders/:id/actions/send-cod-code",
        method = "post",
        operation_id = "sendCodCode"
    )]
    async fn send_cod_code(
        &self,
        auth: Permit<needs::OrdersWrite>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
    ) -> Result<CodCodeResponse, Problems<CodCodeErrors>> {
        let order = self
            .orders
            .resend_cod_code(&auth.0, id.0.checked("id")?)
            .await?;
        Ok(CodCodeResponse::Accepted(
            Json((&order).into()),
            etag(&order).into(),
        ))
    }

    /// Record COD cash as collected
    ///
    /// Staff, once the COD order is `shipped` or `delivered`: its total is
    /// recorded in the ledger as a cash capture (one per order: asking again
    /// changes nothing), the order counts as paid, and the customer gets the
    /// `payment_receipt`. The body is optional. Audited as `cod_collected`.
    #[oai(
        path = "/orders/:id/actions/collect-cod",
        method = "post",
        operation_id = "collectCodPayment"
    )]
    async fn collect_cod(
        &self,
        auth: Permit<needs::OrdersManage>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: OptionalJsonBody<CodCollectionInput>,
        req: &Request,
    ) -> Result<OrderResponse, Problems<OrderBodyWriteErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let (reference, reason) = body.0.map(|b| (b.reference, b.reason)).unwrap_or_default();
        Ok(ok(&self
            .orders
            .collect_cod(
                &auth.0,
                id.0.checked("id")?,
                reference.as_deref(),
                precondition.as_ref(),
                &note(reason, req),
            )
            .await?))
    }

    /// Record a COD refund
    ///
    /// Staff, for a COD order whose cash was collected: records a refund
    /// they made themselves (`cash`, `upi` or `bank_transfer`, with its
    /// reference) of `amount` paise, or everything refundable, in the ledger;
    /// all of it refunded makes the order `refunded`. The customer gets the
    /// `refund` notice. More than is refundable is 409
    /// `refund_exceeds_captured`. Send an `Idempotency-Key`: a retry records
    /// one refund. Audited as `order_refunded`.
    #[oai(
        path = "/orders/:id/actions/record-cod-refund",
        method = "post",
        operation_id = "recordCodRefund"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn record_cod_refund(
        &self,
        auth: Permit<needs::PaymentsRefund>,
        /// Order id.
        id: Path<IdParam<OrderId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<CodRefundInput>,
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
        req: &Request,
    ) -> Result<OrderResponse, Problems<CodRefundErrors>> {
        let precondition = precondition(if_match.0.as_ref());
        let CodRefundInput {
            amount,
            method,
            reference,
            reason,
        } = body.0;
        Ok(ok(&self
            .orders
            .record_cod_refund(
                &auth.0,
                id.0.checked("id")?,
                amount,
                &method.0,
                reference.as_deref(),
                idempotency_key.raw(),
                precondition.as_ref(),
                &note(reason, req),
            )
            .await?))
    }
}

impl Example for StatusInput {
    fn example() -> Self {
        Self {
            status: "shipped".into(),
            shipment: Some(ShipmentInput {
                carrier: "Delhivery".into(),
                tracking_number: "1234567890123".into(),
            }),
            reason: Some("handed to the courier".into()),
        }
    }
}

impl Example for ReturnInput {
    fn example() -> Self {
        Self {
            reason: "the kurta is a size too small".into(),
        }
    }
}

impl Example for ReturnReceivedInput {
    fn example() -> Self {
        Self {
            restock: true,
            reason: Some("parcel received unopened".into()),
        }
    }
}

impl Example for CodConfirmationInput {
    fn example() -> Self {
        Self {
            code: "482913".into(),
        }
    }
}

impl Example for CodCollectionInput {
    fn example() -> Self {
        Self {
            reference: Some("DLV-COD-88213".into()),
            reason: None,
        }
    }
}

impl Example for CodRefundInput {
    fn example() -> Self {
        Self {
            amount: Some(50_000),
            method: "upi".into(),
            reference: Some("UTR 412345678901".into()),
            reason: Some("returned unopened".into()),
        }
    }
}
