//! `/cart`: the caller's cart, a customer's (bearer token) or a guest's
//! (`X-Cart-Token`), priced as checkout will charge it; `/guest-carts` issues a
//! guest's token and `/cart/merge` takes a guest cart into the customer's at
//! sign-in.

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme};

use crate::app::carts::{Carts, Destination};
use crate::app::errors::{AppError, ErrorCode};
use crate::domain::cart::{CartOwner, CartToken, GUEST_CART_DAYS};
use crate::domain::ids::VariantId;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::error_sets::Problems;
use crate::http::id_param::IdParam;
use crate::http::json_body::JsonBody;
use crate::http::security::BearerAuth;

mod body;
pub mod checkout;

/// A guest's cart token from `POST /api/v1/guest-carts`, sent as `X-Cart-Token`.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Cart-Token",
    key_in = "header",
    checker = "guest_token"
)]
pub struct CartTokenAuth(pub CartToken);

async fn guest_token(_: &Request, key: ApiKey) -> poem::Result<CartToken> {
    CartToken::parse(&key.key).ok_or_else(|| {
        AppError::new(
            ErrorCode::Unauthorized,
            "the cart token is not one this service issued; get one from POST /api/v1/guest-carts",
        )
        .into()
    })
}

/// Whose cart: a signed-in customer's (tried first) or a guest's.
#[derive(SecurityScheme)]
pub enum CartAuth {
    Customer(BearerAuth),
    Guest(CartTokenAuth),
}

impl CartAuth {
    fn owner(&self) -> CartOwner {
        match self {
            Self::Customer(auth) => CartOwner::Customer(auth.0.user_id.clone()),
            Self::Guest(token) => token.0.owner(),
        }
    }
}

pub use body::*;

#[derive(ApiResponse)]
pub enum CartResponse {
    /// The cart, priced now.
    #[oai(status = 200)]
    Ok(Json<CartBody>),
}

#[derive(ApiResponse)]
pub enum ClearedResponse {
    /// The cart is empty.
    #[oai(status = 204)]
    Cleared,
}

#[derive(ApiResponse)]
pub enum GuestCartResponse {
    /// A new guest cart's token; the cart is empty until something is put in it.
    #[oai(status = 201)]
    Created(Json<GuestCartBody>),
}

#[derive(ApiResponse)]
pub enum MergedResponse {
    /// The customer's cart with the guest's lines taken in; the guest cart is gone.
    #[oai(status = 200)]
    Ok(Json<MergedBody>),
}

error_set!(
    /// Errors of reading a cart.
    CartReadErrors: ANY, SIGNED_IN;
);
error_set!(
    /// Errors of reading a cart priced for a place.
    CartViewErrors: ANY, SIGNED_IN; NotFound
);
error_set!(
    /// Errors of a change to a cart without a body.
    CartChangeErrors: ANY, SIGNED_IN; Conflict
);
error_set!(
    /// Errors of changing a cart.
    CartWriteErrors: ANY, SIGNED_IN, BODY; Conflict
);
error_set!(
    /// Errors of removing a cart line.
    CartLineErrors: ANY, SIGNED_IN; NotFound, Conflict
);
error_set!(
    /// Errors of issuing a guest cart token.
    GuestCartErrors: ANY;
);

pub struct CartApi {
    pub carts: Arc<Carts>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Cart")]
impl CartApi {
    /// Start a guest cart
    ///
    /// Issues a cart token for a shopper who has not signed in. Nothing is
    /// stored until the first item is put in the cart.
    #[oai(
        path = "/guest-carts",
        method = "post",
        operation_id = "createGuestCart"
    )]
    async fn create_guest(&self) -> Result<GuestCartResponse, Problems<GuestCartErrors>> {
        let token = self.carts.new_guest_token();
        Ok(GuestCartResponse::Created(Json(GuestCartBody {
            cart_token: token.as_str().to_owned(),
            kept_days: GUEST_CART_DAYS as u32,
        })))
    }

    /// Get my cart
    ///
    /// The cart with each line's price and stock now, and the totals the
    /// order would have. Nothing is reserved until checkout.
    ///
    /// Name where it would go to see shipping and whether the place is delivered to:
    /// `address_id` (a signed-in customer's saved address) or `pincode` (before any
    /// address is saved); with both, `address_id` is used.
    #[oai(path = "/cart", method = "get", operation_id = "getCart")]
    async fn get(
        &self,
        auth: CartAuth,
        /// One of the caller's saved addresses.
        #[oai(validator(pattern = "^[0-9a-fA-F]{24}$"))]
        address_id: Query<Option<String>>,
        /// A six-digit pincode, not starting with 0.
        #[oai(validator(pattern = "^[1-9][0-9]{5}$"))]
        pincode: Query<Option<String>>,
    ) -> Result<CartResponse, Problems<CartViewErrors>> {
        let to = match (address_id.0.as_deref(), pincode.0.as_deref()) {
            (Some(id), _) => Destination::SavedAddress(id),
            (None, Some(pin)) => Destination::Pincode(pin),
            (None, None) => Destination::Unknown,
        };
        let priced = self.carts.view(&auth.owner(), to).await?;
        Ok(CartResponse::Ok(Json(priced.into())))
    }

    /// Put a coupon on my cart
    ///
    /// Refused with 422 on `coupon_code` (saying why: `unknown`, `expired`,
    /// `minimum_not_met`, …) if it does not apply now. Whether it still applies
    /// is judged each time the cart is priced, and once more at checkout.
    #[oai(path = "/cart/coupon", method = "put", operation_id = "putCartCoupon")]
    async fn put_coupon(
        &self,
        auth: CartAuth,
        body: JsonBody<CouponPutBody>,
    ) -> Result<CartResponse, Problems<CartWriteErrors>> {
        let priced = self.carts.set_coupon(&auth.owner(), &body.0.code).await?;
        Ok(CartResponse::Ok(Json(priced.into())))
    }

    /// Take the coupon off my cart
    #[oai(
        path = "/cart/coupon",
        method = "delete",
        operation_id = "removeCartCoupon"
    )]
    async fn remove_coupon(
        &self,
        auth: CartAuth,
    ) -> Result<CartResponse, Problems<CartChangeErrors>> {
        let priced = self.carts.drop_coupon(&auth.owner()).await?;
        Ok(CartResponse::Ok(Json(priced.into())))
    }

    /// Empty my cart
    #[oai(path = "/cart", method = "delete", operation_id = "clearCart")]
    async fn clear(&self, auth: CartAuth) -> Result<ClearedResponse, Problems<CartReadErrors>> {
        self.carts.clear(&auth.owner()).await?;
        Ok(ClearedResponse::Cleared)
    }

    /// Put an item in my cart
    ///
    /// Holds `quantity` units of the variant: adds the line, or replaces its
    /// quantity. Sending the same request again changes nothing, so a retry is
    /// safe. A product without variants is put by its own id as `variant_id`.
    #[oai(
        path = "/cart/items/:variant_id",
        method = "put",
        operation_id = "putCartItem"
    )]
    async fn put_item(
        &self,
        auth: CartAuth,
        variant_id: Path<IdParam<VariantId>>,
        body: JsonBody<CartItemBody>,
    ) -> Result<CartResponse, Problems<CartWriteErrors>> {
        let variant = variant_id.0.checked("variant_id")?;
        let b = body.0;
        let priced = self
            .carts
            .put_item(&auth.owner(), variant, &b.product_id, b.quantity)
            .await?;
        Ok(CartResponse::Ok(Json(priced.into())))
    }

    /// Remove an item from my cart
    #[oai(
        path = "/cart/items/:variant_id",
        method = "delete",
        operation_id = "removeCartItem"
    )]
    async fn remove_item(
        &self,
        auth: CartAuth,
        variant_id: Path<IdParam<VariantId>>,
    ) -> Result<CartResponse, Problems<CartLineErrors>> {
        let variant = variant_id.0.checked("variant_id")?;
        let priced = self.carts.remove_item(&auth.owner(), variant).await?;
        Ok(CartResponse::Ok(Json(priced.into())))
    }

    /// Merge a guest cart into mine
    ///
    /// Call right after signing in with the guest's `cart_token`: a variant in
    /// both carts keeps the larger quantity, the rest are added while there is
    /// room, and the guest cart is forgotten. An unknown or expired token
    /// merges nothing.
    #[oai(path = "/cart/merge", method = "post", operation_id = "mergeCart")]
    async fn merge(
        &self,
        auth: BearerAuth,
        body: JsonBody<MergeBody>,
    ) -> Result<MergedResponse, Problems<CartWriteErrors>> {
        let (priced, dropped) = self
            .carts
            .merge(&auth.0.user_id, &body.0.cart_token)
            .await?;
        Ok(MergedResponse::Ok(Json(MergedBody {
            cart: priced.into(),
            dropped_lines: dropped as u32,
        })))
    }
}
