//! A coupon's rules as staff write them, parsed at once with every invalid field reported.

use chrono::{DateTime, Utc};

use super::{CouponRules, Discount};
use crate::domain::money::Paise;
use crate::domain::product::Categories;
use crate::domain::validation::{Collector, FieldError};

/// The discount as sent: `kind` is `percent` (with `percent_bp`, and `max_paise` if
/// capped) or `flat` (with `amount_paise`).
#[derive(Debug, Clone, Default)]
pub struct RawDiscount {
    pub kind: String,
    pub percent_bp: Option<i64>,
    pub max_paise: Option<i64>,
    pub amount_paise: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct RawCoupon {
    pub discount: RawDiscount,
    pub min_order_paise: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub total_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub first_order_only: bool,
    pub categories: Vec<String>,
    pub enabled: bool,
}

/// Usage limits go up to a million.
pub const MAX_LIMIT: i64 = 1_000_000;
pub const MAX_CATEGORIES: usize = 50;

impl CouponRules {
    /// Parses the rules; eligible categories must be configured ones (`categories`).
    pub fn parse(raw: &RawCoupon, categories: &Categories) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let discount = discount(&raw.discount, &mut errors);
        let min_order = raw
            .min_order_paise
            .and_then(|v| errors.take(Paise::parse_price("min_order_paise", v)));
        if let (Some(start), Some(end)) = (raw.starts_at, raw.ends_at) {
            if end <= start {
                errors.push(FieldError::new(
                    "ends_at",
                    "before_start",
                    "must be later than starts_at",
                ));
            }
        }
        let total_limit = raw
            .total_limit
            .and_then(|v| errors.take(limit("total_limit", v)));
        let per_customer_limit = raw
            .per_customer_limit
            .and_then(|v| errors.take(limit("per_customer_limit", v)));
        if raw.categories.len() > MAX_CATEGORIES {
            errors.push(FieldError::new(
                "categories",
                "too_many",
                format!("must hold at most {MAX_CATEGORIES} items"),
            ));
        }
        let mut eligible: Vec<String> = raw
            .categories
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                errors
                    .take(categories.parse(&format!("categories[{i}]"), c))
                    .map(|c| c.as_str().to_owned())
            })
            .collect();
        eligible.sort();
        eligible.dedup();
        match (discount, errors.is_empty()) {
            (Some(discount), true) => Ok(Self {
                discount,
                min_order,
                starts_at: raw.starts_at.map(crate::domain::time::truncate_to_millis),
                ends_at: raw.ends_at.map(crate::domain::time::truncate_to_millis),
                total_limit,
                per_customer_limit,
                first_order_only: raw.first_order_only,
                categories: eligible,
                enabled: raw.enabled,
            }),
            _ => Err(errors.into_errors()),
        }
    }
}

fn limit(field: &str, value: i64) -> Result<u32, FieldError> {
    if (1..=MAX_LIMIT).contains(&value) {
        Ok(value as u32)
    } else {
        Err(FieldError::new(
            field,
            "out_of_range",
            format!("must be 1 to {MAX_LIMIT}"),
        ))
    }
}

fn not_allowed(field: &str, kind: &str) -> FieldError {
    FieldError::new(
        field,
        "not_allowed",
        format!("does not apply to a {kind} discount"),
    )
}

fn required(field: &str, kind: &str) -> FieldError {
    FieldError::new(
        field,
        "required",
        format!("is required for a {kind} discount"),
    )
}

fn discount(raw: &RawDiscount, errors: &mut Collector) -> Option<Discount> {
    match raw.kind.as_str() {
        "percent" => {
            if raw.amount_paise.is_some() {
                errors.push(not_allowed("discount.amount_paise", "percent"));
            }
            let cap = raw
                .max_paise
                .and_then(|v| errors.take(Paise::parse_price("discount.max_paise", v)));
            let Some(bp) = raw.percent_bp else {
                errors.push(required("discount.percent_bp", "percent"));
                return None;
            };
            if !(1..=10_000).contains(&bp) {
                errors.push(FieldError::new(
                    "discount.percent_bp",
                    "out_of_range",
                    "must be 1 to 10000 basis points (0.01% to 100%)",
                ));
                return None;
            }
            (raw.max_paise.is_none() || cap.is_some()).then_some(Discount::Percent {
                basis_points: bp as u32,
                cap,
            })
        }
        "flat" => {
            for (field, present) in [
                ("discount.percent_bp", raw.percent_bp.is_some()),
                ("discount.max_paise", raw.max_paise.is_some()),
            ] {
                if present {
                    errors.push(not_allowed(field, "flat"));
                }
            }
            let Some(amount) = raw.amount_paise else {
                errors.push(required("discount.amount_paise", "flat"));
                return None;
            };
            errors
                .take(Paise::parse_price("discount.amount_paise", amount))
                .map(Discount::Flat)
        }
        _ => {
            errors.push(FieldError::new(
                "discount.kind",
                "invalid",
                "must be `percent` or `flat`",
            ));
            None
        }
    }
}
