//! The cart's bodies: what `/cart` answers and takes, with their examples.

use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;

use crate::app::carts::PricedCart;
use crate::domain::cart::{Cart, CartOwner, GUEST_CART_DAYS};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::money::Paise;
use crate::domain::pricing::{
    self, Availability, CatalogItem, CouponOutcome, Delivery, LineState, PricedLine, Quote,
};
use crate::domain::validation::FieldError;
use crate::http::problem::ProblemFieldError;

/// One line of a cart, with the catalog's price and stock now.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CartLine")]
pub struct CartLineBody {
    pub product_id: String,
    /// The variant; a product without variants has one, whose id is the product's.
    pub variant_id: String,
    /// Absent when the product is no longer sold.
    #[oai(skip_serializing_if_is_none)]
    pub sku: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Paise, now; absent when the product is no longer sold.
    #[oai(skip_serializing_if_is_none)]
    pub unit_price: Option<i64>,
    pub quantity: u32,
    /// `unit_price × quantity`, paise (0 for a line no longer sold).
    pub line_total: i64,
    pub state: crate::http::wire::Wire<LineState>,
    /// How many are left, when fewer than the line asks for.
    #[oai(skip_serializing_if_is_none)]
    pub available: Option<u32>,
}

/// A tax line: one GST head at one rate, summed over the lines taxed so.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CartTaxLine")]
pub struct TaxLineBody {
    /// `CGST` and `SGST` (each at half the GST rate) when the goods are delivered in the
    /// seller's state, `IGST` (at the full rate) otherwise.
    pub name: String,
    /// The head's rate in basis points (900 = 9%).
    pub rate_bp: u32,
    /// Paise.
    pub amount: i64,
}

/// The coupon on the cart, and whether it applies now; absent when the cart has none.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CartCoupon")]
pub struct CartCouponBody {
    pub code: String,
    /// Whether it takes anything off now; when not, `reason` says why.
    pub applied: bool,
    /// What it takes off, paise (0 when it does not apply).
    pub discount: i64,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<ProblemFieldError>,
}

/// Delivery to the place the request named (`address_id` or `pincode`); absent when
/// it named none.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CartDelivery")]
pub struct CartDeliveryBody {
    /// Whether the place is delivered to; when not, `reason` says why (`no_zone`,
    /// `zone_disabled`).
    pub serviceable: bool,
    /// Whether the order may be paid cash on delivery there (the COD ceiling,
    /// `BAZAAR_COD_MAX_ORDER_PAISE`, applies on top at checkout).
    pub cod_available: bool,
    /// Days to deliver, fewest and most.
    #[oai(skip_serializing_if_is_none)]
    pub min_days: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub max_days: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<ProblemFieldError>,
}

/// The caller's cart, priced by the same function that places the order: what
/// it shows is what checkout charges, until a price, stock or rule changes.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "Cart")]
pub struct CartBody {
    pub lines: Vec<CartLineBody>,
    /// ISO 4217; always `INR`.
    pub currency: String,
    /// Sum of the lines, paise.
    pub subtotal: i64,
    #[oai(skip_serializing_if_is_none)]
    pub coupon: Option<CartCouponBody>,
    /// Coupon discount, paise.
    pub discount: i64,
    #[oai(skip_serializing_if_is_none)]
    pub delivery: Option<CartDeliveryBody>,
    /// Shipping, paise (0 until a place is named, and where it is free).
    pub shipping: i64,
    /// GST by head and rate, taxed line by line (docs/invoices.md).
    pub tax_lines: Vec<TaxLineBody>,
    /// All tax, paise.
    pub tax: i64,
    /// What the customer pays, paise: `subtotal − discount + shipping + tax`, or
    /// `subtotal − discount + shipping` where the seller's prices include tax.
    pub total: i64,
    /// Whether an order can be placed from the cart as it stands.
    pub ready_for_checkout: bool,
    /// What stands in the way of checkout, one entry per problem.
    pub blockers: Vec<ProblemFieldError>,
    /// 0 for a cart never changed; grows by one on each change.
    pub version: u64,
    /// When a guest cart is forgotten (30 days after its last change); absent
    /// for a customer's cart.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(super) fn field_error(e: FieldError) -> ProblemFieldError {
    ProblemFieldError {
        field: e.field,
        code: e.code.to_owned(),
        message: e.message,
    }
}

impl CartBody {
    fn of(cart: &Cart, quote: Quote) -> Self {
        let blockers: Vec<ProblemFieldError> =
            quote.blockers().into_iter().map(field_error).collect();
        // Shipping is asked with an address at checkout; the cart alone is not
        // blocked for want of one.
        let blockers: Vec<ProblemFieldError> = blockers
            .into_iter()
            .filter(|b| !matches!(quote.delivery, Delivery::NoAddress) || b.field != "address_id")
            .collect();
        let coupon = quote.coupon.clone().map(|c| match c {
            CouponOutcome::Applied { code, amount } => CartCouponBody {
                code,
                applied: true,
                discount: amount.get(),
                reason: None,
            },
            CouponOutcome::Refused { code, reason } => CartCouponBody {
                code,
                applied: false,
                discount: 0,
                reason: Some(field_error(reason)),
            },
        });
        let delivery = match &quote.delivery {
            Delivery::NoAddress => None,
            Delivery::Serviceable {
                cod_allowed,
                estimate_days,
                ..
            } => Some(CartDeliveryBody {
                serviceable: true,
                cod_available: *cod_allowed,
                min_days: Some(estimate_days.0),
                max_days: Some(estimate_days.1),
                reason: None,
            }),
            Delivery::NotServiceable { reason } => Some(CartDeliveryBody {
                serviceable: false,
                cod_available: false,
                min_days: None,
                max_days: None,
                reason: Some(field_error(reason.clone())),
            }),
        };
        Self {
            lines: quote.lines.iter().map(line_body).collect(),
            currency: "INR".into(),
            subtotal: quote.subtotal.get(),
            coupon,
            discount: quote.discount.get(),
            delivery,
            shipping: quote.shipping.get(),
            tax_lines: quote
                .taxes
                .iter()
                .map(|t| TaxLineBody {
                    name: t.name.into(),
                    rate_bp: t.rate_bp,
                    amount: t.amount.get(),
                })
                .collect(),
            tax: quote.tax.get(),
            total: quote.total.get(),
            ready_for_checkout: blockers.is_empty(),
            blockers,
            version: cart.version,
            expires_at: cart.expires_at,
        }
    }
}

fn line_body(line: &PricedLine) -> CartLineBody {
    CartLineBody {
        product_id: line.product_id.as_str().into(),
        variant_id: line.variant_id.as_str().into(),
        sku: line.item.as_ref().map(|i| i.sku.clone()),
        name: line.item.as_ref().map(|i| i.name.clone()),
        unit_price: line.item.as_ref().map(|i| i.unit_price.get()),
        quantity: line.quantity,
        line_total: line.total(),
        state: line.availability.state().into(),
        available: match line.availability {
            Availability::Short { available } => Some(available),
            _ => None,
        },
    }
}

impl From<PricedCart> for CartBody {
    fn from(p: PricedCart) -> Self {
        Self::of(&p.cart, p.quote)
    }
}

impl Example for CartBody {
    fn example() -> Self {
        let product = ProductId::parse("6650c0ffee0000000000b001").expect("an id");
        let variant = VariantId::parse("6650c0ffee0000000000b001").expect("an id");
        let line = PricedLine {
            product_id: product.clone(),
            variant_id: variant.clone(),
            item: Some(CatalogItem {
                sku: "KURTA-M-BLUE".into(),
                name: "Cotton kurta".into(),
                category: "apparel".into(),
                unit_price: Paise::trusted(129_900),
                rate_bp: 1200,
                tax_code: "6211".into(),
            }),
            quantity: 2,
            availability: Availability::InStock,
        };
        let terms = pricing::TaxTerms {
            basis: crate::domain::gst::tax::PriceBasis::Exclusive,
            supply: crate::domain::gst::tax::SupplyType::Intra,
        };
        let quote = pricing::price(vec![line], None, &pricing::NoAddress, terms);
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        let mut cart = Cart::empty(
            CartOwner::Customer(crate::domain::ids::UserId::generate()),
            now,
        );
        cart.version = 3;
        Self::of(&cart, quote)
    }
}

/// A quantity of a variant to hold in the cart.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields, rename = "CartItemPut")]
#[serde(deny_unknown_fields)]
pub struct CartItemBody {
    /// The product the variant belongs to.
    #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
    pub product_id: String,
    /// How many: replaces the line's quantity (1 to the per-item limit,
    /// `BAZAAR_ORDER_PRODUCT_UNITS_MAX`).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub quantity: i64,
}

impl Example for CartItemBody {
    fn example() -> Self {
        Self {
            product_id: "6650c0ffee0000000000b001".into(),
            quantity: 2,
        }
    }
}

/// A coupon code to put on the cart.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields, rename = "CartCouponPut")]
#[serde(deny_unknown_fields)]
pub struct CouponPutBody {
    /// 3–32 letters, digits or `-`; case does not matter.
    #[oai(validator(pattern = "^[A-Za-z0-9-]{3,32}$"))]
    pub code: String,
}

impl Example for CouponPutBody {
    fn example() -> Self {
        Self {
            code: "DIWALI10".into(),
        }
    }
}

/// A guest's cart token.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "GuestCart")]
pub struct GuestCartBody {
    /// Send as `X-Cart-Token` on the cart's operations, and to `POST /cart/merge`
    /// after signing in. Keep it like a password: it is the cart's only key.
    pub cart_token: String,
    /// Days the cart is kept after its last change.
    pub kept_days: u32,
}

impl Example for GuestCartBody {
    fn example() -> Self {
        Self {
            cart_token: "ct_Zk3v0sQ2pXJ9bYwqH1nR7uT4eL8aM6cD5fG0hI2jK3l".into(),
            kept_days: GUEST_CART_DAYS as u32,
        }
    }
}

/// The guest cart to take into the signed-in customer's.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields, rename = "CartMerge")]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    #[oai(validator(pattern = "^ct_[A-Za-z0-9_-]{43}$"))]
    pub cart_token: String,
}

impl Example for MergeBody {
    fn example() -> Self {
        Self {
            cart_token: GuestCartBody::example().cart_token,
        }
    }
}

/// The customer's cart after a merge.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "CartMerged")]
pub struct MergedBody {
    pub cart: CartBody,
    /// Lines of the guest cart that did not fit (a cart holds at most 50).
    pub dropped_lines: u32,
}

impl Example for MergedBody {
    fn example() -> Self {
        Self {
            cart: CartBody::example(),
            dropped_lines: 0,
        }
    }
}
