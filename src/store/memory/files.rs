//! File records in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use crate::domain::file::{FileId, FileRecord, FileStatus};
use crate::store::{FileRepository, StoreError};

#[derive(Default)]
pub struct MemoryFiles {
    by_id: RwLock<HashMap<FileId, FileRecord>>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl FileRepository for MemoryFiles {
    async fn insert(&self, file: &FileRecord) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        if map.contains_key(&file.id) {
            return Err(StoreError::Duplicate { field: "id" });
        }
        map.insert(file.id.clone(), file.clone());
        Ok(())
    }

    async fn get(&self, id: &FileId) -> Result<Option<FileRecord>, StoreError> {
        Ok(self.by_id.read().get(id).cloned())
    }

    async fn mark_complete(&self, id: &FileId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        let file = map.get_mut(id).ok_or(StoreError::NotFound)?;
        if file.status != FileStatus::Pending {
            return Err(StoreError::VersionConflict);
        }
        *file = file.completed(at);
        Ok(())
    }

    async fn delete(&self, id: &FileId) -> Result<(), StoreError> {
        match self.by_id.write().remove(id) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound),
        }
    }
}
