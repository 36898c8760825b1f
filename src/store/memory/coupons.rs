//! Coupons and their redemptions in memory: one lock over both, so a redemption is
//! checked against the limits and taken in one step.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::coupon::{Coupon, CouponCode};
use crate::domain::order::OrderId;
use crate::domain::user::UserId;
use crate::store::{CouponRepository, Redemption, StoreError};

struct Entry {
    coupon: Coupon,
    /// The customer each redeeming order belongs to.
    redeemed: HashMap<OrderId, UserId>,
}

impl Entry {
    fn held_by(&self, user: &UserId) -> u32 {
        self.redeemed.values().filter(|u| *u == user).count() as u32
    }

    fn with_uses(&self) -> Coupon {
        Coupon {
            uses: self.redeemed.len() as u32,
            ..self.coupon.clone()
        }
    }
}

#[derive(Default)]
pub struct MemoryCoupons {
    by_code: Mutex<BTreeMap<CouponCode, Entry>>,
}

impl MemoryCoupons {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CouponRepository for MemoryCoupons {
    async fn insert(&self, coupon: &Coupon) -> Result<(), StoreError> {
        let mut map = self.by_code.lock();
        if map.contains_key(&coupon.code) {
            return Err(StoreError::Duplicate { field: "code" });
        }
        let coupon = Coupon {
            uses: 0,
            ..coupon.clone()
        };
        map.insert(
            coupon.code.clone(),
            Entry {
                coupon,
                redeemed: HashMap::new(),
            },
        );
        Ok(())
    }

    async fn get(&self, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        Ok(self.by_code.lock().get(code).map(Entry::with_uses))
    }

    async fn update(&self, coupon: &Coupon) -> Result<(), StoreError> {
        let mut map = self.by_code.lock();
        let entry = map.get_mut(&coupon.code).ok_or(StoreError::NotFound)?;
        entry.coupon.rules = coupon.rules.clone();
        entry.coupon.updated_at = coupon.updated_at;
        Ok(())
    }

    async fn delete(&self, code: &CouponCode) -> Result<(), StoreError> {
        self.by_code
            .lock()
            .remove(code)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn list(&self) -> Result<Vec<Coupon>, StoreError> {
        Ok(self.by_code.lock().values().map(Entry::with_uses).collect())
    }

    async fn redemptions_of(&self, code: &CouponCode, user: &UserId) -> Result<u32, StoreError> {
        Ok(self
            .by_code
            .lock()
            .get(code)
            .map_or(0, |entry| entry.held_by(user)))
    }

    async fn redeem(
        &self,
        code: &CouponCode,
        user: &UserId,
        order: &OrderId,
        _now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let mut map = self.by_code.lock();
        let Some(entry) = map.get_mut(code) else {
            return Ok(Redemption::Unknown);
        };
        if entry.redeemed.contains_key(order) {
            return Ok(Redemption::AlreadyRedeemed);
        }
        let rules = &entry.coupon.rules;
        if rules
            .total_limit
            .is_some_and(|n| entry.redeemed.len() as u32 >= n)
        {
            return Ok(Redemption::Exhausted);
        }
        if rules
            .per_customer_limit
            .is_some_and(|n| entry.held_by(user) >= n)
        {
            return Ok(Redemption::PerCustomerLimit);
        }
        entry.redeemed.insert(order.clone(), user.clone());
        Ok(Redemption::Redeemed)
    }

    async fn release(&self, code: &CouponCode, order: &OrderId) -> Result<bool, StoreError> {
        Ok(self
            .by_code
            .lock()
            .get_mut(code)
            .is_some_and(|entry| entry.redeemed.remove(order).is_some()))
    }
}
