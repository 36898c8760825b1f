//! The tax on each invoice line, split by head, and the invoice's totals.
//!
//! **Place of supply.** Goods delivered to a customer are supplied where they are
//! delivered: the same state as the seller's registration makes an *intra-state* supply,
//! taxed as CGST + SGST (UTGST in a union territory) at half the rate each; any other
//! state makes an *inter-state* supply, taxed as IGST at the full rate.
//!
//! **Per line, in integer paise, each amount rounded half up to the paisa.** A line's
//! amount is what it costs after its discount; the rate is in basis points.
//!
//! | prices are | inter-state (IGST) | intra-state (CGST = SGST) |
//! |---|---|---|
//! | tax-exclusive | taxable = amount; IGST = round(taxable × rate) | taxable = amount; CGST = SGST = round(taxable × rate / 2) |
//! | tax-inclusive | taxable = round(amount / (1 + rate)); IGST = amount − taxable | CGST = SGST = round(amount × (rate / 2) / (1 + rate)); taxable = amount − CGST − SGST |
//!
//! Rounding each head on its own is what keeps CGST equal to SGST to the paisa: halving
//! a rounded tax would leave an odd paisa to give to one of them. The line's tax is the
//! sum of its heads, so an intra-state line can differ from the same line's IGST by a
//! paisa. With tax-inclusive prices the taxable value is what is left of the price, so
//! taxable value + tax is the price charged, exactly.
//!
//! Worked examples:
//! - ₹10.10 at 5%, tax-exclusive. Inter-state: IGST = 0.505 → ₹0.51, total ₹10.61.
//!   Intra-state: CGST = SGST = 0.2525 → ₹0.25, tax ₹0.50, total ₹10.60.
//! - ₹100.00 at 18%, tax-inclusive. Inter-state: taxable = 100 / 1.18 = 84.7457… → ₹84.75,
//!   IGST = ₹15.25. Intra-state: CGST = SGST = 100 × 0.09 / 1.18 = 7.6271… → ₹7.63, so
//!   taxable = 100.00 − 15.26 = ₹84.74. Both add up to ₹100.00.
//!
//! **Shipping** is taxed as a line of its own ([`shipping_rate_bp`]): delivery charged by
//! the seller is part of a composite supply whose principal supply is the goods (CGST Act
//! s. 2(30), s. 8(a)), so it takes the goods' rate. When the goods in one shipment carry
//! different rates it takes the **highest** of them, as s. 8(b) does for mixed supplies:
//! a documented choice (apportioning by value is the other reading) that never
//! under-charges tax and needs no rounding of its own.
//!
//! **Totals** are the sums of the lines' heads; nothing is rounded again.

use crate::domain::pincode::StateCode;

/// How a supply is taxed, from where it is made and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupplyType {
    /// Seller and place of supply in one state: CGST + SGST.
    Intra,
    /// Different states: IGST.
    Inter,
}

/// Intra-state when the goods are delivered in the state the seller is registered in.
pub fn place_of_supply(seller_state: StateCode, delivery_state: StateCode) -> SupplyType {
    if seller_state == delivery_state {
        SupplyType::Intra
    } else {
        SupplyType::Inter
    }
}

/// Whether the prices a seller sets include GST (common for consumers) or have it added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriceBasis {
    Exclusive,
    Inclusive,
}

/// One line's taxable value and tax per head, in paise. Heads that do not apply are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineTax {
    pub rate_bp: u32,
    pub taxable: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
}

impl LineTax {
    /// The tax on a line of `amount` paise (after its discount; not negative) at
    /// `rate_bp`, by the rules in the module doc.
    pub fn compute(amount: i64, rate_bp: u32, basis: PriceBasis, supply: SupplyType) -> Self {
        debug_assert!(amount >= 0, "a line's amount is never negative: {amount}");
        let (amount_, rate) = (i128::from(amount), i128::from(rate_bp));
        let line = Self {
            rate_bp,
            ..Self::default()
        };
        match (basis, supply) {
            (PriceBasis::Exclusive, SupplyType::Inter) => Self {
                taxable: amount,
                igst: round_half_up(amount_ * rate, 10_000),
                ..line
            },
            (PriceBasis::Exclusive, SupplyType::Intra) => {
                let half = round_half_up(amount_ * rate, 20_000);
                Self {
                    taxable: amount,
                    cgst: half,
                    sgst: half,
                    ..line
                }
            }
            (PriceBasis::Inclusive, SupplyType::Inter) => {
                let taxable = round_half_up(amount_ * 10_000, 10_000 + rate);
                Self {
                    taxable,
                    igst: amount - taxable,
                    ..line
                }
            }
            (PriceBasis::Inclusive, SupplyType::Intra) => {
                let half = round_half_up(amount_ * rate, 2 * (10_000 + rate));
                Self {
                    taxable: amount - 2 * half,
                    cgst: half,
                    sgst: half,
                    ..line
                }
            }
        }
    }

    /// All heads together.
    pub fn tax(&self) -> i64 {
        self.cgst + self.sgst + self.igst
    }

    /// Taxable value + tax: what the line costs the customer.
    pub fn total(&self) -> i64 {
        self.taxable + self.tax()
    }
}

/// The rate shipping is taxed at: the highest of the goods it delivers (module doc);
/// 0 when there are no goods.
pub fn shipping_rate_bp(goods_rates_bp: impl IntoIterator<Item = u32>) -> u32 {
    goods_rates_bp.into_iter().max().unwrap_or(0)
}

/// An invoice's totals: the sums of its lines (goods and shipping alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvoiceTotals {
    pub taxable: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
}

impl InvoiceTotals {
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a LineTax>) -> Self {
        lines.into_iter().fold(Self::default(), |sum, line| {
            sum + Self {
                taxable: line.taxable,
                cgst: line.cgst,
                sgst: line.sgst,
                igst: line.igst,
            }
        })
    }

    pub fn tax(&self) -> i64 {
        self.cgst + self.sgst + self.igst
    }

    /// Taxable value + every head: what the invoice asks for.
    pub fn grand_total(&self) -> i64 {
        self.taxable + self.tax()
    }
}

/// Head by head: a period's sums, or the sums of several documents.
impl std::ops::Add for InvoiceTotals {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            taxable: self.taxable + other.taxable,
            cgst: self.cgst + other.cgst,
            sgst: self.sgst + other.sgst,
            igst: self.igst + other.igst,
        }
    }
}

/// Head by head: what invoices leave after the credit notes against them.
impl std::ops::Sub for InvoiceTotals {
    type Output = Self;

    fn sub(self, other: Self) -> Self {
        Self {
            taxable: self.taxable - other.taxable,
            cgst: self.cgst - other.cgst,
            sgst: self.sgst - other.sgst,
            igst: self.igst - other.igst,
        }
    }
}

/// `numerator / denominator` rounded half up, for a numerator ≥ 0 and a denominator > 0.
/// Doubling both keeps an odd denominator's half exact.
fn round_half_up(numerator: i128, denominator: i128) -> i64 {
    ((2 * numerator + denominator) / (2 * denominator)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use PriceBasis::{Exclusive, Inclusive};
    use SupplyType::{Inter, Intra};

    fn line(rate_bp: u32, taxable: i64, cgst: i64, sgst: i64, igst: i64) -> LineTax {
        LineTax {
            rate_bp,
            taxable,
            cgst,
            sgst,
            igst,
        }
    }

    #[test]
    fn the_same_state_is_intra_state_and_any_other_inter_state() {
        let karnataka = StateCode::parse("29").unwrap();
        let maharashtra = StateCode::parse("27").unwrap();
        assert_eq!(place_of_supply(karnataka, karnataka), Intra);
        assert_eq!(place_of_supply(karnataka, maharashtra), Inter);
    }

    #[test]
    fn the_worked_examples_of_the_module_doc() {
        // ₹10.10 at 5%, tax-exclusive.
        assert_eq!(
            LineTax::compute(1_010, 500, Exclusive, Inter),
            line(500, 1_010, 0, 0, 51)
        );
        assert_eq!(
            LineTax::compute(1_010, 500, Exclusive, Intra),
            line(500, 1_010, 25, 25, 0)
        );
        // ₹100.00 at 18%, tax-inclusive.
        assert_eq!(
            LineTax::compute(10_000, 1800, Inclusive, Inter),
            line(1800, 8_475, 0, 0, 1_525)
        );
        assert_eq!(
            LineTax::compute(10_000, 1800, Inclusive, Intra),
            line(1800, 8_474, 763, 763, 0)
        );
    }

    #[test]
    fn round_amounts_give_round_tax() {
        assert_eq!(
            LineTax::compute(100_000, 1800, Exclusive, Intra),
            line(1800, 100_000, 9_000, 9_000, 0)
        );
        assert_eq!(
            LineTax::compute(118_000, 1800, Inclusive, Inter),
            line(1800, 100_000, 0, 0, 18_000)
        );
        let exempt = LineTax::compute(49_900, 0, Inclusive, Intra);
        assert_eq!((exempt.taxable, exempt.tax()), (49_900, 0));
        assert_eq!(
            LineTax::compute(0, 4000, Exclusive, Inter),
            line(4000, 0, 0, 0, 0)
        );
    }

    #[test]
    fn exclusive_tax_agrees_with_tax_on() {
        for amount in [1, 7, 10, 1_003, 99_999, 1_234_567] {
            for rate in [0, 25, 300, 500, 1800, 4000] {
                let igst = LineTax::compute(amount, rate, Exclusive, Inter).igst;
                assert_eq!(igst, crate::domain::money::tax_on(amount, rate));
            }
        }
    }

    #[test]
    fn half_a_paisa_rounds_up() {
        assert_eq!(round_half_up(5, 10), 1);
        assert_eq!(round_half_up(4, 10), 0);
        assert_eq!(round_half_up(3, 3), 1);
        // An odd denominator: 7/3 is 2.33 → 2, 8/3 is 2.67 → 3.
        assert_eq!(round_half_up(7, 3), 2);
        assert_eq!(round_half_up(8, 3), 3);
    }

    #[test]
    fn shipping_takes_the_highest_rate_of_the_goods() {
        assert_eq!(shipping_rate_bp([500, 1800, 0]), 1800);
        assert_eq!(shipping_rate_bp([500]), 500);
        assert_eq!(shipping_rate_bp([]), 0);
    }

    #[test]
    fn totals_are_the_sums_of_the_lines() {
        // A ₹499 T-shirt at 5% and a ₹2,999 speaker at 18%, tax-inclusive, with ₹49
        // shipping at the higher rate, delivered within the seller's state.
        let rates = [500, 1800];
        let mut lines: Vec<LineTax> = [(49_900, 500), (299_900, 1800)]
            .iter()
            .map(|&(amount, rate)| LineTax::compute(amount, rate, Inclusive, Intra))
            .collect();
        lines.push(LineTax::compute(
            4_900,
            shipping_rate_bp(rates),
            Inclusive,
            Intra,
        ));
        let totals = InvoiceTotals::of(&lines);
        assert_eq!(totals.grand_total(), 49_900 + 299_900 + 4_900);
        assert_eq!(totals.cgst, totals.sgst);
        assert_eq!(totals.igst, 0);
        assert_eq!(totals.taxable, lines.iter().map(|l| l.taxable).sum::<i64>());
        assert_eq!(lines[2].rate_bp, 1800);
    }
}
