//! The shipping zone repository contract, held against memory and MongoDB alike.

use std::sync::Arc;

use bazaar::domain::ids::ZoneId;
use bazaar::domain::shipping::{RawZone, ShippingZone, ZoneDraft};
use bazaar::store::memory::MemoryShippingZones;
use bazaar::store::{ShippingZoneRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::mongo_shipping_zones;

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn draft(name: &str, prefixes: &[&str], cod_max: Option<i64>) -> ZoneDraft {
    ZoneDraft::parse(&RawZone {
        name: name.into(),
        states: vec!["29".into(), "27".into()],
        pincode_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        fee_paise: 0,
        free_shipping_at_paise: Some(49_900),
        cod_offered: cod_max.is_some(),
        cod_max_order_paise: cod_max.filter(|m| *m > 0),
        min_days: 1,
        max_days: 3,
        enabled: true,
    })
    .expect("a valid zone")
}

pub async fn zones_read_back_unchanged(repo: &dyn ShippingZoneRepository) {
    let zone = ShippingZone::create(draft("west", &["400", "41"], Some(500_000)), base_time());
    repo.insert(&zone).await.unwrap();
    assert_eq!(repo.get(&zone.id).await.unwrap(), Some(zone.clone()));
    let no_cod = ShippingZone::create(draft("no cod", &[], None), base_time());
    repo.insert(&no_cod).await.unwrap();
    assert_eq!(repo.get(&no_cod.id).await.unwrap(), Some(no_cod));
    assert_eq!(repo.get(&ZoneId::generate()).await.unwrap(), None);
    assert!(matches!(
        repo.insert(&zone).await,
        Err(StoreError::Duplicate { field: "id" })
    ));
}

pub async fn update_replaces_and_delete_removes_once(repo: &dyn ShippingZoneRepository) {
    let zone = ShippingZone::create(draft("south", &["56"], Some(0)), base_time());
    repo.insert(&zone).await.unwrap();
    let changed = zone.replaced(
        draft("south, renamed", &["560"], None),
        base_time() + Duration::hours(1),
    );
    repo.update(&changed).await.unwrap();
    assert_eq!(repo.get(&zone.id).await.unwrap(), Some(changed));
    repo.delete(&zone.id).await.unwrap();
    assert!(matches!(
        repo.delete(&zone.id).await,
        Err(StoreError::NotFound)
    ));
    let unknown = ShippingZone::create(draft("never stored", &[], None), base_time());
    assert!(matches!(
        repo.update(&unknown).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn list_gives_every_zone_oldest_first(repo: &dyn ShippingZoneRepository) {
    assert!(repo.list().await.unwrap().is_empty());
    let zones: Vec<ShippingZone> = (0..3)
        .map(|i| ShippingZone::create(draft(&format!("zone {i}"), &[], None), base_time()))
        .collect();
    for zone in zones.iter().rev() {
        repo.insert(zone).await.unwrap();
    }
    assert_eq!(repo.list().await.unwrap(), zones);
}

macro_rules! zone_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::shipping,
            [
                zones_read_back_unchanged,
                update_replaces_and_delete_removes_once,
                list_gives_every_zone_oldest_first,
            ]
        );
    };
}

fn memory() -> Arc<dyn ShippingZoneRepository> {
    Arc::new(MemoryShippingZones::new())
}

async fn mongodb() -> Arc<dyn ShippingZoneRepository> {
    Arc::new(mongo_shipping_zones().await)
}

zone_suite!(memory_backend, memory());
zone_suite!(mongodb_backend, mongodb().await);
