//! File records in MongoDB (collection `files`).

use async_trait::async_trait;
use bson::doc;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use futures::TryStreamExt;

use super::{classify, index, why_unmatched};
use crate::domain::file::{
    ContentType, DeclaredSize, FileId, FileRecord, FileStatus, FileUsage, ObjectKey,
};
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
            .create_indexes([
                index(
                    doc! { "owner": 1, "created_at": -1 },
                    "owner_created_at",
                    false,
                    false,
                ),
                // The sweep's question: which files are expired, or pending since before X.
                index(
                    doc! { "status": 1, "created_at": 1 },
                    "status_created_at",
                    false,
                    false,
                ),
            ])
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
    /// Absent in records written before files could be public: those are not.
    #[serde(default)]
    public: bool,
}

/// One row of the quota aggregation.
#[derive(Debug, Deserialize)]
struct UsageRow {
    files: i64,
    bytes: i64,
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
            public: f.public,
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
            public: self.public,
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

    #[tracing::instrument(skip_all, fields(user_id = %owner))]
    async fn usage(&self, owner: &UserId) -> Result<FileUsage, StoreError> {
        let pipeline = vec![
            doc! { "$match": {
                "owner": owner.to_string(),
                "status": { "$in": [FileStatus::Pending.as_str(), FileStatus::Complete.as_str()] },
                "public": { "$ne": true },
            } },
            doc! { "$group": { "_id": null, "files": { "$sum": 1 }, "bytes": { "$sum": "$size" } } },
        ];
        let rows: Vec<UsageRow> = self
            .collection
            .aggregate(pipeline)
            .with_type::<UsageRow>()
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        let row = rows.first();
        let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).map_err(|_| corrupt("size"));
        Ok(FileUsage {
            files: count(row.map(|r| r.files))?,
            bytes: count(row.map(|r| r.bytes))?,
        })
    }

    #[tracing::instrument(skip_all, fields(files = ids.len()))]
    async fn publish(&self, ids: &[FileId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let oids = ids.iter().map(object_id).collect::<Result<Vec<_>, _>>()?;
        self.collection
            .update_many(
                doc! { "_id": { "$in": oids } },
                doc! { "$set": { "public": true } },
            )
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(file_id = %id))]
    async fn expire(&self, id: &FileId) -> Result<(), StoreError> {
        let oid = object_id(id)?;
        let result = self
            .collection
            .update_one(
                doc! { "_id": oid, "status": { "$in": [
                    FileStatus::Pending.as_str(),
                    FileStatus::Expired.as_str(),
                ] } },
                doc! { "$set": { "status": FileStatus::Expired.as_str() } },
            )
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, oid).await)
    }

    #[tracing::instrument(skip_all)]
    async fn private_of(&self, owner: &UserId, limit: u32) -> Result<Vec<FileRecord>, StoreError> {
        let docs: Vec<FileDoc> = self
            .collection
            .find(doc! { "owner": owner.to_string(), "public": { "$ne": true } })
            .sort(doc! { "created_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(FileDoc::into_record).collect()
    }

    async fn sweepable(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let docs: Vec<FileDoc> = self
            .collection
            .find(doc! { "$or": [
                { "status": FileStatus::Expired.as_str() },
                {
                    "status": FileStatus::Pending.as_str(),
                    "created_at": { "$lt": bson::DateTime::from_chrono(cutoff) },
                },
            ] })
            .sort(doc! { "created_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(FileDoc::into_record).collect()
    }
}
