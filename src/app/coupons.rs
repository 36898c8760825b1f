//! Coupons: staff's codes (create, change, delete, each audited with the actor) and what
//! the checkout asks: [`Coupons::check`] (the discount, or a 422 on `coupon_code` saying
//! why not), [`Coupons::redeem`] (take a use for an order, atomically against the limits)
//! and [`Coupons::release`] (give it back when the order is cancelled or expires). See
//! docs/storefront.md, "Coupons".

use std::sync::Arc;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::{Principal, RequestContext};
use crate::app::staff_audit::StaffAudit;
use crate::domain::audit::AuditKind;
use crate::domain::coupon::{
    Coupon, CouponCode, CouponContext, CouponLine, CouponRefusal, CouponRules, RawCoupon,
};
use crate::domain::money::Paise;
use crate::domain::order::OrderId;
use crate::domain::product::Categories;
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::user::UserId;
use crate::store::{AuditRepository, CouponRepository, Redemption, StoreError};

/// The field a checkout names its coupon in; refusals are reported on it.
pub const COUPON_FIELD: &str = "coupon_code";

/// A coupon that applies, and what it takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCoupon {
    pub code: CouponCode,
    pub discount: Paise,
}

pub struct Coupons {
    repo: Arc<dyn CouponRepository>,
    /// The configured product categories, which eligible categories must be.
    categories: Categories,
    /// Records staff changes in the audit trail.
    audit: StaffAudit,
    clock: SharedClock,
}

fn refused(refusal: CouponRefusal) -> AppError {
    AppError::validation(vec![refusal.field_error(COUPON_FIELD)])
}

impl Coupons {
    pub fn new(
        repo: Arc<dyn CouponRepository>,
        categories: Categories,
        audit: Arc<dyn AuditRepository>,
    ) -> Self {
        Self {
            repo,
            categories,
            audit: StaffAudit::new(audit, AuditKind::CouponChanged),
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// The discount `code` gives `user` on `lines` now, or a 422 on `coupon_code` whose
    /// error code is the reason (`unknown`, `expired`, `exhausted`, …). Nothing is taken:
    /// the checkout redeems once the order is decided.
    pub async fn check(
        &self,
        code: &str,
        user: &UserId,
        lines: &[CouponLine],
        first_order: bool,
    ) -> Result<AppliedCoupon, AppError> {
        self.check_for(code, Some(user), lines, first_order).await
    }

    /// [`Coupons::check`] for a customer, or for a guest (`None`: no redemptions yet; the
    /// customer's own are judged once the guest's cart is theirs).
    pub async fn check_for(
        &self,
        code: &str,
        user: Option<&UserId>,
        lines: &[CouponLine],
        first_order: bool,
    ) -> Result<AppliedCoupon, AppError> {
        let code =
            CouponCode::parse(COUPON_FIELD, code).map_err(|_| refused(CouponRefusal::Unknown))?;
        let coupon = self
            .repo
            .get(&code)
            .await?
            .ok_or_else(|| refused(CouponRefusal::Unknown))?;
        let customer_redemptions = match user {
            Some(user) => self.repo.redemptions_of(&code, user).await?,
            None => 0,
        };
        let discount = coupon
            .discount_for(&CouponContext {
                now: self.clock.now(),
                lines,
                first_order,
                customer_redemptions,
            })
            .map_err(refused)?;
        Ok(AppliedCoupon { code, discount })
    }

    /// Takes one use of `code` for `order`, atomically against the total and per-customer
    /// limits; a retry for the same order is answered as the first. A use lost to a
    /// concurrent checkout is the 422 `check` would now give (`exhausted`,
    /// `per_customer_limit`, `unknown` if staff deleted it).
    pub async fn redeem(
        &self,
        code: &CouponCode,
        user: &UserId,
        order: &OrderId,
    ) -> Result<(), AppError> {
        match self.repo.redeem(code, user, order, self.clock.now()).await {
            Ok(Redemption::Redeemed | Redemption::AlreadyRedeemed) => Ok(()),
            Ok(Redemption::Exhausted) => Err(refused(CouponRefusal::Exhausted)),
            Ok(Redemption::PerCustomerLimit) => Err(refused(CouponRefusal::PerCustomerLimit)),
            Ok(Redemption::Unknown) => Err(refused(CouponRefusal::Unknown)),
            Err(StoreError::VersionConflict) => Err(AppError::new(
                ErrorCode::Conflict,
                "the coupon's limits changed while it was redeemed; try again",
            )),
            Err(other) => Err(other.into()),
        }
    }

    /// Gives back the use `order` holds; `false` if it held none (released before, or
    /// never redeemed), so calling it again is harmless.
    pub async fn release(&self, code: &CouponCode, order: &OrderId) -> Result<bool, AppError> {
        Ok(self.repo.release(code, order).await?)
    }

    /// Every coupon by code, with its uses.
    pub async fn list(&self) -> Result<Vec<Coupon>, AppError> {
        Ok(self.repo.list().await?)
    }

    pub async fn get(&self, code: &str) -> Result<Coupon, AppError> {
        self.stored(&parse_code(code)?).await
    }

    async fn stored(&self, code: &CouponCode) -> Result<Coupon, AppError> {
        self.repo
            .get(code)
            .await?
            .ok_or_else(|| AppError::not_found("coupon"))
    }

    /// Creates a coupon; 409 if the code (in any case) exists.
    pub async fn create(
        &self,
        actor: &Principal,
        code: &str,
        raw: &RawCoupon,
        ctx: &RequestContext,
    ) -> Result<Coupon, AppError> {
        let code = CouponCode::parse("code", code);
        let rules = CouponRules::parse(raw, &self.categories);
        let (code, rules) = match (code, rules) {
            (Ok(code), Ok(rules)) => (code, rules),
            (code, rules) => {
                let mut errors: Vec<_> = code.err().into_iter().collect();
                errors.extend(rules.err().unwrap_or_default());
                return Err(AppError::validation(errors));
            }
        };
        let now = crate::domain::time::truncate_to_millis(self.clock.now());
        let coupon = Coupon {
            code,
            rules,
            uses: 0,
            created_at: now,
            updated_at: now,
        };
        self.repo.insert(&coupon).await?;
        self.by_staff(actor, ctx, format!("coupon {} created", coupon.code))
            .await;
        Ok(coupon)
    }

    /// Replaces a coupon's rules (disabling it is `enabled: false`); its uses stay.
    pub async fn replace(
        &self,
        actor: &Principal,
        code: &str,
        raw: &RawCoupon,
        ctx: &RequestContext,
    ) -> Result<Coupon, AppError> {
        let code = parse_code(code)?;
        let rules = CouponRules::parse(raw, &self.categories).map_err(AppError::validation)?;
        let current = self.stored(&code).await?;
        let coupon = Coupon {
            rules,
            updated_at: crate::domain::time::truncate_to_millis(self.clock.now()),
            ..current
        };
        self.repo.update(&coupon).await.map_err(not_found)?;
        self.by_staff(actor, ctx, format!("coupon {code} replaced"))
            .await;
        Ok(coupon)
    }

    /// Deletes a coupon with its redemptions; orders keep the discount they were given.
    pub async fn delete(
        &self,
        actor: &Principal,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let code = parse_code(code)?;
        self.repo.delete(&code).await.map_err(not_found)?;
        self.by_staff(actor, ctx, format!("coupon {code} deleted"))
            .await;
        Ok(())
    }

    async fn by_staff(&self, actor: &Principal, ctx: &RequestContext, detail: String) {
        self.audit.by_staff(&self.clock, actor, ctx, detail).await;
    }
}

fn parse_code(raw: &str) -> Result<CouponCode, AppError> {
    CouponCode::parse("code", raw).map_err(|e| AppError::invalid_parameter("code", e.message))
}

fn not_found(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::not_found("coupon"),
        other => other.into(),
    }
}
