//! Checkout from the cart: the customer's cart, priced for a saved address by the
//! one pricing function, becomes an order with exactly those charges.
//!
//! Every reason the cart cannot be ordered is answered at once (422, each naming
//! the field that fixes it); a total that is not the one the customer was shown
//! is 409 `price_changed`. Stock is reserved, the coupon redeemed and the order
//! stored by `Orders::place_quoted`; the cart is emptied once the order stands.

use std::sync::Arc;

use crate::app::addresses::AddressBook;
use crate::app::carts::{Carts, Destination};
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Principal;
use crate::app::orders::create::Placed;
use crate::app::orders::Orders;
use crate::domain::cart::CartOwner;
use crate::domain::ids::AddressId;
use crate::domain::order::cod::PaymentMethod;
use crate::domain::order::request::{parse_notes, ship_to, OrderRequest, RequestLine};
use crate::domain::pricing::{Delivery, Quote};
use crate::domain::request_key::RequestKey;
use crate::domain::validation::{Collector, FieldError};

/// What the customer sends to check out.
#[derive(Debug, Clone, Default)]
pub struct CheckoutRequest {
    pub address_id: String,
    pub payment_method: String,
    /// The total the customer was shown, paise; checked when given.
    pub expected_total: Option<i64>,
    pub notes: Option<String>,
}

/// [`CheckoutRequest`], checked.
struct Checked {
    address: AddressId,
    method: PaymentMethod,
    notes: Option<String>,
}

impl CheckoutRequest {
    fn check(&self) -> Result<Checked, AppError> {
        let mut errors = Collector::default();
        let address = errors.take(
            AddressId::parse(&self.address_id)
                .map_err(|m| FieldError::new("address_id", "invalid", m)),
        );
        let method = errors.take(PaymentMethod::parse("payment_method", &self.payment_method));
        let notes = errors.take(parse_notes(self.notes.as_deref())).flatten();
        match (address, method) {
            (Some(address), Some(method)) if errors.is_empty() => Ok(Checked {
                address,
                method,
                notes,
            }),
            _ => Err(AppError::validation(errors.into_errors())),
        }
    }
}

pub struct Checkout {
    carts: Arc<Carts>,
    orders: Arc<Orders>,
    addresses: Arc<AddressBook>,
}

impl Checkout {
    pub fn new(carts: Arc<Carts>, orders: Arc<Orders>, addresses: Arc<AddressBook>) -> Self {
        Self {
            carts,
            orders,
            addresses,
        }
    }

    /// Places the caller's cart as an order to one of their saved addresses. With a
    /// request key (`Idempotency-Key`), a retry finds the order the first attempt
    /// placed, even though the cart is empty by then.
    pub async fn place(
        &self,
        who: &Principal,
        request: &CheckoutRequest,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        let checked = request.check()?;
        if let Some(key) = request_key {
            if let Some(found) = self.orders.placed_by(key).await? {
                return Ok(found);
            }
        }
        let owner = CartOwner::Customer(who.user_id.clone());
        let address = self
            .addresses
            .get(&who.user_id, &checked.address)
            .await
            .map_err(unknown_address)?;
        let priced = self
            .carts
            .view(&owner, Destination::SavedAddress(checked.address.as_str()))
            .await
            .map_err(unknown_address)?;
        let quote = priced.quote;
        let blockers = blockers(&quote, checked.method);
        if !blockers.is_empty() {
            return Err(AppError::validation(blockers));
        }
        if let Some(expected) = request.expected_total {
            if expected != quote.total.get() {
                return Err(AppError::new(
                    ErrorCode::PriceChanged,
                    format!(
                        "the cart now comes to {} paise, not {expected}; show the customer the \
                         new total and check out with it as expected_total",
                        quote.total.get()
                    ),
                ));
            }
        }
        let order = OrderRequest {
            lines: quote
                .lines
                .iter()
                .map(|l| RequestLine {
                    product_id: l.product_id.clone(),
                    variant_id: Some(l.variant_id.clone()),
                    quantity: l.quantity,
                })
                .collect(),
            address: Some(ship_to(&address.details)),
            notes: checked.notes,
        };
        let placed = self
            .orders
            .place_quoted(who, order, &quote, checked.method, request_key)
            .await?;
        if let Placed::New(order) = &placed {
            if let Err(error) = self.carts.clear(&owner).await {
                // The order stands; the customer sees the lines again and can clear them.
                tracing::warn!(order = %order.id, error = %error, "could not empty a checked-out cart");
            }
        }
        Ok(placed)
    }
}

/// Everything that stands between the quote and an order paid by `method`.
fn blockers(quote: &Quote, method: PaymentMethod) -> Vec<FieldError> {
    let mut out = quote.blockers();
    if method == PaymentMethod::Cod {
        if let Delivery::Serviceable {
            cod_allowed: false, ..
        } = quote.delivery
        {
            out.push(FieldError::new(
                "payment_method",
                "cod_unavailable_for_destination",
                "cash on delivery is not offered for this address",
            ));
        }
    }
    out
}

/// An address that is not the caller's is a field to fix, not a missing page.
fn unknown_address(error: AppError) -> AppError {
    if error.code == ErrorCode::NotFound {
        AppError::validation(vec![FieldError::new(
            "address_id",
            "not_found",
            "you have no saved address with this id",
        )])
    } else {
        error
    }
}
