//! The audit trail in memory.

use async_trait::async_trait;
use parking_lot::RwLock;

use super::paginate;
use crate::domain::audit::{AuditEvent, AuditPage, AuditQuery};
use crate::store::{AuditRepository, StoreError};

#[derive(Default)]
pub struct MemoryAudit {
    events: RwLock<Vec<AuditEvent>>,
}

impl MemoryAudit {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AuditRepository for MemoryAudit {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.events.write().push(event.clone());
        Ok(())
    }

    async fn list(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let events = self.events.read();
        let mut matching: Vec<&AuditEvent> =
            events.iter().filter(|e| query.filter.matches(e)).collect();
        matching.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        Ok(paginate(
            matching,
            &query.pagination,
            query.limit,
            true,
            |e| (AuditQuery::sort_value(e), e.id.clone()),
        ))
    }
}
