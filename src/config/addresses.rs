//! Saved addresses: how many one customer may keep.

use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct AddressSettings {
    /// The most addresses one customer may save.
    pub max_per_customer: u32,
}

impl AddressSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[SettingSpec {
        key: "addresses_max_per_customer",
        default: Some("20"),
        secret: false,
        help: "Most addresses one customer may save (1–100). One more answers \
            `409 address_book_full`. See [storefront.md](storefront.md#addresses).",
    }];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let key = "addresses_max_per_customer";
        let max_per_customer: u32 = p.parse(key, "a number of addresses", 20);
        if !(1..=100).contains(&max_per_customer) {
            p.fail(key, "must be between 1 and 100".into());
        }
        Self {
            max_per_customer: max_per_customer.clamp(1, 100),
        }
    }
}
