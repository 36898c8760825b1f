//! Shipping zones in MongoDB (collection `shipping_zones`).

use async_trait::async_trait;
use bson::doc;
use bson::oid::ObjectId;
use futures::TryStreamExt;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, exactly_one};
use crate::domain::ids::ZoneId;
use crate::domain::money::Paise;
use crate::domain::shipping::{
    CodRule, DeliveryEstimate, GstState, PincodePrefix, ShippingZone, ZoneDraft,
};
use crate::store::{ShippingZoneRepository, StoreError};

pub struct MongoShippingZones {
    collection: Collection<ZoneDoc>,
}

impl MongoShippingZones {
    /// Opens the `shipping_zones` collection. Zones are few and read whole: no index
    /// beyond `_id`.
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            collection: db.collection::<ZoneDoc>("shipping_zones"),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ZoneDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    states: Vec<String>,
    pincode_prefixes: Vec<String>,
    fee_paise: i64,
    free_shipping_at_paise: Option<i64>,
    cod_offered: bool,
    cod_max_order_paise: Option<i64>,
    min_days: i32,
    max_days: i32,
    enabled: bool,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
}

fn object_id(id: &ZoneId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

impl ZoneDoc {
    fn from_zone(z: &ShippingZone) -> Result<Self, StoreError> {
        let rules = &z.zone;
        Ok(Self {
            id: object_id(&z.id)?,
            name: rules.name.clone(),
            states: rules.states.iter().map(|s| s.as_str().to_owned()).collect(),
            pincode_prefixes: rules
                .pincode_prefixes
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            fee_paise: rules.fee.get(),
            free_shipping_at_paise: rules.free_shipping_at.map(Paise::get),
            cod_offered: rules.cod.is_some(),
            cod_max_order_paise: rules.cod.and_then(|c| c.max_order).map(Paise::get),
            min_days: i32::from(rules.estimate.min_days),
            max_days: i32::from(rules.estimate.max_days),
            enabled: rules.enabled,
            created_at: bson::DateTime::from_chrono(z.created_at),
            updated_at: bson::DateTime::from_chrono(z.updated_at),
        })
    }

    fn into_zone(self) -> Result<ShippingZone, StoreError> {
        let days = |d: i32| {
            u16::try_from(d)
                .map_err(|_| StoreError::Other(anyhow::anyhow!("stored zone has invalid days")))
        };
        Ok(ShippingZone {
            id: ZoneId::trusted(self.id.to_hex()),
            zone: ZoneDraft {
                name: self.name,
                states: self.states.into_iter().map(GstState::trusted).collect(),
                pincode_prefixes: self
                    .pincode_prefixes
                    .into_iter()
                    .map(PincodePrefix::trusted)
                    .collect(),
                fee: Paise::trusted(self.fee_paise),
                free_shipping_at: self.free_shipping_at_paise.map(Paise::trusted),
                cod: self.cod_offered.then_some(CodRule {
                    max_order: self.cod_max_order_paise.map(Paise::trusted),
                }),
                estimate: DeliveryEstimate {
                    min_days: days(self.min_days)?,
                    max_days: days(self.max_days)?,
                },
                enabled: self.enabled,
            },
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
        })
    }
}

#[async_trait]
impl ShippingZoneRepository for MongoShippingZones {
    #[tracing::instrument(skip_all, fields(zone_id = %zone.id))]
    async fn insert(&self, zone: &ShippingZone) -> Result<(), StoreError> {
        match self
            .collection
            .insert_one(ZoneDoc::from_zone(zone)?)
            .await
            .map_err(classify)
        {
            Err(StoreError::Duplicate { .. }) => Err(StoreError::Duplicate { field: "id" }),
            other => other.map(|_| ()),
        }
    }

    #[tracing::instrument(skip_all, fields(zone_id = %id))]
    async fn get(&self, id: &ZoneId) -> Result<Option<ShippingZone>, StoreError> {
        self.collection
            .find_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?
            .map(ZoneDoc::into_zone)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(zone_id = %zone.id))]
    async fn update(&self, zone: &ShippingZone) -> Result<(), StoreError> {
        let doc = ZoneDoc::from_zone(zone)?;
        let result = self
            .collection
            .replace_one(doc! { "_id": doc.id }, &doc)
            .await
            .map_err(classify)?;
        exactly_one(result.matched_count)
    }

    #[tracing::instrument(skip_all, fields(zone_id = %id))]
    async fn delete(&self, id: &ZoneId) -> Result<(), StoreError> {
        let result = self
            .collection
            .delete_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        exactly_one(result.deleted_count)
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self) -> Result<Vec<ShippingZone>, StoreError> {
        let docs: Vec<ZoneDoc> = self
            .collection
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(ZoneDoc::into_zone).collect()
    }
}
