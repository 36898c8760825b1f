//! Carts in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::cart::{Cart, CartOwner};
use crate::store::{CartRepository, StoreError};

#[derive(Default)]
pub struct MemoryCarts {
    by_owner: Mutex<HashMap<CartOwner, Cart>>,
}

impl MemoryCarts {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CartRepository for MemoryCarts {
    async fn get(&self, owner: &CartOwner, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError> {
        let mut map = self.by_owner.lock();
        // Forgetting an expired cart here is what bounds a long `make run`.
        if map.get(owner).is_some_and(|c| c.is_expired(now)) {
            map.remove(owner);
        }
        Ok(map.get(owner).cloned())
    }

    async fn put(&self, cart: &Cart, expected_version: u64) -> Result<(), StoreError> {
        let mut map = self.by_owner.lock();
        let stored = map
            .get(&cart.owner)
            .filter(|c| !c.is_expired(cart.updated_at))
            .map_or(0, |c| c.version);
        if stored != expected_version {
            return Err(StoreError::VersionConflict);
        }
        map.insert(cart.owner.clone(), cart.clone());
        Ok(())
    }

    async fn delete(&self, owner: &CartOwner) -> Result<(), StoreError> {
        self.by_owner.lock().remove(owner);
        Ok(())
    }
}
