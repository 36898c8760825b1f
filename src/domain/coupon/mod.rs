//! Coupons: codes staff create that take money off an order, and the rules of when they
//! apply. [`Coupon::discount_for`] is the whole judgement, pure: it reads the coupon (with
//! its uses so far) and a [`CouponContext`] the checkout builds, and answers the discount
//! in paise or the [`CouponRefusal`] that says why not. Redeeming a use atomically is the
//! store's (`CouponRepository::redeem`).
//!
//! Money: a percentage discount is `floor(eligible × basis_points / 10000)` (rounded down to
//! the paisa, in the customer's favour never beyond what they pay), then held to the cap;
//! a flat discount is its amount. Either is held to the eligible lines' value, so a
//! discount never exceeds what it applies to.

mod draft;

use chrono::{DateTime, Utc};

use super::money::Paise;
use super::validation::FieldError;

pub use draft::{RawCoupon, RawDiscount};

/// A coupon code: 3 to 32 letters, digits or `-`, compared case-insensitively (kept in
/// upper case, so `diwali-10` and `DIWALI-10` are one code).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CouponCode(String);

impl CouponCode {
    pub const PATTERN: &'static str = "^[A-Za-z0-9-]{3,32}$";

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let valid = (3..=32).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(raw.to_ascii_uppercase()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_format",
                "must be 3 to 32 letters, digits or '-'",
            ))
        }
    }

    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CouponCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// `basis_points` (1 to 10000; 1000 is 10%) of the eligible value, at most `cap`.
    Percent {
        basis_points: u32,
        cap: Option<Paise>,
    },
    /// A fixed amount.
    Flat(Paise),
}

impl Discount {
    /// The discount on `eligible` paise: never more than `eligible`, nor than the cap.
    pub fn of(self, eligible: i64) -> i64 {
        let eligible = eligible.max(0);
        let off = match self {
            Self::Percent { basis_points, cap } => {
                let share = i128::from(eligible) * i128::from(basis_points) / 10_000;
                let share = i64::try_from(share).unwrap_or(i64::MAX);
                cap.map_or(share, |cap| share.min(cap.get()))
            }
            Self::Flat(amount) => amount.get(),
        };
        off.min(eligible)
    }
}

/// A coupon's rules, as staff set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRules {
    pub discount: Discount,
    /// The order's goods must be worth at least this.
    pub min_order: Option<Paise>,
    /// Valid from this instant (inclusive)…
    pub starts_at: Option<DateTime<Utc>>,
    /// …until this one (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
    /// Redemptions allowed in all.
    pub total_limit: Option<u32>,
    /// Redemptions allowed to one customer.
    pub per_customer_limit: Option<u32>,
    /// Only a customer's first order may use it.
    pub first_order_only: bool,
    /// The categories whose lines it takes money off; empty for every line.
    pub categories: Vec<String>,
    pub enabled: bool,
}

/// A stored coupon and its redemptions so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub code: CouponCode,
    pub rules: CouponRules,
    /// Redemptions held now (a released one no longer counts).
    pub uses: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of the order a coupon is judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponLine {
    /// The line's value (unit price × quantity) in paise.
    pub value: Paise,
    pub category: String,
}

/// What a coupon is judged against: built by the checkout.
#[derive(Debug, Clone)]
pub struct CouponContext<'a> {
    pub now: DateTime<Utc>,
    pub lines: &'a [CouponLine],
    /// Whether the customer has no earlier order that counts (the checkout decides which).
    pub first_order: bool,
    /// How many times this customer holds a redemption of this coupon.
    pub customer_redemptions: u32,
}

/// Why a coupon does not apply. Each is a field error code of a 422 (`coupon_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponRefusal {
    Unknown,
    Disabled,
    NotYetValid,
    Expired,
    Exhausted,
    PerCustomerLimit,
    FirstOrderOnly,
    MinimumNotMet { minimum: Paise },
    NotEligible,
}

impl CouponRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Disabled => "disabled",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::Exhausted => "exhausted",
            Self::PerCustomerLimit => "per_customer_limit",
            Self::FirstOrderOnly => "first_order_only",
            Self::MinimumNotMet { .. } => "minimum_not_met",
            Self::NotEligible => "not_eligible",
        }
    }

    pub fn message(self) -> String {
        match self {
            Self::Unknown => "no coupon has this code".into(),
            Self::Disabled => "this coupon is no longer offered".into(),
            Self::NotYetValid => "this coupon is not valid yet".into(),
            Self::Expired => "this coupon has expired".into(),
            Self::Exhausted => "this coupon has been used up".into(),
            Self::PerCustomerLimit => {
                "you have already used this coupon as often as allowed".into()
            }
            Self::FirstOrderOnly => "this coupon is for a first order only".into(),
            Self::MinimumNotMet { minimum } => {
                format!("needs goods worth at least {} paise", minimum.get())
            }
            Self::NotEligible => "no item of this order is eligible for this coupon".into(),
        }
    }

    /// The refusal as a field error on `field`, its reason as the code.
    pub fn field_error(self, field: &str) -> FieldError {
        FieldError::new(field, self.as_str(), self.message())
    }
}

impl Coupon {
    /// The discount this coupon gives in `context`, or why it gives none. Checked in this
    /// order: disabled, validity window, total and per-customer limits, first order,
    /// minimum order value, eligible lines.
    pub fn discount_for(&self, context: &CouponContext<'_>) -> Result<Paise, CouponRefusal> {
        let rules = &self.rules;
        if !rules.enabled {
            return Err(CouponRefusal::Disabled);
        }
        if rules.starts_at.is_some_and(|t| context.now < t) {
            return Err(CouponRefusal::NotYetValid);
        }
        if rules.ends_at.is_some_and(|t| context.now >= t) {
            return Err(CouponRefusal::Expired);
        }
        if rules.total_limit.is_some_and(|n| self.uses >= n) {
            return Err(CouponRefusal::Exhausted);
        }
        if rules
            .per_customer_limit
            .is_some_and(|n| context.customer_redemptions >= n)
        {
            return Err(CouponRefusal::PerCustomerLimit);
        }
        if rules.first_order_only && !context.first_order {
            return Err(CouponRefusal::FirstOrderOnly);
        }
        let total: i64 = context.lines.iter().map(|l| l.value.get()).sum();
        if let Some(minimum) = rules.min_order.filter(|m| total < m.get()) {
            return Err(CouponRefusal::MinimumNotMet { minimum });
        }
        let eligible: Vec<&CouponLine> = context
            .lines
            .iter()
            .filter(|l| rules.categories.is_empty() || rules.categories.contains(&l.category))
            .collect();
        if eligible.is_empty() {
            return Err(CouponRefusal::NotEligible);
        }
        let value: i64 = eligible.iter().map(|l| l.value.get()).sum();
        Ok(Paise::trusted(rules.discount.of(value)))
    }
}

#[cfg(test)]
mod tests;
