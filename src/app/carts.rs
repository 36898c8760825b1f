//! Carts: a customer's, and a guest's under a cart token, priced by the one
//! pricing function (`domain::pricing`) with the catalog as it is now.
//!
//! A change is a read, a pure change of the cart and a write conditional on
//! the version read; on a lost race (two tabs) it reads again and reapplies.

use std::sync::Arc;

use crate::app::addresses::AddressBook;
use crate::app::catalog::Catalog;
use crate::app::coupons::Coupons;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::orders::Orders;
use crate::app::shipping::Shipping;
use crate::domain::cart::{parse_quantity, Cart, CartOwner, CartToken};
use crate::domain::coupon::{CouponCode, CouponLine};
use crate::domain::ids::AddressId;
use crate::domain::ids::{ProductId, UserId, VariantId};
use crate::domain::money::Paise;
use crate::domain::order::tax::ItemRate;
use crate::domain::pincode::StateCode;
use crate::domain::pricing::{
    self, Availability, CatalogItem, Delivery, DiscountRule, PricedLine, Quote, ShippingRule,
    TaxTerms,
};
use crate::domain::product::Product;
use crate::domain::shipping::{self as zones, Serviceability, ShippingZone};
use crate::domain::time::SharedClock;
use crate::domain::validation::FieldError;
use crate::store::{CartRepository, StoreError};

/// How often a change is retried after losing a race for the same cart.
const RACE_RETRIES: usize = 8;

pub struct CartSettings {
    /// Most units of one item, as in an order.
    pub units_max: u32,
}

/// What pricing a cart reads besides the catalog: where it goes, what a coupon takes
/// off, and whether the customer has ordered before.
pub struct PricingParts {
    pub addresses: Arc<AddressBook>,
    pub shipping: Arc<Shipping>,
    pub coupons: Arc<Coupons>,
    pub orders: Arc<Orders>,
}

pub struct Carts {
    carts: Arc<dyn CartRepository>,
    catalog: Arc<Catalog>,
    parts: PricingParts,
    settings: CartSettings,
    clock: SharedClock,
}

/// Where the caller would have the cart delivered, for its shipping line.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// Not said: shipping is not priced.
    Unknown,
    /// One of the customer's saved addresses, by id.
    SavedAddress(&'a str),
    /// A pincode, before any address is saved (a guest's "deliver to" box).
    Pincode(&'a str),
}

/// The coupon's outcome, judged before pricing (it reads the store).
struct Judged {
    code: String,
    discount: Result<Paise, FieldError>,
}

impl DiscountRule for Judged {
    fn code(&self) -> &str {
        &self.code
    }

    fn discount(&self, _: &[&PricedLine], _: Paise) -> Result<Paise, FieldError> {
        self.discount.clone()
    }
}

/// Delivery to one place under the stored zones.
struct ZoneRule {
    zones: Vec<ShippingZone>,
    state_code: String,
    pincode: String,
    /// The field a refusal names (`address_id` or `pincode`).
    field: &'static str,
}

impl ShippingRule for ZoneRule {
    fn delivery(&self, goods_value: Paise) -> Delivery {
        let to = zones::Destination {
            state_code: &self.state_code,
            pincode: &self.pincode,
        };
        match zones::quote(&self.zones, &to, goods_value) {
            Serviceability::Serviceable(q) => Delivery::Serviceable {
                // The zone already waived the fee at its free-shipping value.
                fee: q.fee,
                free_from: None,
                cod_allowed: q.cod_allowed,
                estimate_days: (
                    u32::from(q.estimate.min_days),
                    u32::from(q.estimate.max_days),
                ),
            },
            Serviceability::NotServiceable(why) => Delivery::NotServiceable {
                reason: why.field_error(self.field),
            },
        }
    }
}

/// A cart with its price now.
#[derive(Debug, Clone)]
pub struct PricedCart {
    pub cart: Cart,
    pub quote: Quote,
}

fn no_such_line() -> AppError {
    AppError::new(ErrorCode::NotFound, "the cart has no line for this variant")
}

/// The variant of `product` that `raw` names (a product without options has one,
/// whose id is the product's).
fn variant_of(product: &Product, raw: &str) -> Result<VariantId, FieldError> {
    VariantId::parse(raw)
        .ok()
        .and_then(|id| product.variant(&id).map(|v| v.id.clone()))
        .ok_or_else(|| {
            FieldError::new(
                "variant_id",
                "unknown_variant",
                "the product has no such variant",
            )
        })
}

/// What the catalog says of one variant now, and how many are left.
fn catalog_item(
    product: &Product,
    variant: &VariantId,
    rate: ItemRate,
) -> Option<(CatalogItem, Option<u32>)> {
    let v = product.variant(variant)?;
    let name = match v.label() {
        Some(label) => format!("{} — {label}", product.name.as_str()),
        None => product.name.as_str().to_owned(),
    };
    Some((
        CatalogItem {
            sku: v.sku.as_str().to_owned(),
            name,
            category: product.category.as_str().to_owned(),
            unit_price: v.price,
            rate_bp: rate.rate_bp,
            tax_code: rate.code,
        },
        v.stock,
    ))
}

impl Carts {
    pub fn new(
        carts: Arc<dyn CartRepository>,
        catalog: Arc<Catalog>,
        parts: PricingParts,
        settings: CartSettings,
        clock: SharedClock,
    ) -> Self {
        Self {
            carts,
            catalog,
            parts,
            settings,
            clock,
        }
    }

    /// A new guest cart's token. Nothing is stored until the guest adds
    /// something: a token with no cart reads as an empty cart.
    pub fn new_guest_token(&self) -> CartToken {
        CartToken::generate()
    }

    /// The owner's cart (empty if it has none), priced for delivery to `to`.
    pub async fn view(
        &self,
        owner: &CartOwner,
        to: Destination<'_>,
    ) -> Result<PricedCart, AppError> {
        let cart = self.load(owner).await?;
        let quote = self.price(&cart, to).await?;
        Ok(PricedCart { cart, quote })
    }

    /// Puts a coupon code on the cart if it applies now (a 422 on `coupon_code` saying
    /// why not otherwise). Whether it still applies is judged each time the cart is priced.
    pub async fn set_coupon(&self, owner: &CartOwner, code: &str) -> Result<PricedCart, AppError> {
        let code =
            CouponCode::parse("coupon_code", code).map_err(|e| AppError::validation(vec![e]))?;
        let mut trial = self.load(owner).await?;
        trial.coupon = Some(code.as_str().to_owned());
        let quote = self.price(&trial, Destination::Unknown).await?;
        if let Some(pricing::CouponOutcome::Refused { reason, .. }) = quote.coupon {
            return Err(AppError::validation(vec![reason]));
        }
        let code = code.as_str().to_owned();
        self.change(owner, move |cart, _| {
            cart.coupon = Some(code.clone());
            Ok(())
        })
        .await
    }

    /// Takes the coupon off the cart.
    pub async fn drop_coupon(&self, owner: &CartOwner) -> Result<PricedCart, AppError> {
        self.change(owner, |cart, _| {
            cart.coupon = None;
            Ok(())
        })
        .await
    }

    /// Puts `quantity` units of a variant in the cart: a new line, or a new
    /// quantity for its line. Setting rather than adding is what makes a retry
    /// harmless.
    pub async fn put_item(
        &self,
        owner: &CartOwner,
        variant_id: &str,
        product_id: &str,
        quantity: i64,
    ) -> Result<PricedCart, AppError> {
        let mut errors = Vec::new();
        let product = ProductId::parse(product_id)
            .map_err(|m| errors.push(FieldError::new("product_id", "invalid", m)))
            .ok();
        let quantity = parse_quantity("quantity", quantity, self.settings.units_max)
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(product), Some(quantity)) = (product, quantity) else {
            return Err(AppError::validation(errors));
        };
        let product = self.catalog.find(&product).await?.ok_or_else(|| {
            AppError::validation(vec![FieldError::new(
                "product_id",
                "unknown_product",
                "no product has this id",
            )])
        })?;
        let variant =
            variant_of(&product, variant_id).map_err(|e| AppError::validation(vec![e]))?;
        let units_max = self.settings.units_max;
        self.change(owner, |cart, now| {
            if cart.set_quantity(&variant, quantity) {
                return Ok(());
            }
            cart.add(
                product.id.clone(),
                variant.clone(),
                quantity,
                units_max,
                now,
            )
            .map_err(|e| AppError::validation(vec![e]))
        })
        .await
    }

    /// Removes a line.
    pub async fn remove_item(
        &self,
        owner: &CartOwner,
        variant_id: &str,
    ) -> Result<PricedCart, AppError> {
        let variant = VariantId::parse(variant_id).map_err(|_| no_such_line())?;
        self.change(owner, |cart, _| {
            if cart.remove(&variant) {
                Ok(())
            } else {
                Err(no_such_line())
            }
        })
        .await
    }

    /// Empties the cart.
    pub async fn clear(&self, owner: &CartOwner) -> Result<(), AppError> {
        Ok(self.carts.delete(owner).await?)
    }

    /// Takes the guest cart of `token` into the customer's cart (at sign-in),
    /// then forgets the guest cart. Answers the merged cart and how many of the
    /// guest's lines did not fit.
    pub async fn merge(
        &self,
        customer: &UserId,
        token: &str,
    ) -> Result<(PricedCart, usize), AppError> {
        let token = CartToken::parse(token).ok_or_else(|| {
            AppError::validation(vec![FieldError::new(
                "cart_token",
                "invalid",
                "is not a cart token this service issued",
            )])
        })?;
        let guest_owner = token.owner();
        let owner = CartOwner::Customer(customer.clone());
        let Some(guest) = self.carts.get(&guest_owner, self.clock.now()).await? else {
            return Ok((self.view(&owner, Destination::Unknown).await?, 0));
        };
        let units_max = self.settings.units_max;
        let mut dropped = 0;
        let merged = self
            .change(&owner, |cart, _| {
                dropped = cart.absorb(guest.clone(), units_max);
                Ok(())
            })
            .await?;
        self.carts.delete(&guest_owner).await?;
        Ok((merged, dropped))
    }

    /// Prices `cart` with the catalog, its coupon and the shipping zones as they are
    /// now, for delivery to `to`: the one function `GET cart` and checkout both use.
    pub async fn price(&self, cart: &Cart, to: Destination<'_>) -> Result<Quote, AppError> {
        let now = self.clock.now();
        let mut lines = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            let found = self.catalog.find(&line.product_id).await?.and_then(|p| {
                let rate = ItemRate::of(&p, self.catalog.tax(), now);
                catalog_item(&p, &line.variant_id, rate)
            });
            let (item, availability) = match found {
                Some((item, stock)) => (Some(item), Availability::of(stock, line.quantity)),
                None => (None, Availability::Unavailable),
            };
            lines.push(PricedLine {
                product_id: line.product_id.clone(),
                variant_id: line.variant_id.clone(),
                item,
                quantity: line.quantity,
                availability,
            });
        }
        let coupon = match &cart.coupon {
            Some(code) => Some(self.judge_coupon(&cart.owner, code, &lines).await?),
            None => None,
        };
        let coupon = coupon.as_ref().map(|c| c as &dyn DiscountRule);
        let rule = self.shipping_rule(&cart.owner, to).await?;
        let place = rule.as_ref().and_then(|r| StateCode::parse(&r.state_code));
        let terms = TaxTerms::for_delivery(self.catalog.tax(), place);
        Ok(match rule {
            Some(rule) => pricing::price(lines, coupon, &rule, terms),
            None => pricing::price(lines, coupon, &pricing::NoAddress, terms),
        })
    }

    async fn judge_coupon(
        &self,
        owner: &CartOwner,
        code: &str,
        lines: &[PricedLine],
    ) -> Result<Judged, AppError> {
        let values: Vec<CouponLine> = lines
            .iter()
            .filter_map(|l| {
                let item = l.item.as_ref()?;
                Some(CouponLine {
                    value: Paise::trusted(l.total()),
                    category: item.category.clone(),
                })
            })
            .collect();
        let (user, first_order) = match owner {
            CartOwner::Customer(user) => {
                (Some(user), self.parts.orders.is_first_order(user).await?)
            }
            // A guest has no orders; their own are judged once the cart is theirs.
            CartOwner::Guest(_) => (None, true),
        };
        let discount = match self
            .parts
            .coupons
            .check_for(code, user, &values, first_order)
            .await
        {
            Ok(applied) => Ok(applied.discount),
            Err(e) if e.code == ErrorCode::ValidationFailed && !e.errors.is_empty() => {
                Err(e.errors[0].clone())
            }
            Err(e) => return Err(e),
        };
        Ok(Judged {
            code: code.to_owned(),
            discount,
        })
    }

    /// The shipping rule for delivery to `to`, if the caller said where.
    async fn shipping_rule(
        &self,
        owner: &CartOwner,
        to: Destination<'_>,
    ) -> Result<Option<ZoneRule>, AppError> {
        let (state_code, pincode, field) = match to {
            Destination::Unknown => return Ok(None),
            Destination::Pincode(raw) => {
                let (pincode, locality) = self.parts.addresses.locate(raw)?;
                (
                    locality.state_code.to_string(),
                    pincode.to_string(),
                    "pincode",
                )
            }
            Destination::SavedAddress(raw) => {
                let CartOwner::Customer(user) = owner else {
                    return Err(AppError::invalid_parameter(
                        "address_id",
                        "saved addresses are a signed-in customer's; a guest gives a pincode",
                    ));
                };
                let id = AddressId::parse(raw)
                    .map_err(|m| AppError::invalid_parameter("address_id", m))?;
                let address = self.parts.addresses.get(user, &id).await?;
                let details = &address.details;
                (
                    details.locality.state_code.to_string(),
                    details.pincode.to_string(),
                    "address_id",
                )
            }
        };
        Ok(Some(ZoneRule {
            zones: self.parts.shipping.quoting_zones().await?,
            state_code,
            pincode,
            field,
        }))
    }

    async fn load(&self, owner: &CartOwner) -> Result<Cart, AppError> {
        let now = self.clock.now();
        Ok(self
            .carts
            .get(owner, now)
            .await?
            .unwrap_or_else(|| Cart::empty(owner.clone(), now)))
    }

    /// Reads the cart, applies `edit` and writes it at the version read; on a
    /// lost race, again.
    async fn change(
        &self,
        owner: &CartOwner,
        mut edit: impl FnMut(&mut Cart, chrono::DateTime<chrono::Utc>) -> Result<(), AppError>,
    ) -> Result<PricedCart, AppError> {
        for _ in 0..RACE_RETRIES {
            let mut cart = self.load(owner).await?;
            let read = cart.version;
            let now = self.clock.now();
            edit(&mut cart, now)?;
            cart.touch(now);
            match self.carts.put(&cart, read).await {
                Ok(()) => {
                    let quote = self.price(&cart, Destination::Unknown).await?;
                    return Ok(PricedCart { cart, quote });
                }
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
