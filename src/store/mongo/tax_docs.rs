//! GST amounts as MongoDB stores them, shared by orders and invoices.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::gst::tax::{LineTax, PriceBasis, SupplyType};
use crate::domain::order::tax::{ItemTax, OrderTax};

/// One line's rate, taxable value and heads, in paise.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LineTaxDoc {
    rate_bp: i64,
    taxable: i64,
    cgst: i64,
    sgst: i64,
    igst: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored GST has an invalid {what}"))
}

impl LineTaxDoc {
    pub(super) fn from_tax(t: &LineTax) -> Self {
        Self {
            rate_bp: i64::from(t.rate_bp),
            taxable: t.taxable,
            cgst: t.cgst,
            sgst: t.sgst,
            igst: t.igst,
        }
    }

    pub(super) fn into_tax(self) -> Result<LineTax, StoreError> {
        Ok(LineTax {
            rate_bp: u32::try_from(self.rate_bp).map_err(|_| corrupt("rate"))?,
            taxable: self.taxable,
            cgst: self.cgst,
            sgst: self.sgst,
            igst: self.igst,
        })
    }
}

pub(super) fn supply_name(supply: SupplyType) -> &'static str {
    match supply {
        SupplyType::Intra => "intra",
        SupplyType::Inter => "inter",
    }
}

pub(super) fn parse_supply(raw: &str) -> Result<SupplyType, StoreError> {
    match raw {
        "intra" => Ok(SupplyType::Intra),
        "inter" => Ok(SupplyType::Inter),
        _ => Err(corrupt("supply")),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ItemTaxDoc {
    code: String,
    discount: i64,
    #[serde(flatten)]
    tax: LineTaxDoc,
}

/// An order's GST, line by line (`OrderTax`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OrderTaxDoc {
    /// `inclusive` or `exclusive`.
    basis: String,
    supply: String,
    items: Vec<ItemTaxDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipping: Option<LineTaxDoc>,
}

impl OrderTaxDoc {
    pub(super) fn from_tax(t: &OrderTax) -> Self {
        Self {
            basis: match t.basis {
                PriceBasis::Inclusive => "inclusive",
                PriceBasis::Exclusive => "exclusive",
            }
            .to_owned(),
            supply: supply_name(t.supply).to_owned(),
            items: t
                .items
                .iter()
                .map(|i| ItemTaxDoc {
                    code: i.code.clone(),
                    discount: i.discount,
                    tax: LineTaxDoc::from_tax(&i.tax),
                })
                .collect(),
            shipping: t.shipping.as_ref().map(LineTaxDoc::from_tax),
        }
    }

    pub(super) fn into_tax(self) -> Result<OrderTax, StoreError> {
        Ok(OrderTax {
            basis: match self.basis.as_str() {
                "inclusive" => PriceBasis::Inclusive,
                "exclusive" => PriceBasis::Exclusive,
                _ => return Err(corrupt("price basis")),
            },
            supply: parse_supply(&self.supply)?,
            items: self
                .items
                .into_iter()
                .map(|i| {
                    Ok(ItemTax {
                        code: i.code,
                        discount: i.discount,
                        tax: i.tax.into_tax()?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            shipping: self.shipping.map(LineTaxDoc::into_tax).transpose()?,
        })
    }
}
