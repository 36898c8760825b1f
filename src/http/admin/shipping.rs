//! `/admin/shipping-zones…`: staff's shipping zones (list, create, read, replace, delete),
//! each change audited with the actor as `shipping_zone_changed`. Needs `shipping:manage`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use crate::app::shipping::Shipping;
use crate::domain::ids::ZoneId;
use crate::domain::money::Paise;
use crate::domain::shipping::{RawZone, ShippingZone};
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::{context, needs, Permit};

error_set!(
    /// Errors of reading or deleting shipping zones.
    ZoneReadErrors: ANY, PERMITTED; NotFound
);
error_set!(
    /// Errors of writing a shipping zone.
    ZoneWriteErrors: ANY, PERMITTED, BODY; NotFound
);

const BASE: &str = "/api/v1/admin/shipping-zones";

/// Cash on delivery in a zone.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CodTerms {
    /// Whether customers here may pay cash on delivery.
    pub offered: bool,
    /// The largest goods value (paise) paid in cash here; absent for no ceiling of the
    /// zone's own. Ignored when `offered` is false.
    #[oai(
        validator(minimum(value = "1"), maximum(value = "100000000000")),
        skip_serializing_if_is_none
    )]
    pub max_order_paise: Option<i64>,
}

impl Example for CodTerms {
    fn example() -> Self {
        Self {
            offered: true,
            max_order_paise: Some(500_000),
        }
    }
}

/// How many days a delivery takes.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEstimateBody {
    /// Fewest days, 0 to 60.
    #[oai(validator(minimum(value = "0"), maximum(value = "60")))]
    pub min_days: i64,
    /// Most days, 0 to 60, at least `min_days`.
    #[oai(validator(minimum(value = "0"), maximum(value = "60")))]
    pub max_days: i64,
}

impl Example for DeliveryEstimateBody {
    fn example() -> Self {
        Self {
            min_days: 2,
            max_days: 4,
        }
    }
}

/// A shipping zone as staff write it (create, or replace with `PUT`).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ShippingZoneInput {
    /// 1–80 characters, not blank, no control characters.
    #[oai(validator(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub name: String,
    /// Two-digit GST state codes the zone covers (`29` Karnataka, `27` Maharashtra; 01–38
    /// or 97); at most 40. A zone names at least one state or pincode prefix.
    #[oai(
        validator(max_items = 40, pattern = "^(0[1-9]|[12][0-9]|3[0-8]|97)$"),
        skip_serializing_if_is_none
    )]
    pub states: Option<Vec<String>>,
    /// Pincode prefixes (1–6 digits, not starting with 0) the zone covers; at most 200. A
    /// prefix match beats a state match, a longer prefix a shorter one.
    #[oai(
        validator(max_items = 200, pattern = "^[1-9][0-9]{0,5}$"),
        skip_serializing_if_is_none
    )]
    pub pincode_prefixes: Option<Vec<String>>,
    /// The delivery fee in paise; 0 for free delivery.
    #[oai(validator(minimum(value = "0"), maximum(value = "100000000000")))]
    pub fee_paise: i64,
    /// Goods worth at least this (paise) ship free; absent for never.
    #[oai(
        validator(minimum(value = "1"), maximum(value = "100000000000")),
        skip_serializing_if_is_none
    )]
    pub free_shipping_at_paise: Option<i64>,
    pub cod: CodTerms,
    pub estimate: DeliveryEstimateBody,
    /// A disabled zone still wins the destinations it matches, and answers
    /// `zone_disabled`: delivery there is paused. Defaults to `true`.
    #[oai(skip_serializing_if_is_none)]
    pub enabled: Option<bool>,
}

impl Example for ShippingZoneInput {
    fn example() -> Self {
        Self {
            name: "Bengaluru".into(),
            states: None,
            pincode_prefixes: Some(vec!["560".into(), "562".into()]),
            fee_paise: 2_900,
            free_shipping_at_paise: Some(49_900),
            cod: CodTerms::example(),
            estimate: DeliveryEstimateBody {
                min_days: 1,
                max_days: 2,
            },
            enabled: Some(true),
        }
    }
}

impl From<ShippingZoneInput> for RawZone {
    fn from(i: ShippingZoneInput) -> Self {
        Self {
            name: i.name,
            states: i.states.unwrap_or_default(),
            pincode_prefixes: i.pincode_prefixes.unwrap_or_default(),
            fee_paise: i.fee_paise,
            free_shipping_at_paise: i.free_shipping_at_paise,
            cod_offered: i.cod.offered,
            cod_max_order_paise: i.cod.max_order_paise,
            min_days: i.estimate.min_days,
            max_days: i.estimate.max_days,
            enabled: i.enabled.unwrap_or(true),
        }
    }
}

/// A stored shipping zone.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ShippingZoneBody {
    pub id: String,
    pub name: String,
    pub states: Vec<String>,
    pub pincode_prefixes: Vec<String>,
    pub fee_paise: i64,
    #[oai(skip_serializing_if_is_none)]
    pub free_shipping_at_paise: Option<i64>,
    pub cod: CodTerms,
    pub estimate: DeliveryEstimateBody,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ShippingZone> for ShippingZoneBody {
    fn from(z: &ShippingZone) -> Self {
        let rules = &z.zone;
        Self {
            id: z.id.to_string(),
            name: rules.name.clone(),
            states: rules.states.iter().map(|s| s.as_str().to_owned()).collect(),
            pincode_prefixes: rules
                .pincode_prefixes
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            fee_paise: rules.fee.get(),
            free_shipping_at_paise: rules.free_shipping_at.map(Paise::get),
            cod: CodTerms {
                offered: rules.cod.is_some(),
                max_order_paise: rules.cod.and_then(|c| c.max_order).map(Paise::get),
            },
            estimate: DeliveryEstimateBody {
                min_days: i64::from(rules.estimate.min_days),
                max_days: i64::from(rules.estimate.max_days),
            },
            enabled: rules.enabled,
            created_at: z.created_at,
            updated_at: z.updated_at,
        }
    }
}

impl Example for ShippingZoneBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        let input = ShippingZoneInput::example();
        Self {
            id: "6650c0ffee0000000000200e".into(),
            name: input.name,
            states: Vec::new(),
            pincode_prefixes: input.pincode_prefixes.unwrap_or_default(),
            fee_paise: input.fee_paise,
            free_shipping_at_paise: input.free_shipping_at_paise,
            cod: input.cod,
            estimate: input.estimate,
            enabled: true,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Every shipping zone, oldest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ShippingZoneList {
    pub items: Vec<ShippingZoneBody>,
}

impl Example for ShippingZoneList {
    fn example() -> Self {
        Self {
            items: vec![ShippingZoneBody::example()],
        }
    }
}

#[derive(ApiResponse)]
pub enum ShippingZoneListResponse {
    /// Every shipping zone.
    #[oai(status = 200)]
    Ok(Json<ShippingZoneList>),
}

#[derive(ApiResponse)]
pub enum CreateShippingZoneResponse {
    /// The zone was created.
    #[oai(status = 201)]
    Created(
        Json<ShippingZoneBody>,
        /// URL of the new zone.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum ShippingZoneResponse {
    /// The zone.
    #[oai(status = 200)]
    Ok(Json<ShippingZoneBody>),
}

#[derive(ApiResponse)]
pub enum DeleteShippingZoneResponse {
    /// The zone was deleted.
    #[oai(status = 204)]
    Deleted,
}

pub struct ShippingAdminApi {
    pub shipping: Arc<Shipping>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admin")]
impl ShippingAdminApi {
    /// List shipping zones
    ///
    /// Every stored zone, oldest first. While none is stored, quotes come from the default
    /// zone of the settings (`BAZAAR_SHIPPING_DEFAULT_*`), which is not listed.
    #[oai(
        path = "/admin/shipping-zones",
        method = "get",
        operation_id = "listShippingZones"
    )]
    async fn list_zones(
        &self,
        _auth: Permit<needs::ShippingManage>,
    ) -> Result<ShippingZoneListResponse, Problems<ZoneReadErrors>> {
        let zones = self.shipping.list().await?;
        Ok(ShippingZoneListResponse::Ok(Json(ShippingZoneList {
            items: zones.iter().map(Into::into).collect(),
        })))
    }

    /// Create a shipping zone
    ///
    /// A zone covers states (GST codes) and/or pincode prefixes; of the zones matching a
    /// destination the most specific wins (a pincode prefix beats a state, a longer prefix a
    /// shorter one; the oldest among equals). Audited as `shipping_zone_changed`.
    #[oai(
        path = "/admin/shipping-zones",
        method = "post",
        operation_id = "createShippingZone"
    )]
    async fn create_zone(
        &self,
        auth: Permit<needs::ShippingManage>,
        body: JsonBody<ShippingZoneInput>,
        req: &Request,
    ) -> Result<CreateShippingZoneResponse, Problems<ZoneWriteErrors>> {
        let zone = self
            .shipping
            .create(&auth.0, &body.0.into(), &context(req))
            .await?;
        let location = format!("{BASE}/{}", zone.id);
        Ok(CreateShippingZoneResponse::Created(
            Json((&zone).into()),
            location,
        ))
    }

    /// Get a shipping zone
    #[oai(
        path = "/admin/shipping-zones/:id",
        method = "get",
        operation_id = "getShippingZone"
    )]
    async fn get_zone(
        &self,
        _auth: Permit<needs::ShippingManage>,
        /// Zone id (24 hexadecimal characters).
        id: Path<IdParam<ZoneId>>,
    ) -> Result<ShippingZoneResponse, Problems<ZoneReadErrors>> {
        let zone = self.shipping.get(id.0.checked("id")?).await?;
        Ok(ShippingZoneResponse::Ok(Json((&zone).into())))
    }

    /// Replace a shipping zone
    ///
    /// The zone's settings are replaced whole. Audited as `shipping_zone_changed`.
    #[oai(
        path = "/admin/shipping-zones/:id",
        method = "put",
        operation_id = "replaceShippingZone"
    )]
    async fn replace_zone(
        &self,
        auth: Permit<needs::ShippingManage>,
        /// Zone id (24 hexadecimal characters).
        id: Path<IdParam<ZoneId>>,
        body: JsonBody<ShippingZoneInput>,
        req: &Request,
    ) -> Result<ShippingZoneResponse, Problems<ZoneWriteErrors>> {
        let zone = self
            .shipping
            .replace(&auth.0, id.0.checked("id")?, &body.0.into(), &context(req))
            .await?;
        Ok(ShippingZoneResponse::Ok(Json((&zone).into())))
    }

    /// Delete a shipping zone
    ///
    /// Orders keep the shipping terms they were quoted. Audited as `shipping_zone_changed`.
    #[oai(
        path = "/admin/shipping-zones/:id",
        method = "delete",
        operation_id = "deleteShippingZone"
    )]
    async fn delete_zone(
        &self,
        auth: Permit<needs::ShippingManage>,
        /// Zone id (24 hexadecimal characters).
        id: Path<IdParam<ZoneId>>,
        req: &Request,
    ) -> Result<DeleteShippingZoneResponse, Problems<ZoneReadErrors>> {
        self.shipping
            .delete(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(DeleteShippingZoneResponse::Deleted)
    }
}
