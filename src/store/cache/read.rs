//! The read through both levels: L1 in this process, then L2 in the key-value store
//! under the current generation token, then the database, one loader at a time.

use std::sync::Arc;

use moka::future::Cache;
use serde::{de::DeserializeOwned, Serialize};

use super::{shared_error, CachedProducts, Lookups, LOCK_POLLS, LOCK_TTL, LOCK_WAIT};
use crate::store::StoreError;

impl CachedProducts {
    /// The current token at `key` ("0" before the first write).
    async fn token(&self, key: &str) -> Option<String> {
        match self.kv.get(key).await {
            Ok(v) => Some(v.map_or_else(|| "0".to_owned(), |b| String::from_utf8_lossy(&b).into())),
            Err(e) => {
                tracing::warn!(error = %e, "cache: key-value store unavailable, reading through");
                None
            }
        }
    }

    /// A read through both levels: L1 under `key`; on a miss (one load per key in
    /// this process) L2 under the token now at `token_key`, then `load`. Keys
    /// are only written out on a miss.
    pub(super) async fn read<T, W, F>(
        &self,
        lookups: &Lookups,
        l1: &Cache<String, Arc<T>>,
        key: &str,
        token_key: impl FnOnce() -> String,
        l2_key: impl FnOnce(&str) -> String,
        load: impl FnOnce() -> F,
    ) -> Result<T, StoreError>
    where
        T: Clone + Send + Sync + 'static,
        W: Serialize + DeserializeOwned + From<T> + Into<Option<T>>,
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        if self.l1_on() {
            if let Some(hit) = l1.get(key).await {
                lookups.l1_hit.inc();
                return Ok((*hit).clone());
            }
        }
        let fill = async {
            let token = self.token(&token_key()).await;
            let l2_key = token.map(|t| l2_key(&t));
            self.load::<T, W>(lookups, l2_key, load())
                .await
                .map(Arc::new)
        };
        if !self.l1_on() {
            return fill.await.map(|v| (*v).clone());
        }
        let epoch = self.epoch.now();
        let value = l1.try_get_with(key.to_owned(), fill).await;
        if self.epoch.moved_since(epoch) {
            l1.invalidate(key).await;
        }
        value.map(|v| (*v).clone()).map_err(shared_error)
    }

    /// L2, then the database (one loader across replicas), for a value filed under
    /// `l2_key`. With no key (the store is down) it reads the database directly.
    async fn load<T, W>(
        &self,
        lookups: &Lookups,
        l2_key: Option<String>,
        load: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError>
    where
        W: Serialize + DeserializeOwned + From<T> + Into<Option<T>>,
        T: Clone,
    {
        let Some(key) = l2_key else {
            return load.await;
        };
        if let Some(hit) = self.read_l2::<T, W>(&key).await {
            lookups.l2_hit.inc();
            return Ok(hit);
        }
        let lock = format!("{key}:lock");
        let leader = self
            .kv
            .set_if_absent(&lock, b"1", LOCK_TTL)
            .await
            .unwrap_or(true);
        if !leader {
            for _ in 0..LOCK_POLLS {
                tokio::time::sleep(LOCK_WAIT).await;
                if let Some(hit) = self.read_l2::<T, W>(&key).await {
                    lookups.l2_hit.inc();
                    return Ok(hit);
                }
            }
        }
        lookups.miss.inc();
        let value = load.await;
        if let Ok(value) = &value {
            if let Ok(bytes) = serde_json::to_vec(&W::from(value.clone())) {
                let _ = self.kv.set(&key, &bytes, Some(self.settings.l2_ttl)).await;
            }
        }
        if leader {
            let _ = self.kv.delete(&lock).await;
        }
        value
    }

    async fn read_l2<T, W>(&self, key: &str) -> Option<T>
    where
        W: DeserializeOwned + Into<Option<T>>,
    {
        let bytes = self.kv.get(key).await.ok()??;
        serde_json::from_slice::<W>(&bytes).ok()?.into()
    }
}
