//! How an order is taxed: the rate and code of each product, and the terms (price basis,
//! place of supply) of the whole order.

use crate::domain::gst::tax::{PriceBasis, SupplyType};
use crate::domain::order::tax::ItemRate;
use crate::domain::order::Address;
use crate::domain::pricing::TaxTerms;
use crate::domain::product::Product;

use super::Orders;

impl Orders {
    /// The terms an order delivered to `address` is taxed on.
    pub(super) fn tax_terms(&self, _address: Option<&Address>) -> TaxTerms {
        TaxTerms {
            basis: PriceBasis::Exclusive,
            supply: SupplyType::Inter,
        }
    }

    /// What `product` is taxed at today.
    pub(super) fn item_rate(&self, _product: &Product) -> ItemRate {
        ItemRate {
            rate_bp: self.settings.tax_rate_bp,
            code: String::new(),
        }
    }
}
