//! Carts: what a customer, or a guest under a cart token, means to buy.
//!
//! A cart holds references and quantities only. Prices and availability are
//! read afresh whenever it is priced ([`super::pricing`]), and nothing is
//! reserved until checkout, so a cart left for a week holds no stock.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::ids::{ProductId, UserId, VariantId};
use super::order::request::{MAX_ITEMS, MAX_QUANTITY};
use super::time::truncate_to_millis;
use super::validation::FieldError;

/// A guest cart is forgotten this long after its last change.
pub const GUEST_CART_DAYS: i64 = 30;

/// The bytes of randomness in a cart token.
const TOKEN_BYTES: usize = 32;
const TOKEN_PREFIX: &str = "ct_";

/// The opaque token that names a guest's cart, sent as `X-Cart-Token`. Only
/// its hash is stored, so a copy of the database cannot take over carts.
#[derive(Clone, PartialEq, Eq)]
pub struct CartToken(String);

impl CartToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        use base64::Engine;
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Self(format!("{TOKEN_PREFIX}{text}"))
    }

    /// A token of the shape [`generate`](Self::generate) makes, else `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.strip_prefix(TOKEN_PREFIX)?;
        let ok = body.len() == 43
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the guest's cart is stored under.
    pub fn owner(&self) -> CartOwner {
        CartOwner::Guest(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for CartToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CartToken(…)")
    }
}

/// Whose cart it is: one per customer, one per guest token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CartOwner {
    Customer(UserId),
    /// The SHA-256 (hex) of the guest's [`CartToken`].
    Guest(String),
}

impl CartOwner {
    /// The stored key: `user:{id}` or `guest:{hash}`.
    pub fn key(&self) -> String {
        match self {
            Self::Customer(id) => format!("user:{id}"),
            Self::Guest(hash) => format!("guest:{hash}"),
        }
    }

    /// Rebuilds an owner from a stored [`key`](Self::key).
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        match key.split_once(':')? {
            ("user", id) => Some(Self::Customer(UserId::trusted(id.to_owned()))),
            ("guest", hash) => Some(Self::Guest(hash.to_owned())),
            _ => None,
        }
    }

    pub fn is_guest(&self) -> bool {
        matches!(self, Self::Guest(_))
    }
}

/// One line: a variant of a product and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: u32,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub owner: CartOwner,
    /// In the order they were first added; one line per variant.
    pub lines: Vec<CartLine>,
    /// The coupon code the customer entered, as entered (upper-cased); whether
    /// it applies is judged each time the cart is priced.
    pub coupon: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A guest cart is forgotten after this; a customer's is kept.
    pub expires_at: Option<DateTime<Utc>>,
    /// 0 for a cart not yet stored; each stored change adds one.
    pub version: u64,
}

/// A quantity as sent: 1 to `max` units.
pub fn parse_quantity(field: &str, raw: i64, max: u32) -> Result<u32, FieldError> {
    let max = max.clamp(1, MAX_QUANTITY);
    match u32::try_from(raw) {
        Ok(q) if (1..=max).contains(&q) => Ok(q),
        _ => Err(FieldError::new(
            field,
            "out_of_range",
            format!("must be between 1 and {max}"),
        )),
    }
}

impl Cart {
    /// An empty cart, not yet stored.
    pub fn empty(owner: CartOwner, now: DateTime<Utc>) -> Self {
        let now = truncate_to_millis(now);
        let expires_at = owner
            .is_guest()
            .then(|| now + Duration::days(GUEST_CART_DAYS));
        Self {
            owner,
            lines: Vec::new(),
            coupon: None,
            created_at: now,
            updated_at: now,
            expires_at,
            version: 0,
        }
    }

    pub fn line(&self, variant: &VariantId) -> Option<&CartLine> {
        self.lines.iter().find(|l| l.variant_id == *variant)
    }

    /// Adds `quantity` units of a variant: to its line if it has one. At most
    /// [`MAX_ITEMS`] lines and `max_units` units of one variant, as an order.
    pub fn add(
        &mut self,
        product_id: ProductId,
        variant_id: VariantId,
        quantity: u32,
        max_units: u32,
        now: DateTime<Utc>,
    ) -> Result<(), FieldError> {
        let full = self.lines.len() >= MAX_ITEMS;
        match self.lines.iter_mut().find(|l| l.variant_id == variant_id) {
            Some(line) if line.quantity + quantity > max_units => Err(FieldError::new(
                "quantity",
                "out_of_range",
                format!(
                    "the cart already holds {} of this item; at most {max_units} in all",
                    line.quantity
                ),
            )),
            Some(line) => {
                line.quantity += quantity;
                Ok(())
            }
            None if full => Err(FieldError::new(
                "product_id",
                "too_many",
                format!("a cart holds at most {MAX_ITEMS} different items"),
            )),
            None => {
                self.lines.push(CartLine {
                    product_id,
                    variant_id,
                    quantity,
                    added_at: truncate_to_millis(now),
                });
                Ok(())
            }
        }
    }

    /// Sets a line's quantity; whether there was a line for the variant.
    pub fn set_quantity(&mut self, variant: &VariantId, quantity: u32) -> bool {
        match self.lines.iter_mut().find(|l| l.variant_id == *variant) {
            Some(line) => {
                line.quantity = quantity;
                true
            }
            None => false,
        }
    }

    /// Removes a line; whether there was one.
    pub fn remove(&mut self, variant: &VariantId) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.variant_id != *variant);
        self.lines.len() != before
    }

    /// Empties the cart and drops its coupon.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.coupon = None;
    }

    /// Takes a guest's cart into this one at sign-in: a variant in both keeps
    /// the larger quantity (the guest most likely added the same thing again,
    /// not twice as many); new variants are added while there is room. The
    /// guest's coupon is taken when this cart has none. Answers how many of the
    /// guest's lines did not fit.
    pub fn absorb(&mut self, guest: Cart, max_units: u32) -> usize {
        let mut dropped = 0;
        for line in guest.lines {
            let full = self.lines.len() >= MAX_ITEMS;
            match self
                .lines
                .iter_mut()
                .find(|l| l.variant_id == line.variant_id)
            {
                Some(mine) => mine.quantity = mine.quantity.max(line.quantity).min(max_units),
                None if full => dropped += 1,
                None => self.lines.push(CartLine {
                    quantity: line.quantity.min(max_units),
                    ..line
                }),
            }
        }
        if self.coupon.is_none() {
            self.coupon = guest.coupon;
        }
        dropped
    }

    /// A new version at `now`; a guest cart lives another
    /// [`GUEST_CART_DAYS`] from its last change.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        let now = truncate_to_millis(now);
        self.updated_at = now;
        if self.owner.is_guest() {
            self.expires_at = Some(now + Duration::days(GUEST_CART_DAYS));
        }
        self.version += 1;
    }

    /// Whether a guest cart has outlived its token.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u8) -> (ProductId, VariantId) {
        let hex = format!("{n:024x}");
        (
            ProductId::parse(&hex).unwrap(),
            VariantId::parse(&hex).unwrap(),
        )
    }

    fn cart() -> Cart {
        Cart::empty(CartOwner::Customer(UserId::generate()), Utc::now())
    }

    #[test]
    fn adding_a_variant_again_adds_to_its_line_up_to_the_limit() {
        let mut cart = cart();
        let (p, v) = ids(1);
        cart.add(p.clone(), v.clone(), 2, 10, Utc::now()).unwrap();
        cart.add(p.clone(), v.clone(), 3, 10, Utc::now()).unwrap();
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.line(&v).unwrap().quantity, 5);
        let err = cart.add(p, v.clone(), 6, 10, Utc::now()).unwrap_err();
        assert_eq!((err.field.as_str(), err.code), ("quantity", "out_of_range"));
        assert_eq!(cart.line(&v).unwrap().quantity, 5);
    }

    #[test]
    fn a_cart_holds_at_most_as_many_lines_as_an_order() {
        let mut cart = cart();
        for n in 0..MAX_ITEMS as u8 {
            let (p, v) = ids(n);
            cart.add(p, v, 1, 10, Utc::now()).unwrap();
        }
        let (p, v) = ids(200);
        let err = cart.add(p, v, 1, 10, Utc::now()).unwrap_err();
        assert_eq!(err.code, "too_many");
    }

    #[test]
    fn quantities_outside_one_to_the_limit_are_refused() {
        assert_eq!(parse_quantity("quantity", 3, 10), Ok(3));
        for raw in [0, -1, 11, i64::MAX] {
            let err = parse_quantity("quantity", raw, 10).unwrap_err();
            assert_eq!(err.code, "out_of_range");
        }
    }

    #[test]
    fn a_guest_cart_merges_keeping_the_larger_quantity_and_its_coupon_when_there_is_none() {
        let mut mine = cart();
        let (p1, v1) = ids(1);
        let (p2, v2) = ids(2);
        mine.add(p1.clone(), v1.clone(), 1, 10, Utc::now()).unwrap();
        let token = CartToken::generate();
        let mut guest = Cart::empty(token.owner(), Utc::now());
        guest.add(p1, v1.clone(), 3, 10, Utc::now()).unwrap();
        guest.add(p2, v2.clone(), 2, 10, Utc::now()).unwrap();
        guest.coupon = Some("DIWALI".into());
        assert_eq!(mine.absorb(guest, 10), 0);
        assert_eq!(mine.line(&v1).unwrap().quantity, 3);
        assert_eq!(mine.line(&v2).unwrap().quantity, 2);
        assert_eq!(mine.coupon.as_deref(), Some("DIWALI"));
    }

    #[test]
    fn a_guest_cart_expires_after_its_last_change_and_a_customers_never() {
        let now = Utc::now();
        let mut guest = Cart::empty(CartToken::generate().owner(), now);
        assert!(!guest.is_expired(now + Duration::days(GUEST_CART_DAYS - 1)));
        assert!(guest.is_expired(now + Duration::days(GUEST_CART_DAYS)));
        guest.touch(now + Duration::days(20));
        assert!(!guest.is_expired(now + Duration::days(GUEST_CART_DAYS)));
        assert!(!cart().is_expired(now + Duration::days(3650)));
    }

    #[test]
    fn a_token_is_recognised_by_shape_and_stored_only_as_a_hash() {
        let token = CartToken::generate();
        assert_eq!(CartToken::parse(token.as_str()), Some(token.clone()));
        assert_eq!(CartToken::parse("ct_short"), None);
        assert_eq!(CartToken::parse(&token.as_str()[3..]), None);
        let CartOwner::Guest(hash) = token.owner() else {
            panic!("a token names a guest cart")
        };
        assert!(!hash.contains(&token.as_str()[3..]));
        assert_eq!(hash.len(), 64);
        assert_eq!(
            CartOwner::from_key(&token.owner().key()),
            Some(token.owner())
        );
        assert_ne!(CartToken::generate(), token);
    }
}
