//! Placing an order: its stock reserved under holds, all items or none, within
//! the customer's cap on unpaid orders, at most once per request key.

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Permission;
use crate::app::identity::Principal;
use crate::domain::coupon::CouponCode;
use crate::domain::hold::HoldId;
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::order::cod::PaymentMethod;
use crate::domain::order::request::{OrderRequest, RawAddress, RawLine};
use crate::domain::order::tax::ItemTaxing;
use crate::domain::order::{Order, OrderId};
use crate::domain::pricing::{Delivery, Quote};
use crate::domain::request_key::{Found, RequestKey};
use crate::domain::validation::FieldError;
use crate::store::StoreError;

use super::Orders;

/// Razorpay takes no payment below ₹1.
const MIN_TOTAL: i64 = 100;

/// What an order is placed on besides its lines: how it is paid and, from the
/// cart, the quote whose charges it takes.
struct Terms<'a> {
    method: PaymentMethod,
    quote: Option<&'a Quote>,
}

#[derive(Clone)]
/// What [`Orders::create`] did.
#[derive(Debug)]
pub enum Placed {
    /// Placed the order now.
    New(Order),
    /// Found the order an earlier attempt of the same request placed.
    Found(Order),
}

impl Placed {
    pub fn order(&self) -> &Order {
        match self {
            Self::New(order) | Self::Found(order) => order,
        }
    }

    pub fn into_order(self) -> Order {
        match self {
            Self::New(order) | Self::Found(order) => order,
        }
    }
}

fn price_changed() -> AppError {
    AppError::new(
        ErrorCode::PriceChanged,
        "a price in the cart changed while the order was placed; read the cart again and \
         show the customer its new total",
    )
}

fn too_many_unpaid(max: u32) -> AppError {
    AppError::new(
        ErrorCode::TooManyUnpaidOrders,
        format!(
            "you already have {max} unpaid orders, the most allowed; pay for or cancel one first"
        ),
    )
}

impl Orders {
    /// Creates an order and reserves its stock: all items or none. A customer
    /// holds at most `unpaid_max` unpaid orders: checked before any stock is
    /// taken, and enforced by the store when the order is written (each takes
    /// one of the customer's slots), so concurrent creates cannot exceed it.
    ///
    /// With a request key (the request came with an `Idempotency-Key`) the
    /// order is stored with it, at most one per key: a retry whose first
    /// attempt's answer was lost finds that order ([`Placed::Found`]) instead
    /// of placing a second one. Paid through Razorpay: [`Orders::create_paid_by`]
    /// takes the payment method.
    pub async fn create(
        &self,
        who: &Principal,
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        self.create_paid_by(who, lines, address, notes, None, request_key)
            .await
    }

    /// [`Orders::create`] with the payment method: `payment_method` is `razorpay` (the default) or `cod`: a COD order
    /// needs a verified phone and a total within the COD ceiling (422 on
    /// `payment_method` otherwise), and its confirmation code is sent to that
    /// phone once it is placed ([`Orders::confirm_cod`]).
    pub async fn create_paid_by(
        &self,
        who: &Principal,
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
        payment_method: Option<&str>,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        let parsed = OrderRequest::parse(lines, address, notes, self.settings.product_units_max);
        let method = payment_method
            .map(|raw| PaymentMethod::parse("payment_method", raw))
            .transpose();
        let (request, method) = match (parsed, method) {
            (Ok(request), Ok(method)) => (request, method.unwrap_or_default()),
            (parsed, method) => {
                let mut errors = parsed.err().unwrap_or_default();
                errors.extend(method.err());
                return Err(AppError::validation(errors));
            }
        };
        let terms = Terms {
            method,
            quote: None,
        };
        self.place(who, request, &terms, request_key).await
    }

    /// Places the order a cart's `quote` prices (checkout from the cart): its lines,
    /// and its discount, coupon, shipping and tax as the quote has them. 409
    /// `price_changed` if a line's price changed since the quote; the coupon is redeemed
    /// for the order before it is stored (422 on `coupon_code` if its last use went
    /// to another checkout meanwhile) and given back if it is not stored.
    pub async fn place_quoted(
        &self,
        who: &Principal,
        request: OrderRequest,
        quote: &Quote,
        method: PaymentMethod,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        let terms = Terms {
            method,
            quote: Some(quote),
        };
        self.place(who, request, &terms, request_key).await
    }

    async fn place(
        &self,
        who: &Principal,
        mut request: OrderRequest,
        terms: &Terms<'_>,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        if let Some(key) = request_key {
            if let Some(found) = self.placed_by(key).await? {
                return Ok(found);
            }
        }
        if terms.method == PaymentMethod::Cod {
            self.admit_cod(&who.user_id).await?;
        }
        // Staff can change stock outright; the cap is against customers
        // holding stock they do not pay for.
        let capped = !who.can(Permission::OrdersManage);
        if capped
            && self.orders.count_unpaid(&who.user_id).await? >= u64::from(self.settings.unpaid_max)
        {
            return Err(too_many_unpaid(self.settings.unpaid_max));
        }
        self.resolve_variants(&mut request).await?;
        let order_id = OrderId::generate();
        let mut held: Vec<(ProductId, HoldId)> = Vec::new();
        let mut products = Vec::new();
        for (i, line) in request.lines.iter().enumerate() {
            let hold = HoldId::new(&order_id, i);
            let id = &line.product_id;
            let variant = line
                .variant_id
                .clone()
                .unwrap_or_else(|| VariantId::default_of(id));
            match self
                .catalog
                .reserve(id, &variant, line.quantity, &hold)
                .await
            {
                Ok(product) => {
                    held.push((id.clone(), hold));
                    products.push(product);
                }
                Err(error) => {
                    self.release_holds(&held).await;
                    return Err(item_error(error, i));
                }
            }
        }
        let terms_of_tax = self.tax_terms(request.address.as_ref());
        let mut order = Order::new(
            order_id,
            who.user_id.clone(),
            request,
            &products,
            ItemTaxing {
                terms: terms_of_tax,
                rate_of: &|p| self.item_rate(p),
            },
            self.clock.now(),
            chrono::Duration::from_std(self.settings.pay_within).unwrap_or_default(),
        );
        order.request_key = request_key.cloned();
        order.payment_method = terms.method;
        if let Err(refused) = self.settle_terms(&mut order, terms).await {
            self.release_holds(&held).await;
            return Err(refused);
        }
        let coupon = match self.redeem_coupon(&order).await {
            Ok(coupon) => coupon,
            Err(refused) => {
                self.release_holds(&held).await;
                return Err(refused);
            }
        };
        let inserted = if capped {
            self.insert_in_a_free_slot(&mut order).await
        } else {
            self.orders.insert(&order).await.map(|()| true)
        };
        let not_stored = match inserted {
            Ok(true) => None,
            // Every slot was taken by a concurrent create meanwhile.
            Ok(false) => Some(too_many_unpaid(self.settings.unpaid_max)),
            // The insert may have reached the database before the connection
            // failed: the sweep looks for the order before it gives stock back.
            Err(error @ StoreError::Unavailable(_)) => return Err(error.into()),
            // A concurrent attempt under the same key stored its order first.
            Err(StoreError::Duplicate {
                field: "request_key",
            }) if request_key.is_some() => {
                self.undo_placement(&held, coupon.as_ref(), &order).await;
                let key = request_key.expect("checked by the guard");
                return self.placed_by(key).await?.ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!(
                        "an order's request key is taken but no order has it"
                    ))
                });
            }
            Err(error) => Some(error.into()),
        };
        if let Some(error) = not_stored {
            self.undo_placement(&held, coupon.as_ref(), &order).await;
            return Err(error);
        }
        for (id, hold) in &held {
            if let Err(error) = self.catalog.drop_hold(id, hold).await {
                // Harmless: the sweep finds the order and drops the hold.
                tracing::warn!(product = %id, %hold, error = %error, "could not drop a stock hold");
            }
        }
        if order.payment_method == PaymentMethod::Cod {
            self.send_cod_code_for(&order).await;
        }
        Ok(Placed::New(order))
    }

    /// Makes the new order's charges what `terms` say and checks that they may be paid
    /// so: the quote's charges, cash on delivery where the destination's zone offers it
    /// and under the ceiling, and Razorpay's minimum.
    async fn settle_terms(&self, order: &mut Order, terms: &Terms<'_>) -> Result<(), AppError> {
        if let Some(quote) = terms.quote {
            order.charge_as_quoted(quote).map_err(|_| price_changed())?;
        }
        if order.payment_method == PaymentMethod::Cod {
            let zone_allows = match terms.quote {
                Some(quote) => matches!(
                    quote.delivery,
                    Delivery::Serviceable {
                        cod_allowed: true,
                        ..
                    }
                ),
                None => self.zone_offers_cod(order).await?,
            };
            self.cod_allowed_for(order.total, zone_allows)?;
        }
        if order.total.get() < MIN_TOTAL {
            return Err(AppError::validation(vec![FieldError::new(
                "items",
                "below_minimum",
                format!("an order must come to at least {MIN_TOTAL} paise, Razorpay's minimum"),
            )]));
        }
        Ok(())
    }

    /// Gives back what a placement took for an order that was not stored.
    async fn undo_placement(
        &self,
        held: &[(ProductId, HoldId)],
        coupon: Option<&CouponCode>,
        order: &Order,
    ) {
        self.release_holds(held).await;
        if let Some(code) = coupon {
            self.release_coupon(code, &order.id).await;
        }
    }

    /// Names each line's variant: the one it names, which the product must have, or the
    /// product's only one. Every line's problem is reported at once (422 on
    /// `items[i].product_id` or `items[i].variant_id`).
    async fn resolve_variants(&self, request: &mut OrderRequest) -> Result<(), AppError> {
        let mut errors = Vec::new();
        for (i, line) in request.lines.iter_mut().enumerate() {
            let Some(product) = self.catalog.find(&line.product_id).await? else {
                errors.push(no_such_product(i));
                continue;
            };
            match product.variant_for_line(line.variant_id.as_ref()) {
                Ok(v) => line.variant_id = Some(v.id.clone()),
                Err(e) => errors.push(FieldError::new(
                    format!("items[{i}].{}", e.field),
                    e.code,
                    e.message,
                )),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(errors))
        }
    }

    /// The order an earlier attempt of this request placed, if any; an error
    /// if the key was used for a different order.
    pub(crate) async fn placed_by(&self, key: &RequestKey) -> Result<Option<Placed>, AppError> {
        let Some(order) = self.orders.find_by_request_key(&key.id).await? else {
            return Ok(None);
        };
        let stored = order.request_key.clone().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "an order found by its request key has none"
            ))
        })?;
        match key.judge(&stored, order) {
            Found::Same(order) => Ok(Some(Placed::Found(order))),
            Found::Reused => Err(crate::app::idempotency::key_reused()),
        }
    }

    /// Stores a customer's new order in the first of their unpaid-order slots
    /// that is free; false if none is. The store refuses a taken slot
    /// atomically, which is what holds the cap against concurrent creates.
    async fn insert_in_a_free_slot(&self, order: &mut Order) -> Result<bool, StoreError> {
        for slot in 0..self.settings.unpaid_max {
            order.unpaid_slot = Some(slot);
            match self.orders.insert(order).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Duplicate {
                    field: "unpaid_slot",
                }) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(false)
    }

    /// Gives back the stock taken for an order that is not stored. One that
    /// fails stays held, and the sweep gives it back later.
    async fn release_holds(&self, held: &[(ProductId, HoldId)]) {
        for (id, hold) in held {
            if let Err(error) = self.catalog.release_hold(id, hold).await {
                tracing::warn!(product = %id, %hold, error = %error, "could not release a stock hold; the sweep will");
            }
        }
    }
}

fn no_such_product(index: usize) -> FieldError {
    FieldError::new(
        format!("items[{index}].product_id"),
        "not_found",
        "no such product",
    )
}

/// A reservation failure, named after the item it was for.
fn item_error(error: AppError, index: usize) -> AppError {
    match error.code {
        ErrorCode::NotFound => AppError::validation(vec![no_such_product(index)]),
        ErrorCode::InsufficientStock => AppError {
            errors: vec![FieldError::new(
                format!("items[{index}].quantity"),
                "insufficient_stock",
                error.detail.clone(),
            )],
            ..error
        },
        _ => error,
    }
}
