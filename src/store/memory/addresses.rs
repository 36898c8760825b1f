//! Saved addresses in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::domain::address::SavedAddresses;
use crate::domain::user::UserId;
use crate::store::{AddressRepository, StoreError};

#[derive(Default)]
pub struct MemoryAddresses {
    by_user: Mutex<HashMap<UserId, SavedAddresses>>,
}

impl MemoryAddresses {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AddressRepository for MemoryAddresses {
    async fn get(&self, user: &UserId) -> Result<SavedAddresses, StoreError> {
        Ok(self
            .by_user
            .lock()
            .get(user)
            .cloned()
            .unwrap_or_else(|| SavedAddresses::empty(user.clone())))
    }

    async fn save(
        &self,
        addresses: &SavedAddresses,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut map = self.by_user.lock();
        let stored = map.get(&addresses.user).map_or(0, |a| a.version);
        if stored != expected_version {
            return Err(StoreError::VersionConflict);
        }
        map.insert(addresses.user.clone(), addresses.clone());
        Ok(())
    }

    async fn delete_all(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self
            .by_user
            .lock()
            .remove(user)
            .map_or(0, |a| a.addresses.len() as u64))
    }
}
