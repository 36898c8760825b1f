//! `/admin/coupons…`: staff's coupons (list with their uses, create, read, replace or
//! disable, delete), each change audited with the actor as `coupon_changed`. Needs
//! `coupons:manage`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use crate::app::coupons::Coupons;
use crate::domain::coupon::{Coupon, CouponCode, Discount, RawCoupon, RawDiscount};
use crate::domain::money::Paise;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::{context, needs, Permit};

error_set!(
    /// Errors of reading or deleting coupons.
    CouponReadErrors: ANY, PERMITTED; NotFound
);
error_set!(
    /// Errors of creating a coupon.
    CreateCouponErrors: ANY, PERMITTED, BODY; Conflict
);
error_set!(
    /// Errors of replacing a coupon.
    ReplaceCouponErrors: ANY, PERMITTED, BODY; NotFound
);

const BASE: &str = "/api/v1/admin/coupons";

/// What a coupon takes off: `percent` (`percent_bp`, and `max_paise` to cap it) or `flat`
/// (`amount_paise`). A percentage is rounded down to the paisa; either never exceeds the
/// eligible lines' value.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct DiscountBody {
    /// `percent` or `flat`.
    #[oai(validator(pattern = "^(percent|flat)$"))]
    pub kind: String,
    /// Percent only: basis points of the eligible value, 1 to 10000 (1000 is 10%).
    #[oai(
        validator(minimum(value = "1"), maximum(value = "10000")),
        skip_serializing_if_is_none
    )]
    pub percent_bp: Option<i64>,
    /// Percent only: the most it takes off, in paise.
    #[oai(
        validator(minimum(value = "1"), maximum(value = "100000000000")),
        skip_serializing_if_is_none
    )]
    pub max_paise: Option<i64>,
    /// Flat only: the amount it takes off, in paise.
    #[oai(
        validator(minimum(value = "1"), maximum(value = "100000000000")),
        skip_serializing_if_is_none
    )]
    pub amount_paise: Option<i64>,
}

impl Example for DiscountBody {
    fn example() -> Self {
        Self {
            kind: "percent".into(),
            percent_bp: Some(1_000),
            max_paise: Some(20_000),
            amount_paise: None,
        }
    }
}

impl From<Discount> for DiscountBody {
    fn from(d: Discount) -> Self {
        match d {
            Discount::Percent { basis_points, cap } => Self {
                kind: "percent".into(),
                percent_bp: Some(i64::from(basis_points)),
                max_paise: cap.map(Paise::get),
                amount_paise: None,
            },
            Discount::Flat(amount) => Self {
                kind: "flat".into(),
                percent_bp: None,
                max_paise: None,
                amount_paise: Some(amount.get()),
            },
        }
    }
}

/// Declares a coupon's input body: its rules, and any fields before them (the code).
macro_rules! coupon_input {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Object, Deserialize)]
        #[oai(example, deny_unknown_fields)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
            pub discount: DiscountBody,
            /// The order's goods must be worth at least this (paise).
            #[oai(
                validator(minimum(value = "1"), maximum(value = "100000000000")),
                skip_serializing_if_is_none
            )]
            pub min_order_paise: Option<i64>,
            /// Valid from this instant (inclusive); absent for at once.
            #[oai(skip_serializing_if_is_none)]
            pub starts_at: Option<DateTime<Utc>>,
            /// Valid until this instant (exclusive), later than `starts_at`; absent for ever.
            #[oai(skip_serializing_if_is_none)]
            pub ends_at: Option<DateTime<Utc>>,
            /// Redemptions allowed in all, 1 to 1000000; absent for no limit.
            #[oai(
                validator(minimum(value = "1"), maximum(value = "1000000")),
                skip_serializing_if_is_none
            )]
            pub total_limit: Option<i64>,
            /// Redemptions allowed to one customer, 1 to 1000000; absent for no limit.
            #[oai(
                validator(minimum(value = "1"), maximum(value = "1000000")),
                skip_serializing_if_is_none
            )]
            pub per_customer_limit: Option<i64>,
            /// Only a customer's first order may use it. Defaults to `false`.
            #[oai(skip_serializing_if_is_none)]
            pub first_order_only: Option<bool>,
            /// Product categories (of `BAZAAR_PRODUCT_CATEGORIES`) whose lines it takes money
            /// off; absent or empty for every line. At most 50.
            #[oai(validator(max_items = 50), skip_serializing_if_is_none)]
            pub categories: Option<Vec<String>>,
            /// `false` to disable it: it is then refused (`disabled`). Defaults to `true`.
            #[oai(skip_serializing_if_is_none)]
            pub enabled: Option<bool>,
        }

        impl From<$name> for RawCoupon {
            fn from(i: $name) -> Self {
                Self {
                    discount: RawDiscount {
                        kind: i.discount.kind,
                        percent_bp: i.discount.percent_bp,
                        max_paise: i.discount.max_paise,
                        amount_paise: i.discount.amount_paise,
                    },
                    min_order_paise: i.min_order_paise,
                    starts_at: i.starts_at,
                    ends_at: i.ends_at,
                    total_limit: i.total_limit,
                    per_customer_limit: i.per_customer_limit,
                    first_order_only: i.first_order_only.unwrap_or(false),
                    categories: i.categories.unwrap_or_default(),
                    enabled: i.enabled.unwrap_or(true),
                }
            }
        }
    };
}

coupon_input!(
    /// A new coupon.
    CouponInput {
        /// 3–32 letters, digits or `-`; case-insensitive (kept in upper case), unique.
        #[oai(validator(pattern = "^[A-Za-z0-9-]{3,32}$"))]
        code: String,
    }
);

coupon_input!(
    /// A coupon's rules, replaced whole (its code and uses stay).
    CouponRulesInput {}
);

fn example_at(days: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_767_225_600 + days * 86_400, 0)
}

impl Example for CouponInput {
    fn example() -> Self {
        Self {
            code: "DIWALI-10".into(),
            discount: DiscountBody::example(),
            min_order_paise: Some(99_900),
            starts_at: example_at(0),
            ends_at: example_at(30),
            total_limit: Some(1_000),
            per_customer_limit: Some(1),
            first_order_only: Some(false),
            categories: Some(vec!["fashion".into()]),
            enabled: Some(true),
        }
    }
}

impl Example for CouponRulesInput {
    fn example() -> Self {
        let i = CouponInput::example();
        Self {
            discount: i.discount,
            min_order_paise: i.min_order_paise,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            total_limit: i.total_limit,
            per_customer_limit: i.per_customer_limit,
            first_order_only: i.first_order_only,
            categories: i.categories,
            enabled: Some(false),
        }
    }
}

/// A stored coupon with its uses.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CouponBody {
    /// In upper case.
    pub code: String,
    pub discount: DiscountBody,
    #[oai(skip_serializing_if_is_none)]
    pub min_order_paise: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub starts_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub ends_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub total_limit: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub per_customer_limit: Option<i64>,
    pub first_order_only: bool,
    pub categories: Vec<String>,
    pub enabled: bool,
    /// Redemptions held now (orders cancelled or expired give theirs back).
    pub uses: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Coupon> for CouponBody {
    fn from(c: &Coupon) -> Self {
        let r = &c.rules;
        Self {
            code: c.code.to_string(),
            discount: r.discount.into(),
            min_order_paise: r.min_order.map(Paise::get),
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            total_limit: r.total_limit.map(i64::from),
            per_customer_limit: r.per_customer_limit.map(i64::from),
            first_order_only: r.first_order_only,
            categories: r.categories.clone(),
            enabled: r.enabled,
            uses: i64::from(c.uses),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl Example for CouponBody {
    fn example() -> Self {
        let i = CouponInput::example();
        let at = example_at(-1).unwrap_or_default();
        Self {
            code: i.code,
            discount: i.discount,
            min_order_paise: i.min_order_paise,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            total_limit: i.total_limit,
            per_customer_limit: i.per_customer_limit,
            first_order_only: false,
            categories: i.categories.unwrap_or_default(),
            enabled: true,
            uses: 42,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Every coupon, by code.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CouponList {
    pub items: Vec<CouponBody>,
}

impl Example for CouponList {
    fn example() -> Self {
        Self {
            items: vec![CouponBody::example()],
        }
    }
}

#[derive(ApiResponse)]
pub enum CouponListResponse {
    /// Every coupon.
    #[oai(status = 200)]
    Ok(Json<CouponList>),
}

#[derive(ApiResponse)]
pub enum CreateCouponResponse {
    /// The coupon was created.
    #[oai(status = 201)]
    Created(
        Json<CouponBody>,
        /// URL of the new coupon.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum CouponResponse {
    /// The coupon.
    #[oai(status = 200)]
    Ok(Json<CouponBody>),
}

#[derive(ApiResponse)]
pub enum DeleteCouponResponse {
    /// The coupon was deleted.
    #[oai(status = 204)]
    Deleted,
}

pub struct CouponsAdminApi {
    pub coupons: Arc<Coupons>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl CouponsAdminApi {
    /// List coupons
    ///
    /// Every coupon by code, each with its `uses` so far.
    #[oai(path = "/admin/coupons", method = "get", operation_id = "listCoupons")]
    async fn list_coupons(
        &self,
        _auth: Permit<needs::CouponsManage>,
    ) -> Result<CouponListResponse, Problems<CouponReadErrors>> {
        let coupons = self.coupons.list().await?;
        Ok(CouponListResponse::Ok(Json(CouponList {
            items: coupons.iter().map(Into::into).collect(),
        })))
    }

    /// Create a coupon
    ///
    /// A code already taken (in any case) answers 409. Every invalid field is reported at
    /// once. Audited as `coupon_changed`.
    #[oai(
        path = "/admin/coupons",
        method = "post",
        operation_id = "createCoupon"
    )]
    async fn create_coupon(
        &self,
        auth: Permit<needs::CouponsManage>,
        body: JsonBody<CouponInput>,
        req: &Request,
    ) -> Result<CreateCouponResponse, Problems<CreateCouponErrors>> {
        let code = body.0.code.clone();
        let coupon = self
            .coupons
            .create(&auth.0, &code, &body.0.into(), &context(req))
            .await?;
        let location = format!("{BASE}/{}", coupon.code);
        Ok(CreateCouponResponse::Created(
            Json((&coupon).into()),
            location,
        ))
    }

    /// Get a coupon
    ///
    /// The code is matched case-insensitively.
    #[oai(
        path = "/admin/coupons/:code",
        method = "get",
        operation_id = "getCoupon"
    )]
    async fn get_coupon(
        &self,
        _auth: Permit<needs::CouponsManage>,
        /// The coupon's code (3–32 letters, digits or `-`).
        code: Path<IdParam<CouponCode>>,
    ) -> Result<CouponResponse, Problems<CouponReadErrors>> {
        let coupon = self.coupons.get(code.0.checked("code")?).await?;
        Ok(CouponResponse::Ok(Json((&coupon).into())))
    }

    /// Replace a coupon's rules
    ///
    /// The rules are replaced whole; the code and the uses so far stay. Send
    /// `enabled: false` to disable it. Audited as `coupon_changed`.
    #[oai(
        path = "/admin/coupons/:code",
        method = "put",
        operation_id = "replaceCoupon"
    )]
    async fn replace_coupon(
        &self,
        auth: Permit<needs::CouponsManage>,
        /// The coupon's code (3–32 letters, digits or `-`).
        code: Path<IdParam<CouponCode>>,
        body: JsonBody<CouponRulesInput>,
        req: &Request,
    ) -> Result<CouponResponse, Problems<ReplaceCouponErrors>> {
        let coupon = self
            .coupons
            .replace(
                &auth.0,
                code.0.checked("code")?,
                &body.0.into(),
                &context(req),
            )
            .await?;
        Ok(CouponResponse::Ok(Json((&coupon).into())))
    }

    /// Delete a coupon
    ///
    /// Its redemptions go with it; orders keep the discount they were given. Audited as
    /// `coupon_changed`.
    #[oai(
        path = "/admin/coupons/:code",
        method = "delete",
        operation_id = "deleteCoupon"
    )]
    async fn delete_coupon(
        &self,
        auth: Permit<needs::CouponsManage>,
        /// The coupon's code (3–32 letters, digits or `-`).
        code: Path<IdParam<CouponCode>>,
        req: &Request,
    ) -> Result<DeleteCouponResponse, Problems<CouponReadErrors>> {
        self.coupons
            .delete(&auth.0, code.0.checked("code")?, &context(req))
            .await?;
        Ok(DeleteCouponResponse::Deleted)
    }
}
