//! Users in MongoDB. Phone and verified email are unique by index; email's
//! index is sparse, because most users never give one. An address not yet
//! verified is kept in `pending_email`, outside the index: anyone may claim
//! any address until they prove it is theirs, so claiming one reveals nothing
//! about who else has it.
//!
//! `pending_email` holds the one address awaiting proof, whichever it is: with
//! `email_verified` false, the account's only address (as documents have always
//! held it); with `email_verified` true, the new address of an email change, the
//! verified `email` staying in place until it is proven ([`User::pending_email`]).
//! The two cases never meet (a change is held only beside a verified address), so
//! documents written before email changes existed read back unchanged.
//!
//! Linked provider accounts (`identities`, see `LinkedIdentity`) are unique by
//! `(issuer, subject)` across all users. The index is over `identity_keys`, one
//! `"<issuer> <subject>"` string per identity, not a compound index over
//! `identities.issuer` and `identities.subject`: over an array, a compound index may
//! pair one element's issuer with another's subject, so a user linked to two providers
//! would block pairs nobody holds. It is sparse, so that the many users without one
//! (the field is left out, never an empty array) do not collide on a missing value.

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, contains_any, find_page, index, why_unmatched, PageSpec};
use crate::domain::listing::{Pagination, SortValue};
use crate::domain::user::{
    Consent, Email, LinkedIdentity, PersonName, Phone, Preferences, Role, User, UserId, UserStatus,
};
use crate::domain::user_query::{UserPage, UserQuery, UserSort};
use crate::store::{StoreError, UserRepository};

pub struct MongoUsers {
    collection: Collection<UserDoc>,
}

impl MongoUsers {
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<UserDoc>("users");
        collection
            .create_indexes([
                index(doc! { "phone": 1 }, "phone_unique", true, false),
                index(doc! { "email": 1 }, "email_unique", true, true),
                index(
                    doc! { "created_at": -1, "_id": -1 },
                    "created_at",
                    false,
                    false,
                ),
                index(doc! { "name": 1, "_id": 1 }, "name", false, false),
                index(doc! { "roles": 1 }, "roles", false, false),
                index(doc! { "identity_keys": 1 }, "identity_unique", true, true),
            ])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct PreferencesDoc {
    language: String,
    sms: bool,
    email: bool,
    whatsapp: bool,
    // Absent in documents written before consent was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    whatsapp_consent: Option<ConsentDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    marketing_consent: Option<ConsentDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ConsentDoc {
    at: bson::DateTime,
    source: String,
}

impl From<&Consent> for ConsentDoc {
    fn from(c: &Consent) -> Self {
        Self {
            at: bson::DateTime::from_chrono(c.at),
            source: c.source.clone(),
        }
    }
}

impl From<ConsentDoc> for Consent {
    fn from(c: ConsentDoc) -> Self {
        Self {
            at: c.at.to_chrono(),
            source: c.source,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct IdentityDoc {
    issuer: String,
    subject: String,
    linked_at: bson::DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    phone: String,
    // Absent, not null, so the sparse unique index ignores it. Verified
    // addresses only (documents written before `pending_email` existed may
    // hold an unverified one here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_email: Option<String>,
    name: String,
    password_hash: String,
    roles: Vec<String>,
    status: String,
    phone_verified: bool,
    email_verified: bool,
    preferences: PreferencesDoc,
    // Absent when empty, so the sparse unique index skips the document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    identities: Vec<IdentityDoc>,
    /// [`identity_key`] of each of `identities`, for the unique index; absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    identity_keys: Vec<String>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    version: i64,
}

/// One linked identity as the unique index holds it. Issuers are URLs, which hold no
/// space, so the pair is unambiguous.
fn identity_key(issuer: &str, subject: &str) -> String {
    format!("{issuer} {subject}")
}

fn object_id(id: &str) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id).map_err(|e| StoreError::Other(e.into()))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored user has an invalid {what}"))
}

impl UserDoc {
    fn from_user(u: &User) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(u.id.as_str())?,
            phone: u.phone.as_str().to_owned(),
            email: u
                .email
                .as_ref()
                .filter(|_| u.email_verified)
                .map(|e| e.as_str().to_owned()),
            pending_email: if u.email_verified {
                u.pending_email.as_ref().map(|e| e.as_str().to_owned())
            } else {
                u.email.as_ref().map(|e| e.as_str().to_owned())
            },
            name: u.name.as_str().to_owned(),
            password_hash: u.password_hash.clone(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            status: u.status.as_str().to_owned(),
            phone_verified: u.phone_verified,
            email_verified: u.email_verified,
            preferences: PreferencesDoc {
                language: u.preferences.language.clone(),
                sms: u.preferences.sms,
                email: u.preferences.email,
                whatsapp: u.preferences.whatsapp,
                whatsapp_consent: u
                    .preferences
                    .whatsapp_consent
                    .as_ref()
                    .map(ConsentDoc::from),
                marketing_consent: u
                    .preferences
                    .marketing_consent
                    .as_ref()
                    .map(ConsentDoc::from),
            },
            identities: u
                .identities
                .iter()
                .map(|i| IdentityDoc {
                    issuer: i.issuer.clone(),
                    subject: i.subject.clone(),
                    linked_at: bson::DateTime::from_chrono(i.linked_at),
                })
                .collect(),
            identity_keys: u
                .identities
                .iter()
                .map(|i| identity_key(&i.issuer, &i.subject))
                .collect(),
            created_at: bson::DateTime::from_chrono(u.created_at),
            updated_at: bson::DateTime::from_chrono(u.updated_at),
            version: u.version as i64,
        })
    }

    fn into_user(self) -> Result<User, StoreError> {
        let roles = self
            .roles
            .iter()
            .map(|r| Role::parse("roles", r).map_err(|_| corrupt("role")))
            .collect::<Result<_, _>>()?;
        Ok(User {
            id: UserId::trusted(self.id.to_hex()),
            phone: Phone::trusted(self.phone),
            email: if self.email_verified {
                self.email.map(Email::trusted)
            } else {
                self.email
                    .or(self.pending_email.clone())
                    .map(Email::trusted)
            },
            pending_email: self
                .pending_email
                .filter(|_| self.email_verified)
                .map(Email::trusted),
            name: PersonName::trusted(self.name),
            password_hash: self.password_hash,
            roles,
            status: UserStatus::parse("status", &self.status).map_err(|_| corrupt("status"))?,
            phone_verified: self.phone_verified,
            email_verified: self.email_verified,
            preferences: Preferences {
                language: self.preferences.language,
                sms: self.preferences.sms,
                email: self.preferences.email,
                whatsapp: self.preferences.whatsapp,
                whatsapp_consent: self.preferences.whatsapp_consent.map(Consent::from),
                marketing_consent: self.preferences.marketing_consent.map(Consent::from),
            },
            identities: self
                .identities
                .into_iter()
                .map(|i| LinkedIdentity {
                    issuer: i.issuer,
                    subject: i.subject,
                    linked_at: i.linked_at.to_chrono(),
                })
                .collect(),
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            version: self.version as u64,
        })
    }
}

impl MongoUsers {
    async fn find_one(&self, filter: Document) -> Result<Option<User>, StoreError> {
        let found = self.collection.find_one(filter).await.map_err(classify)?;
        found.map(UserDoc::into_user).transpose()
    }
}

#[async_trait]
impl UserRepository for MongoUsers {
    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        self.collection
            .insert_one(UserDoc::from_user(user)?)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.find_one(doc! { "_id": object_id(id.as_str())? }).await
    }

    async fn find_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        self.find_one(doc! { "phone": phone.as_str() }).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.find_one(doc! { "email": email.as_str(), "email_verified": true })
            .await
    }

    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        self.find_one(doc! { "identity_keys": identity_key(issuer, subject) })
            .await
    }

    async fn update(&self, user: &User, expected_version: u64) -> Result<(), StoreError> {
        let doc = UserDoc::from_user(user)?;
        let id = doc.id;
        let result = self
            .collection
            .replace_one(doc! { "_id": id, "version": expected_version as i64 }, doc)
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, id).await)
    }

    async fn delete(&self, id: &UserId, expected_version: u64) -> Result<(), StoreError> {
        let id = object_id(id.as_str())?;
        let result = self
            .collection
            .delete_one(doc! { "_id": id, "version": expected_version as i64 })
            .await
            .map_err(classify)?;
        if result.deleted_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, id).await)
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        let mut clauses = Vec::new();
        let filter = &query.filter;
        if let Some(role) = filter.role {
            clauses.push(doc! { "roles": role.as_str() });
        }
        if let Some(status) = filter.status {
            clauses.push(doc! { "status": status.as_str() });
        }
        if let Some(q) = &filter.q {
            clauses.push(contains_any(
                &["name", "phone", "email", "pending_email"],
                q,
            ));
        }
        let (field, descending) = match query.sort {
            UserSort::CreatedAt { descending } => ("created_at", descending),
            UserSort::Name => ("name", false),
        };
        let after = match &query.pagination {
            Pagination::Cursor(Some(c)) => Some((
                match &c.after_value {
                    SortValue::Int(ms) => bson::Bson::DateTime(bson::DateTime::from_millis(*ms)),
                    SortValue::Text(s) => bson::Bson::String(s.clone()),
                },
                c.after_id.as_str(),
            )),
            _ => None,
        };
        let spec = PageSpec {
            field,
            descending,
            after,
            pagination: &query.pagination,
            limit: query.limit,
        };
        find_page(&self.collection, clauses, spec, UserDoc::into_user).await
    }
}
