//! Saved addresses in MongoDB (collection `address_books`): one document per customer,
//! `_id` their user id, holding every address and the set's version, so each change is one
//! conditional write of one document and needs no transaction.

use async_trait::async_trait;
use bson::doc;
use bson::oid::ObjectId;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::classify;
use crate::domain::address::{AddressDetails, AddressId, SavedAddress, SavedAddresses};
use crate::domain::pincode::{Locality, Pincode, StateCode};
use crate::domain::request_key::RequestKey;
use crate::domain::user::{Phone, UserId};
use crate::store::{AddressRepository, StoreError};

pub struct MongoAddresses {
    collection: Collection<BookDoc>,
}

impl MongoAddresses {
    /// Opens the `address_books` collection; its only index is `_id`.
    pub fn new(db: &Database) -> Self {
        Self {
            collection: db.collection::<BookDoc>("address_books"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct BookDoc {
    #[serde(rename = "_id")]
    user: ObjectId,
    version: i64,
    addresses: Vec<AddressDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AddressDoc {
    id: String,
    name: String,
    phone: String,
    line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    landmark: Option<String>,
    city: String,
    pincode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    /// The state's name is the code's (`StateCode::state_name`); kept for people reading
    /// the database.
    state: String,
    state_code: String,
    is_default: bool,
    version: i64,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_key: Option<KeyDoc>,
}

/// The request that saved an address (`RequestKey`).
#[derive(Debug, Serialize, Deserialize)]
struct KeyDoc {
    id: String,
    fingerprint: String,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored address book has an invalid {what}"))
}

fn user_oid(user: &UserId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(user.as_str()).map_err(|e| StoreError::Other(e.into()))
}

fn count(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| corrupt("version"))
}

impl AddressDoc {
    fn from_address(a: &SavedAddress) -> Result<Self, StoreError> {
        let d = &a.details;
        Ok(Self {
            id: a.id.to_string(),
            name: d.name.clone(),
            phone: d.phone.as_str().to_owned(),
            line1: d.line1.clone(),
            line2: d.line2.clone(),
            landmark: d.landmark.clone(),
            city: d.city.clone(),
            pincode: d.pincode.to_string(),
            district: d.locality.district.clone(),
            state: d.locality.state.to_owned(),
            state_code: d.locality.state_code.to_string(),
            is_default: a.is_default,
            version: count(a.version)?,
            created_at: bson::DateTime::from_chrono(a.created_at),
            updated_at: bson::DateTime::from_chrono(a.updated_at),
            request_key: a.request_key.as_ref().map(|k| KeyDoc {
                id: k.id.clone(),
                fingerprint: k.fingerprint.clone(),
            }),
        })
    }

    fn into_address(self) -> Result<SavedAddress, StoreError> {
        let state_code = StateCode::parse(&self.state_code).ok_or_else(|| corrupt("state code"))?;
        Ok(SavedAddress {
            id: AddressId::parse(&self.id).map_err(|_| corrupt("id"))?,
            details: AddressDetails {
                name: self.name,
                phone: Phone::parse("phone", &self.phone).map_err(|_| corrupt("phone"))?,
                line1: self.line1,
                line2: self.line2,
                landmark: self.landmark,
                city: self.city,
                pincode: Pincode::parse("pincode", &self.pincode)
                    .map_err(|_| corrupt("pincode"))?,
                locality: Locality {
                    district: self.district,
                    state: state_code.state_name(),
                    state_code,
                },
            },
            is_default: self.is_default,
            version: u64::try_from(self.version).map_err(|_| corrupt("version"))?,
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            request_key: self.request_key.map(|k| RequestKey {
                id: k.id,
                fingerprint: k.fingerprint,
            }),
        })
    }
}

impl BookDoc {
    fn from_book(book: &SavedAddresses) -> Result<Self, StoreError> {
        Ok(Self {
            user: user_oid(&book.user)?,
            version: count(book.version)?,
            addresses: book
                .addresses
                .iter()
                .map(AddressDoc::from_address)
                .collect::<Result<_, _>>()?,
        })
    }

    fn into_book(self) -> Result<SavedAddresses, StoreError> {
        Ok(SavedAddresses {
            user: UserId::parse(&self.user.to_hex()).map_err(|_| corrupt("user"))?,
            version: u64::try_from(self.version).map_err(|_| corrupt("version"))?,
            addresses: self
                .addresses
                .into_iter()
                .map(AddressDoc::into_address)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[async_trait]
impl AddressRepository for MongoAddresses {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn get(&self, user: &UserId) -> Result<SavedAddresses, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": user_oid(user)? })
            .await
            .map_err(classify)?;
        match found {
            Some(doc) => doc.into_book(),
            None => Ok(SavedAddresses::empty(user.clone())),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %addresses.user))]
    async fn save(
        &self,
        addresses: &SavedAddresses,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let doc = BookDoc::from_book(addresses)?;
        if expected_version == 0 {
            // The first save creates the document; a concurrent first save loses on `_id`.
            return match self.collection.insert_one(doc).await.map_err(classify) {
                Err(StoreError::Duplicate { .. }) => Err(StoreError::VersionConflict),
                other => other.map(|_| ()),
            };
        }
        let filter = doc! { "_id": doc.user, "version": count(expected_version)? };
        let result = self
            .collection
            .replace_one(filter, doc)
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            Ok(())
        } else {
            // Moved on, or erased meanwhile: either way the caller's read is stale.
            Err(StoreError::VersionConflict)
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn delete_all(&self, user: &UserId) -> Result<u64, StoreError> {
        let removed = self
            .collection
            .find_one_and_delete(doc! { "_id": user_oid(user)? })
            .await
            .map_err(classify)?;
        Ok(removed.map_or(0, |doc| doc.addresses.len() as u64))
    }
}
