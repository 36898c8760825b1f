//! Orders and webhook events in memory.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use super::{paginate, MemoryOutbox};
use crate::domain::analytics::{summarize, SalesSummary};
use crate::domain::order::status::OrderStatus;
use crate::domain::order::{Order, OrderId};
use crate::domain::order_query::{OrderPage, OrderQuery, OrderSort};
use crate::domain::outbox::OutboxMessage;
use crate::domain::user::UserId;
use crate::domain::webhook::WebhookRecord;
use crate::store::{OrderRepository, StoreError, WebhookEventRepository};

pub struct MemoryOrders {
    by_id: RwLock<HashMap<OrderId, Order>>,
    /// Where notices go, written while the order's lock is held: the same write.
    outbox: Arc<MemoryOutbox>,
}

impl MemoryOrders {
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        Self {
            by_id: RwLock::default(),
            outbox,
        }
    }
}

/// Unpaid orders matching `keep`, oldest first, at most `limit`.
fn unpaid(map: &HashMap<OrderId, Order>, limit: u32, keep: impl Fn(&Order) -> bool) -> Vec<Order> {
    let mut found: Vec<&Order> = map
        .values()
        .filter(|o| o.status == OrderStatus::PendingPayment && keep(o))
        .collect();
    found.sort_by(|a, b| OrderSort { descending: false }.compare(a, b));
    found.into_iter().take(limit as usize).cloned().collect()
}

#[async_trait]
impl OrderRepository for MemoryOrders {
    async fn insert(&self, order: &Order) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        if map.contains_key(&order.id) {
            return Err(StoreError::Duplicate { field: "id" });
        }
        if let Some(key) = &order.request_key {
            if map
                .values()
                .any(|o| o.request_key.as_ref().is_some_and(|k| k.id == key.id))
            {
                return Err(StoreError::Duplicate {
                    field: "request_key",
                });
            }
        }
        if order.unpaid_slot.is_some() && order.status.is_unpaid() {
            let taken = map.values().any(|o| {
                o.user_id == order.user_id
                    && o.status.is_unpaid()
                    && o.unpaid_slot == order.unpaid_slot
            });
            if taken {
                return Err(StoreError::Duplicate {
                    field: "unpaid_slot",
                });
            }
        }
        map.insert(order.id.clone(), order.clone());
        Ok(())
    }

    async fn count_unpaid(&self, user: &UserId) -> Result<u64, StoreError> {
        let map = self.by_id.read();
        let unpaid = map
            .values()
            .filter(|o| &o.user_id == user && o.status.is_unpaid())
            .count();
        Ok(unpaid as u64)
    }

    async fn get(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self.by_id.read().get(id).cloned())
    }

    async fn find_by_provider_order(
        &self,
        provider_order_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .find(|o| o.payment.provider_order_id.as_deref() == Some(provider_order_id))
            .cloned())
    }

    async fn find_by_request_key(&self, request_key_id: &str) -> Result<Option<Order>, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .find(|o| {
                o.request_key
                    .as_ref()
                    .is_some_and(|k| k.id == request_key_id)
            })
            .cloned())
    }

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        notices: &[OutboxMessage],
    ) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        match map.get(&order.id) {
            None => Err(StoreError::NotFound),
            Some(current) if current.version != expected_version => {
                Err(StoreError::VersionConflict)
            }
            Some(_) => {
                map.insert(order.id.clone(), order.clone());
                self.outbox.enqueue_now(notices);
                Ok(())
            }
        }
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let map = self.by_id.read();
        let sort = query.sort;
        let mut matching: Vec<&Order> = map.values().filter(|o| query.filter.matches(o)).collect();
        matching.sort_by(|a, b| sort.compare(a, b));
        Ok(paginate(
            matching,
            &query.pagination,
            query.limit,
            sort.descending,
            |o| (OrderSort::value_of(o), o.id.to_string()),
        ))
    }

    async fn expired_unpaid(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        Ok(unpaid(&self.by_id.read(), limit, |o| o.expires_at <= now))
    }

    async fn stuck_in_payment(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        Ok(unpaid(&self.by_id.read(), limit, |o| {
            o.payment.provider_order_id.is_some() && o.updated_at < before
        }))
    }

    async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SalesSummary, StoreError> {
        Ok(summarize(self.by_id.read().values(), from, to))
    }
}

#[derive(Default)]
pub struct MemoryWebhookEvents {
    by_id: RwLock<HashMap<String, WebhookRecord>>,
}

impl MemoryWebhookEvents {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl WebhookEventRepository for MemoryWebhookEvents {
    async fn record(&self, event: &WebhookRecord) -> Result<bool, StoreError> {
        let mut map = self.by_id.write();
        match map.get_mut(&event.event_id) {
            Some(known) => {
                known.deliveries += 1;
                Ok(false)
            }
            None => {
                map.insert(event.event_id.clone(), event.clone());
                Ok(true)
            }
        }
    }

    async fn get(&self, event_id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        Ok(self.by_id.read().get(event_id).cloned())
    }

    async fn mark_applied(
        &self,
        event_id: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        let record = map.get_mut(event_id).ok_or(StoreError::NotFound)?;
        record.applied_at = Some(crate::domain::time::truncate_to_millis(at));
        record.outcome = Some(outcome.to_owned());
        Ok(())
    }

    async fn mark_unapplied(&self, event_id: &str, outcome: &str) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        let record = map.get_mut(event_id).ok_or(StoreError::NotFound)?;
        record.applied_at = None;
        record.outcome = Some(outcome.to_owned());
        Ok(())
    }

    async fn list(
        &self,
        event: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<WebhookRecord>, u64), StoreError> {
        let map = self.by_id.read();
        let mut matching: Vec<&WebhookRecord> = map
            .values()
            .filter(|r| event.is_none_or(|e| r.event == e))
            .collect();
        matching.sort_by(|a, b| {
            b.received_at
                .cmp(&a.received_at)
                .then_with(|| b.event_id.cmp(&a.event_id))
        });
        let total = matching.len() as u64;
        let page = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .cloned()
            .collect();
        Ok((page, total))
    }
}
