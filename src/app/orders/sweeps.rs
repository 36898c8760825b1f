//! The sweeps every replica runs: expiring unpaid orders whose time ran out,
//! reconciling orders stuck in payment with the provider, and settling old
//! stock holds. Each is safe to run on every replica at once.

use chrono::{DateTime, Utc};

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::order::status::{IllegalTransition, OrderStatus};
use crate::domain::order::Order;

use super::{Change, Orders};

/// How many orders one sweep (expiry, reconciliation) handles.
const SWEEP_BATCH: u32 = 100;

impl Orders {
    /// Settles stock holds older than `settle_holds_after`: a hold whose order
    /// is stored is dropped, any other gives its units back. Answers how many
    /// were given back. Safe on every replica at once (`release_hold` matches
    /// on the hold).
    pub async fn settle_holds(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let cutoff =
            now - chrono::Duration::from_std(self.settings.settle_holds_after).unwrap_or_default();
        let old = self.catalog.holds_before(cutoff, SWEEP_BATCH).await?;
        let mut released = 0;
        for hold in old {
            let settled = match self.orders.get(&hold.id.order_id()).await {
                Ok(Some(_)) => self
                    .catalog
                    .drop_hold(&hold.product_id, &hold.id)
                    .await
                    .map(|()| false),
                Ok(None) => self.catalog.release_hold(&hold.product_id, &hold.id).await,
                Err(e) => Err(e.into()),
            };
            match settled {
                Ok(true) => {
                    tracing::info!(product = %hold.product_id, hold = %hold.id, quantity = hold.quantity, "gave back stock held for an order that was never stored");
                    released += 1;
                }
                Ok(false) => {}
                // One hold must not hold up the others; the next sweep tries again.
                Err(e) => {
                    tracing::warn!(hold = %hold.id, error = %e, "could not settle a stock hold")
                }
            }
        }
        Ok(released)
    }

    /// Expires unpaid orders whose time ran out, releasing their stock. One
    /// that started checkout is first asked about at Razorpay, so a payment
    /// made in its last minute is kept rather than refunded. Safe on every
    /// replica at once: only the replica whose write wins releases.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let due = self.orders.expired_unpaid(now, SWEEP_BATCH).await?;
        let mut expired = 0;
        for order in due {
            match self.expire(&order).await {
                Ok(true) => expired += 1,
                Ok(false) => {}
                // One order must not hold up the others; the next sweep tries again.
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "could not expire an order")
                }
            }
        }
        Ok(expired)
    }

    pub(super) async fn expire(&self, order: &Order) -> Result<bool, AppError> {
        if order.payment.provider_order_id.is_some() && self.ask_provider(order).await? {
            return Ok(false);
        }
        let expired = self
            .transition(&order.id, OrderStatus::Expired, None, |current| {
                if current.status == OrderStatus::PendingPayment {
                    Ok(())
                } else {
                    Err(IllegalTransition {
                        from: current.status,
                        to: OrderStatus::Expired,
                    }
                    .into())
                }
            })
            .await;
        match expired {
            Ok(_) => Ok(true),
            // Paid or cancelled meanwhile: nothing to expire.
            Err(e) if e.code == ErrorCode::IllegalTransition => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies what Razorpay knows of the order's payments; true if that
    /// changed the order.
    async fn ask_provider(&self, order: &Order) -> Result<bool, AppError> {
        let Some(provider_order) = &order.payment.provider_order_id else {
            return Ok(false);
        };
        let mut version = order.version;
        for payment in self
            .gateway
            .order_payments(provider_order)
            .await
            .map_err(AppError::payment)?
        {
            version = self.settle(&order.id, payment).await?.version;
        }
        Ok(version != order.version)
    }

    /// Asks the provider about orders stuck in payment and applies what it says.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let cutoff =
            now - chrono::Duration::from_std(self.settings.reconcile_after).unwrap_or_default();
        let stuck = self.orders.stuck_in_payment(cutoff, SWEEP_BATCH).await?;
        let mut changed = 0;
        for order in stuck {
            match self.ask_provider(&order).await {
                Ok(true) => changed += 1,
                // Nothing new: not asked about again for another `reconcile_after`.
                Ok(false) => {
                    let touched = self
                        .update(&order.id, |o| {
                            o.touch(now);
                            Ok(Change::with((), Vec::new()))
                        })
                        .await;
                    if let Err(e) = touched {
                        tracing::warn!(order = %order.id, error = %e, "could not note a reconciliation");
                    }
                }
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "could not reconcile an order")
                }
            }
        }
        Ok(changed)
    }
}
