//! Shipping zones in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::domain::ids::ZoneId;
use crate::domain::shipping::ShippingZone;
use crate::store::{ShippingZoneRepository, StoreError};

/// Zones by id; ids sort by creation, so the map's order is oldest first.
#[derive(Default)]
pub struct MemoryShippingZones {
    by_id: RwLock<BTreeMap<ZoneId, ShippingZone>>,
}

impl MemoryShippingZones {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ShippingZoneRepository for MemoryShippingZones {
    async fn insert(&self, zone: &ShippingZone) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        if map.contains_key(&zone.id) {
            return Err(StoreError::Duplicate { field: "id" });
        }
        map.insert(zone.id.clone(), zone.clone());
        Ok(())
    }

    async fn get(&self, id: &ZoneId) -> Result<Option<ShippingZone>, StoreError> {
        Ok(self.by_id.read().get(id).cloned())
    }

    async fn update(&self, zone: &ShippingZone) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        let stored = map.get_mut(&zone.id).ok_or(StoreError::NotFound)?;
        *stored = zone.clone();
        Ok(())
    }

    async fn delete(&self, id: &ZoneId) -> Result<(), StoreError> {
        self.by_id
            .write()
            .remove(id)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn list(&self) -> Result<Vec<ShippingZone>, StoreError> {
        Ok(self.by_id.read().values().cloned().collect())
    }
}
