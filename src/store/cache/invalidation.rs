//! Invalidation: a write files future reads under new generation tokens and drops this
//! process's L1 copies; other replicas drop theirs when the broadcast announces it.

use std::sync::Arc;

use super::{CachedProducts, PREFIX, TOKEN_TTL, TOPIC};
use crate::domain::ids::ProductId;
use crate::kv::broadcast::Notice;

impl CachedProducts {
    /// Files future reads of `id` and of every list under new tokens, and drops
    /// this process's L1 copies. Called after every successful write.
    pub(super) async fn invalidate(&self, id: &ProductId) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let replace = |key: String| {
            let token = token.as_bytes();
            async move {
                if let Err(e) = self.kv.set(&key, token, Some(TOKEN_TTL)).await {
                    // The write itself succeeded; other replicas may read the old
                    // value until its L2 TTL ends.
                    tracing::error!(error = %e, key, "cache: could not invalidate");
                }
            }
        };
        // Both tokens at once; the announcement only after them, or a replica
        // that hears it could refill from L2 under an old token.
        futures::join!(
            replace(format!("{PREFIX}:gen:{id}")),
            replace(format!("{PREFIX}:ns"))
        );
        self.epoch.advance();
        self.items.invalidate(id.as_str()).await;
        self.pages.invalidate_all();
        self.facets.invalidate_all();
        if let Err(e) = self.broadcast.publish(&format!("{TOPIC}{id}")).await {
            tracing::error!(error = %e, "cache: could not tell other replicas; their copies age out with the L1 TTL");
        }
    }

    /// Drops this process's L1 copies as other replicas' writes are announced,
    /// for as long as the cache exists.
    pub fn follow_invalidations(self: &Arc<Self>) {
        let mut notices = self.broadcast.subscribe();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(notice) = notices.next().await {
                let Some(cache) = cache.upgrade() else { return };
                if let Notice::Changed(topic) = &notice {
                    let Some(id) = topic.strip_prefix(TOPIC) else {
                        continue;
                    };
                    cache.epoch.advance();
                    cache.items.invalidate(id).await;
                } else {
                    cache.epoch.advance();
                    cache.items.invalidate_all();
                }
                cache.pages.invalidate_all();
                cache.facets.invalidate_all();
            }
        });
    }
}
