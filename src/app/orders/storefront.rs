//! The storefront's part in an order's life: the coupon it redeems when it is placed
//! and gives back when it is cancelled or expires. (Which zones take cash on delivery
//! is in `cod`.)

use std::sync::Arc;

use crate::app::addresses::AddressBook;
use crate::app::coupons::Coupons;
use crate::app::errors::AppError;
use crate::app::shipping::Shipping;
use crate::domain::coupon::CouponCode;
use crate::domain::order::{Order, OrderId};

use super::Orders;

/// What orders read of the storefront: the coupons they redeem and give back, and the
/// directory and zones an explicit-items COD order's address is judged by.
pub struct Storefront {
    pub coupons: Arc<Coupons>,
    pub addresses: Arc<AddressBook>,
    pub shipping: Arc<Shipping>,
}

impl Orders {
    /// Redeems coupons and judges cash on delivery by the shipping zones of `storefront`.
    pub fn with_storefront(mut self, storefront: Storefront) -> Self {
        self.storefront = Some(storefront);
        self
    }

    /// Takes one use of the order's coupon, if it has one.
    pub(super) async fn redeem_coupon(
        &self,
        order: &Order,
    ) -> Result<Option<CouponCode>, AppError> {
        let (Some(raw), Some(coupons)) = (&order.coupon_code, &self.storefront) else {
            return Ok(None);
        };
        let code =
            CouponCode::parse("coupon_code", raw).map_err(|e| AppError::validation(vec![e]))?;
        coupons
            .coupons
            .redeem(&code, &order.user_id, &order.id)
            .await?;
        Ok(Some(code))
    }

    /// Gives back the coupon use `order` holds. A failure is logged: the use stays
    /// taken (the coupon under-used, never over-used), and releasing again is harmless.
    pub(super) async fn release_coupon(&self, code: &CouponCode, order: &OrderId) {
        let Some(store) = &self.storefront else {
            return;
        };
        if let Err(error) = store.coupons.release(code, order).await {
            tracing::warn!(%order, error = %error, "could not give back a coupon use");
        }
    }
}
