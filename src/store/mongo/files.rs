//! File records in MongoDB (collection `files`).

use async_trait::async_trait;
use bson::doc;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, index, why_unmatched};
use crate::domain::file::{ContentType, DeclaredSize, FileId, FileRecord, FileStatus, ObjectKey};
use crate::domain::user::UserId;
use crate::store::{FileRepository, StoreError};

pub struct MongoFiles {
    collection: Collection<FileDoc>,
}

impl MongoFiles {
    /// Opens the `files` collection and makes sure its indexes exist (idempotent, so every
    /// replica may run it at startup).
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<FileDoc>("files");
        collection
            .create_indexes([index(
                doc! { "owner": 1, "created_at": -1 },
                "owner_created_at",
                false,
                false,
            )])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct FileDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    owner: String,
    content_type: String,
    size: i64,
    status: String,
    key: String,
    created_at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completed_at: Option<bson::DateTime>,
}

fn object_id(id: &FileId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored file has an invalid {what}"))
}

impl FileDoc {
    fn from_record(f: &FileRecord) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&f.id)?,
            owner: f.owner.to_string(),
            content_type: f.content_type.as_str().to_owned(),
            size: i64::try_from(f.size.get()).map_err(|_| corrupt("size"))?,
            status: f.status.as_str().to_owned(),
            key: f.key.as_str().to_owned(),
            created_at: bson::DateTime::from_chrono(f.created_at),
            completed_at: f.completed_at.map(bson::DateTime::from_chrono),
        })
    }

    fn into_record(self) -> Result<FileRecord, StoreError> {
        Ok(FileRecord {
            id: FileId::parse(&self.id.to_hex()).map_err(|_| corrupt("id"))?,
            owner: UserId::parse(&self.owner).map_err(|_| corrupt("owner"))?,
            content_type: ContentType::trusted(self.content_type),
            size: DeclaredSize::trusted(u64::try_from(self.size).map_err(|_| corrupt("size"))?),
            status: FileStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            key: ObjectKey::trusted(self.key),
            created_at: self.created_at.to_chrono(),
            completed_at: self.completed_at.map(bson::DateTime::to_chrono),
        })
    }
}

#[async_trait]
impl FileRepository for MongoFiles {
    #[tracing::instrument(skip_all, fields(file_id = %file.id))]
    async fn insert(&self, file: &FileRecord) -> Result<(), StoreError> {
        let doc = FileDoc::from_record(file)?;
        match self.collection.insert_one(doc).await.map_err(classify) {
            // The only unique index of `files` is `_id`.
            Err(StoreError::Duplicate { .. }) => Err(StoreError::Duplicate { field: "id" }),
            other => other.map(|_| ()),
        }
    }

    #[tracing::instrument(skip_all, fields(file_id = %id))]
    async fn get(&self, id: &FileId) -> Result<Option<FileRecord>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        found.map(FileDoc::into_record).transpose()
    }

    #[tracing::instrument(skip_all, fields(file_id = %id))]
    async fn mark_complete(&self, id: &FileId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let oid = object_id(id)?;
        let result = self
            .collection
            .update_one(
                doc! { "_id": oid, "status": FileStatus::Pending.as_str() },
                doc! { "$set": {
                    "status": FileStatus::Complete.as_str(),
                    "completed_at": bson::DateTime::from_chrono(at),
                } },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, oid).await)
    }

    #[tracing::instrument(skip_all, fields(file_id = %id))]
    async fn delete(&self, id: &FileId) -> Result<(), StoreError> {
        let result = self
            .collection
            .delete_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        if result.deleted_count == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}
