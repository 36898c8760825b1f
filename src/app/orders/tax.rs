//! How an order placed with explicit items is taxed: each product's rate and code, and
//! the place of supply of its address. (A cart's order takes its quote's tax.)

use crate::domain::order::tax::ItemRate;
use crate::domain::order::Address;
use crate::domain::pincode::StateCode;
use crate::domain::pricing::TaxTerms;
use crate::domain::product::Product;

use super::Orders;

impl Orders {
    /// The terms an order delivered to `address` is taxed on: its state's GST code, from
    /// the address book or else India Post's directory by its PIN code.
    pub(super) fn tax_terms(&self, address: Option<&Address>) -> TaxTerms {
        let place = address.and_then(|a| {
            a.state_code
                .as_deref()
                .and_then(StateCode::parse)
                .or_else(|| {
                    let store = self.storefront.as_ref()?;
                    let (_, locality) = store.addresses.locate(&a.postal_code).ok()?;
                    Some(locality.state_code)
                })
        });
        TaxTerms::for_delivery(self.catalog.tax(), place)
    }

    /// What `product` is taxed at now.
    pub(super) fn item_rate(&self, product: &Product) -> ItemRate {
        ItemRate::of(product, self.catalog.tax(), self.clock.now())
    }
}
