//! File records in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use crate::domain::file::{FileId, FileRecord, FileStatus, FileUsage};
use crate::domain::user::UserId;
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

    async fn usage(&self, owner: &UserId) -> Result<FileUsage, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .filter(|f| &f.owner == owner && counts_against_quota(f))
            .fold(FileUsage::default(), |usage, f| usage.plus(f.size)))
    }

    async fn private_of(&self, owner: &UserId, limit: u32) -> Result<Vec<FileRecord>, StoreError> {
        let map = self.by_id.read();
        let mut found: Vec<&FileRecord> = map
            .values()
            .filter(|f| &f.owner == owner && !f.public)
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found.into_iter().take(limit as usize).cloned().collect())
    }

    async fn publish(&self, ids: &[FileId]) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        for id in ids {
            if let Some(file) = map.get_mut(id) {
                file.public = true;
            }
        }
        Ok(())
    }

    async fn expire(&self, id: &FileId) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        let file = map.get_mut(id).ok_or(StoreError::NotFound)?;
        match file.status {
            FileStatus::Pending | FileStatus::Expired => {
                file.status = FileStatus::Expired;
                Ok(())
            }
            FileStatus::Complete => Err(StoreError::VersionConflict),
        }
    }

    async fn sweepable(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let mut due: Vec<FileRecord> = self
            .by_id
            .read()
            .values()
            .filter(|f| match f.status {
                FileStatus::Expired => true,
                FileStatus::Pending => f.created_at < cutoff,
                FileStatus::Complete => false,
            })
            .cloned()
            .collect();
        due.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        due.truncate(limit as usize);
        Ok(due)
    }
}

fn counts_against_quota(file: &FileRecord) -> bool {
    !file.public && matches!(file.status, FileStatus::Pending | FileStatus::Complete)
}
