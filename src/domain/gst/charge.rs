//! The tax on a whole charge: goods lines, a discount spread over them, and shipping.
//!
//! A coupon's discount is given before the supply and shown on the invoice, so it lowers
//! the taxable value (CGST Act s. 15(3)(a)). It is spread over the goods lines in
//! proportion to their amounts ([`apportion`]): each line's share rounded down, and the
//! paise left over given one each to the lines with the largest remainders (the earlier
//! line on a tie). The shares add up to the discount exactly and no line's share is more
//! than its amount. Shipping is a line of its own at the highest rate of the goods
//! ([`shipping_rate_bp`]); each line is then taxed by [`LineTax::compute`].
//!
//! Worked example, tax-exclusive, intra-state: lines of ₹300.00 at 5% and ₹700.00 at
//! 18%, a ₹100.00 coupon, ₹49.00 shipping. Shares: 30.00 and 70.00. Taxable: 270.00,
//! 630.00 and 49.00 (at 18%). CGST = SGST: 6.75, 56.70 and 4.41 (4.41 = round(49 ×
//! 0.09)). Tax 135.72, grand total ₹1,084.72.

use super::tax::{shipping_rate_bp, InvoiceTotals, LineTax, PriceBasis, SupplyType};

/// One goods line: what it costs before the discount (unit price × quantity), and its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goods {
    pub amount: i64,
    pub rate_bp: u32,
}

/// The tax of every line of a charge, and their totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeTax {
    /// One per goods line, in their order, after each line's share of the discount.
    pub goods: Vec<LineTax>,
    /// The discount's share of each goods line.
    pub discounts: Vec<i64>,
    /// `None` when nothing is charged for shipping.
    pub shipping: Option<LineTax>,
    pub totals: InvoiceTotals,
}

impl ChargeTax {
    /// Taxes `goods` less `discount` (at most their sum) and `shipping`, the amounts in
    /// paise, as the module describes.
    pub fn compute(
        goods: &[Goods],
        discount: i64,
        shipping: i64,
        basis: PriceBasis,
        supply: SupplyType,
    ) -> Self {
        let amounts: Vec<i64> = goods.iter().map(|g| g.amount).collect();
        let discounts = apportion(discount, &amounts);
        let goods_tax: Vec<LineTax> = goods
            .iter()
            .zip(&discounts)
            .map(|(g, share)| LineTax::compute(g.amount - share, g.rate_bp, basis, supply))
            .collect();
        let shipping = (shipping > 0).then(|| {
            let rate = shipping_rate_bp(goods.iter().map(|g| g.rate_bp));
            LineTax::compute(shipping, rate, basis, supply)
        });
        let totals = InvoiceTotals::of(goods_tax.iter().chain(&shipping));
        Self {
            goods: goods_tax,
            discounts,
            shipping,
            totals,
        }
    }
}

/// `discount` spread over `amounts` in proportion (module doc): the shares add up to
/// `discount` clamped to `0..=sum`, and each is between 0 and its amount.
pub fn apportion(discount: i64, amounts: &[i64]) -> Vec<i64> {
    let sum: i128 = amounts.iter().map(|&a| i128::from(a.max(0))).sum();
    let discount = i128::from(discount).clamp(0, sum);
    if sum == 0 || discount == 0 {
        return vec![0; amounts.len()];
    }
    let exact: Vec<(i128, i128)> = amounts
        .iter()
        .map(|&a| {
            let scaled = i128::from(a.max(0)) * discount;
            (scaled / sum, scaled % sum)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|&(q, _)| q as i64).collect();
    let left = discount - exact.iter().map(|&(q, _)| q).sum::<i128>();
    let mut by_remainder: Vec<usize> = (0..amounts.len()).collect();
    by_remainder.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in by_remainder.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_example_adds_up() {
        let goods = [
            Goods {
                amount: 30_000,
                rate_bp: 500,
            },
            Goods {
                amount: 70_000,
                rate_bp: 1800,
            },
        ];
        let c = ChargeTax::compute(
            &goods,
            10_000,
            4_900,
            PriceBasis::Exclusive,
            SupplyType::Intra,
        );
        assert_eq!(c.discounts, [3_000, 7_000]);
        let taxable: Vec<i64> = c.goods.iter().map(|l| l.taxable).collect();
        assert_eq!(taxable, [27_000, 63_000]);
        let shipping = c.shipping.unwrap();
        assert_eq!(
            (shipping.rate_bp, shipping.cgst, shipping.sgst),
            (1800, 441, 441)
        );
        assert_eq!((c.goods[0].cgst, c.goods[1].cgst), (675, 5_670));
        assert_eq!(c.totals.tax(), 13_572);
        assert_eq!(c.totals.grand_total(), 108_472);
    }

    #[test]
    fn leftover_paise_go_to_the_largest_remainders_then_the_earlier_line() {
        // 100 over three equal lines: 33.33… each, one paisa left, to the first.
        assert_eq!(apportion(100, &[500, 500, 500]), [34, 33, 33]);
        // 10 over 1 and 2: exact shares 3.33… and 6.66…; the second has the larger remainder.
        assert_eq!(apportion(10, &[100, 200]), [3, 7]);
        assert_eq!(apportion(0, &[100, 200]), [0, 0]);
        // More than the goods are worth is clamped to what they are worth.
        assert_eq!(apportion(1_000, &[100, 200]), [100, 200]);
        assert_eq!(apportion(5, &[]), Vec::<i64>::new());
    }

    #[test]
    fn free_shipping_is_no_line() {
        let goods = [Goods {
            amount: 10_000,
            rate_bp: 1200,
        }];
        let c = ChargeTax::compute(&goods, 0, 0, PriceBasis::Inclusive, SupplyType::Inter);
        assert_eq!(c.shipping, None);
        assert_eq!(c.totals.grand_total(), 10_000);
    }
}
