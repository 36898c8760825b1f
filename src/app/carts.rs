//! Carts: a customer's, and a guest's under a cart token, priced by the one
//! pricing function (`domain::pricing`) with the catalog as it is now.
//!
//! A change is a read, a pure change of the cart and a write conditional on
//! the version read; on a lost race (two tabs) it reads again and reapplies.

use std::sync::Arc;

use crate::app::catalog::Catalog;
use crate::app::errors::{AppError, ErrorCode};
use crate::domain::cart::{parse_quantity, Cart, CartOwner, CartToken};
use crate::domain::ids::{ProductId, UserId, VariantId};
use crate::domain::pricing::{
    self, Availability, CatalogItem, DiscountRule, PricedLine, Quote, ShippingRule,
};
use crate::domain::product::Product;
use crate::domain::time::SharedClock;
use crate::domain::validation::FieldError;
use crate::store::{CartRepository, StoreError};

/// How often a change is retried after losing a race for the same cart.
const RACE_RETRIES: usize = 8;

pub struct CartSettings {
    /// GST in basis points, as orders charge it.
    pub tax_rate_bp: u32,
    /// Most units of one item, as in an order.
    pub units_max: u32,
}

pub struct Carts {
    carts: Arc<dyn CartRepository>,
    catalog: Arc<Catalog>,
    settings: CartSettings,
    clock: SharedClock,
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

/// The variant of `product` that `raw` names; omitted, the product's only one.
/// (Until products have variants, that is the product itself, whose default
/// variant shares its id.)
fn variant_of(product: &Product, raw: Option<&str>) -> Result<VariantId, FieldError> {
    let default = VariantId::trusted(product.id.as_str().to_owned());
    match raw {
        None => Ok(default),
        Some(raw) if raw.eq_ignore_ascii_case(default.as_str()) => Ok(default),
        Some(_) => Err(FieldError::new(
            "variant_id",
            "unknown_variant",
            "the product has no such variant",
        )),
    }
}

/// What the catalog says of one variant now, and how many are left.
fn catalog_item(product: &Product, variant: &VariantId) -> Option<(CatalogItem, Option<u32>)> {
    (product.id.as_str() == variant.as_str()).then(|| {
        (
            CatalogItem {
                sku: product.sku.as_str().to_owned(),
                name: product.name.as_str().to_owned(),
                category: product.category.as_str().to_owned(),
                unit_price: product.price,
            },
            product.stock,
        )
    })
}

impl Carts {
    pub fn new(
        carts: Arc<dyn CartRepository>,
        catalog: Arc<Catalog>,
        settings: CartSettings,
        clock: SharedClock,
    ) -> Self {
        Self {
            carts,
            catalog,
            settings,
            clock,
        }
    }

    /// A new guest cart's token. Nothing is stored until the guest adds
    /// something: a token with no cart reads as an empty cart.
    pub fn new_guest_token(&self) -> CartToken {
        CartToken::generate()
    }

    /// The owner's cart (empty if it has none), priced with no address.
    pub async fn view(&self, owner: &CartOwner) -> Result<PricedCart, AppError> {
        let cart = self.load(owner).await?;
        self.priced(cart, &pricing::NoAddress).await
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
            variant_of(&product, Some(variant_id)).map_err(|e| AppError::validation(vec![e]))?;
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
            return Ok((self.view(&owner).await?, 0));
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

    /// Prices `cart` with the catalog as it is now: the one function that
    /// `GET cart` and checkout both use.
    pub async fn price(
        &self,
        cart: &Cart,
        coupon: Option<&dyn DiscountRule>,
        shipping: &dyn ShippingRule,
    ) -> Result<Quote, AppError> {
        let mut lines = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            let found = self
                .catalog
                .find(&line.product_id)
                .await?
                .and_then(|p| catalog_item(&p, &line.variant_id));
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
        Ok(pricing::price(
            lines,
            coupon,
            shipping,
            self.settings.tax_rate_bp,
        ))
    }

    async fn priced(
        &self,
        cart: Cart,
        shipping: &dyn ShippingRule,
    ) -> Result<PricedCart, AppError> {
        let quote = self.price(&cart, None, shipping).await?;
        Ok(PricedCart { cart, quote })
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
                Ok(()) => return self.priced(cart, &pricing::NoAddress).await,
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::VersionConflict.into())
    }
}
