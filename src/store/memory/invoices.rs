//! Invoices and credit notes in memory: one lock, so the next serial is read and taken
//! in one step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::gst::series::InvoicePrefix;
use crate::domain::invoice::{DocumentDraft, TaxDocument};
use crate::domain::order::OrderId;
use crate::store::{InvoiceRepository, StoreError};

#[derive(Default)]
pub struct MemoryInvoices {
    issued: Mutex<Vec<TaxDocument>>,
}

impl MemoryInvoices {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl InvoiceRepository for MemoryInvoices {
    async fn issue(
        &self,
        draft: DocumentDraft,
        prefix: &InvoicePrefix,
    ) -> Result<TaxDocument, StoreError> {
        let mut issued = self.issued.lock();
        let (kind, year) = (draft.kind, draft.year());
        if let Some(done) = issued
            .iter()
            .find(|d| d.kind() == kind && d.draft.source == draft.source)
        {
            return Ok(done.clone());
        }
        let last = issued
            .iter()
            .filter(|d| d.kind() == kind && d.year() == year)
            .map(|d| d.serial)
            .max()
            .unwrap_or(0);
        let document = draft
            .number(prefix, last + 1)
            .map_err(|e| StoreError::Other(e.into()))?;
        issued.push(document.clone());
        Ok(document)
    }

    async fn for_order(&self, order: &OrderId) -> Result<Vec<TaxDocument>, StoreError> {
        let mut found: Vec<TaxDocument> = self
            .issued
            .lock()
            .iter()
            .filter(|d| &d.draft.order_id == order)
            .cloned()
            .collect();
        found.sort_by_key(|d| (d.kind(), d.year(), d.serial));
        Ok(found)
    }

    async fn issued_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TaxDocument>, StoreError> {
        let mut found: Vec<TaxDocument> = self
            .issued
            .lock()
            .iter()
            .filter(|d| d.draft.issued_at >= from && d.draft.issued_at < to)
            .cloned()
            .collect();
        found.sort_by_key(|d| (d.kind(), d.year(), d.serial));
        Ok(found)
    }
}
