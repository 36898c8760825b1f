//! An in-process cache of users by id, in front of any [`UserRepository`]: every
//! authenticated request reads its user, and users change rarely.
//!
//! Writes through this store drop the entry here and announce it on the
//! invalidation broadcast, so every replica drops its copy a moment later. A
//! load that began before a notice arrived is not kept (the epoch check), so a
//! replica that hears its notices never keeps an old user; one that missed
//! notices forgets everything, and the TTL bounds what remains
//! (`BAZAAR_CACHE_L1_TTL_MS`, as for products). Sessions are not cached: ending
//! one takes effect on every replica at the next request.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;

use super::{StoreError, UserRepository};
use crate::domain::user::{Email, Phone, User, UserId};
use crate::domain::user_query::{UserPage, UserQuery};
use crate::kv::broadcast::{Broadcast, Epoch, Notice};

const TOPIC: &str = "user:";

pub struct CachedUsers {
    inner: Arc<dyn UserRepository>,
    broadcast: Arc<dyn Broadcast>,
    users: Option<Cache<String, Arc<User>>>,
    epoch: Epoch,
}

impl CachedUsers {
    /// `ttl` 0 turns the cache off (every read goes to `inner`).
    pub fn new(
        inner: Arc<dyn UserRepository>,
        broadcast: Arc<dyn Broadcast>,
        ttl: Duration,
        capacity: u64,
    ) -> Self {
        let users = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build()
        });
        Self {
            inner,
            broadcast,
            users,
            epoch: Epoch::default(),
        }
    }

    /// Drops entries as writes anywhere are announced, for as long as the cache exists.
    pub fn follow_invalidations(self: &Arc<Self>) {
        if self.users.is_none() {
            return;
        }
        let mut notices = self.broadcast.subscribe();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(notice) = notices.next().await {
                let Some(cache) = cache.upgrade() else { return };
                let Some(users) = &cache.users else { return };
                cache.epoch.advance();
                match notice {
                    Notice::Changed(topic) => match topic.strip_prefix(TOPIC) {
                        Some(id) => users.invalidate(id).await,
                        None => continue,
                    },
                    Notice::Lost => users.invalidate_all(),
                }
            }
        });
    }

    async fn forget(&self, id: &UserId) {
        if let Some(users) = &self.users {
            self.epoch.advance();
            users.invalidate(id.as_str()).await;
        }
        if let Err(e) = self.broadcast.publish(&format!("{TOPIC}{id}")).await {
            tracing::error!(error = %e, "user cache: could not tell other replicas; their copies age out with the L1 TTL");
        }
    }
}

#[async_trait]
impl UserRepository for CachedUsers {
    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        self.inner.insert(user).await
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let Some(users) = &self.users else {
            return self.inner.get(id).await;
        };
        if let Some(user) = users.get(id.as_str()).await {
            return Ok(Some(User::clone(&user)));
        }
        let epoch = self.epoch.now();
        let user = self.inner.get(id).await?;
        if let Some(user) = &user {
            users
                .insert(id.as_str().to_owned(), Arc::new(user.clone()))
                .await;
            if self.epoch.moved_since(epoch) {
                users.invalidate(id.as_str()).await;
            }
        }
        Ok(user)
    }

    async fn find_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        self.inner.find_by_phone(phone).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.inner.find_by_email(email).await
    }

    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        self.inner.find_by_identity(issuer, subject).await
    }

    async fn update(&self, user: &User, expected_version: u64) -> Result<(), StoreError> {
        let result = self.inner.update(user, expected_version).await;
        // Also on a conflict: what the cache holds may be what lost the race.
        self.forget(&user.id).await;
        result
    }

    async fn delete(&self, id: &UserId, expected_version: u64) -> Result<(), StoreError> {
        let result = self.inner.delete(id, expected_version).await;
        self.forget(id).await;
        result
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        self.inner.list(query).await
    }
}
