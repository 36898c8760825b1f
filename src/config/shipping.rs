//! The default shipping zone (`BAZAAR_SHIPPING_DEFAULT_*`): what delivery costs while staff
//! have stored no zone at all, so a fresh `make run` delivers everywhere in India. Once any
//! zone is stored, only stored zones answer (docs/storefront.md, "Shipping").

use super::parser::Parser;
use super::spec::SettingSpec;
use crate::domain::shipping::{RawZone, ZoneDraft};

#[derive(Debug, Clone)]
pub struct ShippingSettings {
    /// The default zone's terms (its states are all of India); `None` when switched off.
    pub default_zone: Option<ZoneDraft>,
}

impl ShippingSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "shipping_default_zone",
            default: Some("true"),
            secret: false,
            help: "Whether a default zone covering all of India answers shipping quotes while no \
                shipping zone is stored (`true` or `false`). With `false` and no zone, nothing \
                is serviceable (`no_zone`).",
        },
        SettingSpec {
            key: "shipping_default_fee_paise",
            default: Some("4900"),
            secret: false,
            help: "The default zone's delivery fee in paise (0 for free delivery).",
        },
        SettingSpec {
            key: "shipping_default_free_at_paise",
            default: Some("49900"),
            secret: false,
            help: "Goods worth at least this (paise) ship free in the default zone; 0 for never.",
        },
        SettingSpec {
            key: "shipping_default_cod",
            default: Some("true"),
            secret: false,
            help: "Whether the default zone offers cash on delivery (`true` or `false`).",
        },
        SettingSpec {
            key: "shipping_default_min_days",
            default: Some("2"),
            secret: false,
            help: "The default zone's delivery estimate: fewest days (0 to 60).",
        },
        SettingSpec {
            key: "shipping_default_max_days",
            default: Some("7"),
            secret: false,
            help: "The default zone's delivery estimate: most days (0 to 60, at least the fewest).",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let enabled: bool = p.parse("shipping_default_zone", "`true` or `false`", true);
        let free_at: i64 = p.parse(
            "shipping_default_free_at_paise",
            "a whole number of paise",
            0,
        );
        let raw = RawZone {
            name: "All India (default)".into(),
            // Replaced by every state code when the zone is used (`Shipping::with_default_zone`).
            states: vec!["29".into()],
            pincode_prefixes: Vec::new(),
            fee_paise: p.parse("shipping_default_fee_paise", "a whole number of paise", 0),
            free_shipping_at_paise: (free_at != 0).then_some(free_at),
            cod_offered: p.parse("shipping_default_cod", "`true` or `false`", true),
            cod_max_order_paise: None,
            min_days: p.parse("shipping_default_min_days", "a whole number of days", 0),
            max_days: p.parse("shipping_default_max_days", "a whole number of days", 0),
            enabled: true,
        };
        let default_zone = match ZoneDraft::parse(&raw) {
            Ok(zone) => Some(zone),
            Err(errors) => {
                for e in errors {
                    let key = match e.field.as_str() {
                        "fee_paise" => "shipping_default_fee_paise",
                        "free_shipping_at_paise" => "shipping_default_free_at_paise",
                        "estimate.min_days" => "shipping_default_min_days",
                        _ => "shipping_default_max_days",
                    };
                    p.fail(key, e.message);
                }
                None
            }
        };
        Self {
            default_zone: default_zone.filter(|_| enabled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::vars;
    use super::super::Settings;

    #[test]
    fn the_default_zone_is_on_until_switched_off_and_bad_terms_are_refused() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        let zone = s.shipping.default_zone.expect("on by default");
        assert_eq!(zone.fee.get(), 4_900);
        assert_eq!(zone.free_shipping_at.map(|p| p.get()), Some(49_900));
        assert!(zone.cod.is_some());
        let off = Settings::from_sources(None, vars(&[("BAZAAR_SHIPPING_DEFAULT_ZONE", "false")]));
        assert!(off.unwrap().shipping.default_zone.is_none());
        let bad = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_SHIPPING_DEFAULT_MIN_DAYS", "9"),
                ("BAZAAR_SHIPPING_DEFAULT_FEE_PAISE", "-1"),
            ]),
        )
        .unwrap_err();
        let text = bad.to_string();
        assert!(text.contains("BAZAAR_SHIPPING_DEFAULT_MAX_DAYS"), "{text}");
        assert!(text.contains("BAZAAR_SHIPPING_DEFAULT_FEE_PAISE"), "{text}");
    }
}
