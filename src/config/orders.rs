//! Orders: the GST rate, how long a customer has to pay, when payments are reconciled, how
//! often the sweeps run, how much one customer may order or hold unpaid, the largest order
//! paid cash on delivery, and how long after delivery a return may be asked for.

use std::time::Duration;

use super::parser::Parser;
use super::spec::SettingSpec;

/// The order rules the settings give (the use case's `OrderSettings` is built from these and
/// Razorpay's keys).
#[derive(Debug, Clone)]
pub struct OrderConfig {
    pub pay_within: Duration,
    pub reconcile_after: Duration,
    /// Zero turns the sweeps off.
    pub sweep_interval: Duration,
    /// Most unpaid orders a customer may hold at once.
    pub unpaid_max: u32,
    /// Most units of one product in one order.
    pub product_units_max: u32,
    /// The largest order total (paise) that may be paid cash on delivery.
    pub cod_max_order_paise: i64,
    /// How long after delivery the customer may ask to return an order.
    pub return_window: Duration,
}

impl OrderConfig {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "order_pay_within_secs",
            default: Some("1800"),
            secret: false,
            help: "How long an unpaid order holds its stock before it expires.",
        },
        SettingSpec {
            key: "order_reconcile_after_secs",
            default: Some("900"),
            secret: false,
            help: "Unpaid orders in checkout untouched this long are asked about at Razorpay.",
        },
        SettingSpec {
            key: "order_unpaid_max",
            default: Some("3"),
            secret: false,
            help:
                "Most unpaid orders (`pending_payment`, `payment_mismatch`) one customer may hold \
                at once, each holding stock; one more is 409 `too_many_unpaid_orders` and \
                reserves nothing. Staff (`orders:manage`) are not capped. 1–100. Exact under \
                concurrent creates on both stores ([orders.md](orders.md#stock-hoarding)).",
        },
        SettingSpec {
            key: "order_product_units_max",
            default: Some("10"),
            secret: false,
            help:
                "Most units of one product in one order (lines of the same product are added up); \
                more is 422 naming `items[i].quantity`. 1–1000.",
        },
        SettingSpec {
            key: "order_sweep_interval_secs",
            default: Some("30"),
            secret: false,
            help:
                "How often each replica expires unpaid orders, reconciles stuck payments, settles \
                old stock holds (`docs/orders.md`) and deletes abandoned uploads \
                ([files.md](files.md#states-and-limits)); `0` turns the sweeps off.",
        },
        SettingSpec {
            key: "cod_max_order_paise",
            default: Some("5000000"),
            secret: false,
            help: "The largest order total (paise; ₹50,000 by default) that may be paid cash on \
                delivery; a larger `cod` order is 422 `cod_above_limit` on `payment_method` \
                ([storefront.md](storefront.md#cash-on-delivery)). 0 turns COD off.",
        },
        SettingSpec {
            key: "order_return_window_days",
            default: Some("7"),
            secret: false,
            help: "How many days after delivery a customer may ask to return an order \
                (`requestReturn`); later is 409 `illegal_transition`. 0–365.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let secs = |p: &mut Parser, key: &str, fallback: u64| {
            Duration::from_secs(p.parse(key, "a whole number of seconds", fallback))
        };
        let pay_within = secs(p, "order_pay_within_secs", 1800);
        let reconcile_after = secs(p, "order_reconcile_after_secs", 900);
        let sweep_interval = secs(p, "order_sweep_interval_secs", 30);
        // A week is far beyond any checkout; the bound keeps date arithmetic safe.
        const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
        if pay_within.is_zero() || pay_within > WEEK {
            p.fail(
                "order_pay_within_secs",
                "must be between 1 and 604800".into(),
            );
        }
        if reconcile_after > WEEK {
            p.fail(
                "order_reconcile_after_secs",
                "must be at most 604800".into(),
            );
        }
        let unpaid_max: u32 = p.parse("order_unpaid_max", "a whole number of orders", 3);
        if !(1..=100).contains(&unpaid_max) {
            p.fail("order_unpaid_max", "must be between 1 and 100".into());
        }
        let product_units_max: u32 =
            p.parse("order_product_units_max", "a whole number of units", 10);
        if !(1..=crate::domain::order::request::MAX_QUANTITY).contains(&product_units_max) {
            let why = format!(
                "must be between 1 and {}",
                crate::domain::order::request::MAX_QUANTITY
            );
            p.fail("order_product_units_max", why);
        }
        let cod_max_order_paise: i64 =
            p.parse("cod_max_order_paise", "a whole number of paise", 5_000_000);
        if !(0..=crate::domain::money::Paise::MAX).contains(&cod_max_order_paise) {
            p.fail(
                "cod_max_order_paise",
                format!("must be between 0 and {}", crate::domain::money::Paise::MAX),
            );
        }
        let return_window_days: u64 =
            p.parse("order_return_window_days", "a whole number of days", 7);
        if return_window_days > 365 {
            p.fail("order_return_window_days", "must be at most 365".into());
        }
        Self {
            cod_max_order_paise,
            return_window: Duration::from_secs(return_window_days * 24 * 3600),
            pay_within,
            reconcile_after,
            sweep_interval,
            unpaid_max,
            product_units_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;

    #[test]
    fn order_limits_default_to_three_unpaid_orders_of_ten_units_and_are_checked() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!((s.orders.unpaid_max, s.orders.product_units_max), (3, 10));
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_ORDER_UNPAID_MAX", "0"),
                ("BAZAAR_ORDER_PRODUCT_UNITS_MAX", "1001"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 2, "{text}");
        assert!(text.contains("BAZAAR_ORDER_UNPAID_MAX"), "{text}");
        assert!(text.contains("BAZAAR_ORDER_PRODUCT_UNITS_MAX"), "{text}");
    }
}
