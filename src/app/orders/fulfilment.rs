//! Fulfilment: staff pack, ship (with carrier and tracking number) and deliver
//! an order; its owner asks to return it within the return window; staff
//! receive the goods back (restocking them or not) or decline the return.
//! Each step goes through the one state machine (`Order::fulfil`), owes its
//! notice, and is audited with its actor (`order_status_changed`).

use std::time::Duration;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Principal;
use crate::domain::audit::AuditKind;
use crate::domain::money::Paise;
use crate::domain::order::cod::CodPolicy;
use crate::domain::order::fulfilment::{ReturnReason, ShipmentDetail, Step, StepError};
use crate::domain::order::status::OrderStatus;
use crate::domain::order::{Order, OrderId};
use crate::domain::precondition::{self, IfMatch};
use crate::domain::validation::FieldError;

use super::audit::{ActionNote, MoneyAction};
use super::{parse_order_id, Change, Orders};

/// Cash on delivery and returns, as configured.
#[derive(Debug, Clone, Copy)]
pub struct FulfilmentSettings {
    pub cod: CodPolicy,
    /// How long after delivery the customer may ask to return an order.
    pub return_window: Duration,
}

impl Default for FulfilmentSettings {
    /// No cash on delivery; a week to return.
    fn default() -> Self {
        Self {
            cod: CodPolicy {
                max_order: Paise::trusted(0),
            },
            return_window: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A carrier and tracking number as the client sent them.
#[derive(Debug, Clone)]
pub struct RawShipment {
    pub carrier: String,
    pub tracking_number: String,
}

fn step_error(e: StepError) -> AppError {
    match e {
        StepError::Illegal(illegal) => illegal.into(),
        closed @ StepError::WindowClosed { .. } => {
            AppError::new(ErrorCode::IllegalTransition, closed.to_string())
        }
    }
}

impl Orders {
    /// Takes the fulfilment step `step` names for the order as it is written
    /// (checked with `if_match` and `allowed` on that version); answers the
    /// order and the status it left.
    async fn take_step(
        &self,
        id: &OrderId,
        if_match: Option<&IfMatch>,
        allowed: impl Fn(&Order) -> Result<(), AppError>,
        step: impl Fn(&Order) -> Step,
    ) -> Result<(Order, OrderStatus), AppError> {
        let (order, from) = self
            .update(id, |order| {
                if !precondition::met(if_match, order.version) {
                    return Err(AppError::precondition_failed("order"));
                }
                allowed(order)?;
                let from = order.status;
                let notices = order
                    .fulfil(step(order), self.clock.now())
                    .map_err(step_error)?;
                Ok(Change::with(from, notices))
            })
            .await?;
        self.release_if_left(&order, from).await;
        Ok((order, from))
    }

    /// Audits a fulfilment step as `order_status_changed` with its actor.
    async fn audit_step(
        &self,
        who: &Principal,
        order: &Order,
        from: OrderStatus,
        note: &ActionNote,
        extra: &str,
    ) -> Result<(), AppError> {
        let reason = note.reason()?;
        self.audit_money(MoneyAction {
            kind: AuditKind::OrderStatusChanged,
            who,
            order,
            amount_paise: order.total.get(),
            reason,
            note,
            detail: format!("{} → {}{extra}", from.as_str(), order.status.as_str()),
        })
        .await;
        Ok(())
    }

    /// Staff move an order along fulfilment: `packed` (or its released name
    /// `fulfilled`), `shipped` (with `shipment`, which only a shipping step
    /// takes), `delivered` (which, for an order whose return was asked for,
    /// declines the return). With `if_match`, only from the version it names.
    pub async fn set_status(
        &self,
        who: &Principal,
        id: &str,
        to: &str,
        shipment: Option<&RawShipment>,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        note.reason()?;
        let to = OrderStatus::parse("status", to).map_err(|e| AppError::validation(vec![e]))?;
        if !OrderStatus::SETTABLE.contains(&to) {
            let names: Vec<&str> = OrderStatus::SETTABLE.iter().map(|s| s.as_str()).collect();
            return Err(AppError::validation(vec![FieldError::new(
                "status",
                "not_settable",
                format!("must be one of: {}", names.join(", ")),
            )]));
        }
        let shipment = match (shipment, to) {
            (None, _) => None,
            (Some(raw), OrderStatus::Shipped) => Some(
                ShipmentDetail::parse("shipment", &raw.carrier, &raw.tracking_number)
                    .map_err(AppError::validation)?,
            ),
            (Some(_), _) => {
                return Err(AppError::validation(vec![FieldError::new(
                    "shipment",
                    "only_when_shipped",
                    "only a move to `shipped` takes a shipment",
                )]))
            }
        };
        let (order, from) = self
            .take_step(
                &parse_order_id(id)?,
                if_match,
                |_| Ok(()),
                |order| match to {
                    OrderStatus::Packed => Step::Pack { legacy: false },
                    OrderStatus::Fulfilled => Step::Pack { legacy: true },
                    OrderStatus::Shipped => Step::Ship(shipment.clone()),
                    _ if order.status == OrderStatus::ReturnRequested => Step::DeclineReturn,
                    _ => Step::Deliver,
                },
            )
            .await?;
        let extra = match &order.fulfilment.shipment {
            Some(s) if order.status == OrderStatus::Shipped => {
                format!(" by {} ({})", s.carrier, s.tracking_number)
            }
            _ => String::new(),
        };
        self.audit_step(who, &order, from, note, &extra).await?;
        Ok(order)
    }

    /// The owner (or staff for them) asks to return a delivered order, within
    /// the return window, saying why.
    pub async fn request_return(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        note.reason()?;
        let reason =
            ReturnReason::parse("reason", reason).map_err(|e| AppError::validation(vec![e]))?;
        let order = self.get(who, id).await?;
        let window = chrono::Duration::from_std(self.fulfilment.return_window)
            .unwrap_or_else(|_| chrono::Duration::days(7));
        let (order, from) = self
            .take_step(
                &order.id,
                None,
                |_| Ok(()),
                |_| Step::RequestReturn {
                    reason: reason.clone(),
                    window,
                },
            )
            .await?;
        self.audit_step(who, &order, from, note, &format!(": {}", reason.as_str()))
            .await?;
        Ok(order)
    }

    /// Staff received a return's goods: `returned`, and with `restock` its
    /// units go back on sale. The refund follows (`refundOrder`, or for cash
    /// on delivery `recordCodRefund`).
    pub async fn receive_return(
        &self,
        who: &Principal,
        id: &str,
        restock: bool,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        note.reason()?;
        let (order, from) = self
            .take_step(
                &parse_order_id(id)?,
                if_match,
                |_| Ok(()),
                |_| Step::ReceiveReturn { restock },
            )
            .await?;
        // Only the request whose write moved the order here restocks: a repeat is 409.
        if restock {
            self.release_items(&order).await;
        }
        let extra = if restock {
            "; restocked"
        } else {
            "; not restocked"
        };
        self.audit_step(who, &order, from, note, extra).await?;
        Ok(order)
    }
}
