//! Users in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::RwLock;

use super::paginate;
use crate::domain::user::{Email, Phone, User, UserId};
use crate::domain::user_query::{UserPage, UserQuery};
use crate::store::{StoreError, UserRepository};

#[derive(Default)]
pub struct MemoryUsers {
    by_id: RwLock<HashMap<UserId, User>>,
}

impl MemoryUsers {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The unique field `user` would duplicate, if any. Emails are unique among
/// verified ones only, linked identities by `(issuer, subject)` (as in MongoDB,
/// see `store::mongo::users`).
fn taken(map: &HashMap<UserId, User>, user: &User) -> Option<&'static str> {
    map.values().filter(|u| u.id != user.id).find_map(|u| {
        let shares_identity = u.identities.iter().any(|mine| {
            user.identities
                .iter()
                .any(|theirs| mine.issuer == theirs.issuer && mine.subject == theirs.subject)
        });
        if u.phone == user.phone {
            Some("phone")
        } else if u.email.is_some()
            && u.email == user.email
            && u.email_verified
            && user.email_verified
        {
            Some("email")
        } else if shares_identity {
            Some("identity")
        } else {
            None
        }
    })
}

#[async_trait]
impl UserRepository for MemoryUsers {
    async fn insert(&self, user: &User) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        if let Some(field) = taken(&map, user) {
            return Err(StoreError::Duplicate { field });
        }
        map.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.by_id.read().get(id).cloned())
    }

    async fn find_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .find(|u| &u.phone == phone)
            .cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .find(|u| u.email_verified && u.email.as_ref() == Some(email))
            .cloned())
    }

    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        Ok(self
            .by_id
            .read()
            .values()
            .find(|u| {
                u.identities
                    .iter()
                    .any(|i| i.issuer == issuer && i.subject == subject)
            })
            .cloned())
    }

    async fn update(&self, user: &User, expected_version: u64) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        match map.get(&user.id) {
            None => return Err(StoreError::NotFound),
            Some(current) if current.version != expected_version => {
                return Err(StoreError::VersionConflict)
            }
            Some(_) => {}
        }
        if let Some(field) = taken(&map, user) {
            return Err(StoreError::Duplicate { field });
        }
        map.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn delete(&self, id: &UserId, expected_version: u64) -> Result<(), StoreError> {
        let mut map = self.by_id.write();
        match map.get(id) {
            None => Err(StoreError::NotFound),
            Some(current) if current.version != expected_version => {
                Err(StoreError::VersionConflict)
            }
            Some(_) => {
                map.remove(id);
                Ok(())
            }
        }
    }

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        let map = self.by_id.read();
        let sort = query.sort;
        let mut matching: Vec<&User> = map.values().filter(|u| query.filter.matches(u)).collect();
        matching.sort_by(|a, b| sort.compare(a, b));
        Ok(paginate(
            matching,
            &query.pagination,
            query.limit,
            sort.descending(),
            |u| (sort.value_of(u), u.id.to_string()),
        ))
    }
}
