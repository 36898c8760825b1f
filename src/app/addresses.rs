//! Saved addresses: a customer's address book, checked against India Post's pincode
//! directory, and the directory itself for address forms ([`AddressBook::locate`]).
//!
//! Every change reads the customer's whole set, applies the domain's rule
//! ([`SavedAddresses`]: a limit, exactly one default) and writes it back on the version it
//! read; a concurrent change makes the write fail and the change is applied again to what
//! is stored now. Checkout reads one address with [`AddressBook::get`].

use std::sync::Arc;

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::address::{
    AddressBookError, AddressDetails, AddressId, RawSavedAddress, SavedAddress, SavedAddresses,
    DEFAULT_MAX_ADDRESSES,
};
use crate::domain::pincode::{Locality, Pincode, PincodeDirectory};
use crate::domain::precondition::IfMatch;
use crate::domain::request_key::RequestKey;
use crate::domain::time::{truncate_to_millis, SharedClock, SystemClock};
use crate::domain::user::UserId;
use crate::store::{AddressRepository, StoreError};

/// How often a change is applied again after a concurrent one won the write.
const TRIES: usize = 8;

/// What saving an address did.
#[derive(Debug)]
pub enum Created {
    New(SavedAddress),
    /// An earlier attempt of the same request had saved it.
    Found(SavedAddress),
}

impl Created {
    pub fn address(&self) -> &SavedAddress {
        match self {
            Self::New(a) | Self::Found(a) => a,
        }
    }
}

pub struct AddressBook {
    store: Arc<dyn AddressRepository>,
    directory: &'static PincodeDirectory,
    limit: u32,
    clock: SharedClock,
}

fn refused(error: AddressBookError) -> AppError {
    match error {
        AddressBookError::Full { limit } => AppError::new(
            ErrorCode::AddressBookFull,
            format!(
                "you already have the most saved addresses allowed ({limit}); delete one first"
            ),
        ),
        AddressBookError::NotFound => AppError::not_found("address"),
        AddressBookError::PreconditionFailed => AppError::precondition_failed("address"),
        AddressBookError::KeyReused => crate::app::idempotency::key_reused(),
    }
}

impl AddressBook {
    /// India Post's directory and the default limit; see [`Self::with_limit`].
    pub fn new(store: Arc<dyn AddressRepository>) -> Self {
        Self {
            store,
            directory: PincodeDirectory::india_post(),
            limit: DEFAULT_MAX_ADDRESSES,
            clock: SystemClock::shared(),
        }
    }

    /// The most addresses one customer may save (at least 1).
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit.max(1);
        self
    }

    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Where a pincode is, for address forms: 404 if India Post does not list it.
    pub fn locate(&self, pincode: &str) -> Result<(Pincode, Locality), AppError> {
        let pincode = Pincode::parse("pincode", pincode)
            .map_err(|e| AppError::invalid_parameter("pincode", e.message))?;
        let locality = self.directory.lookup(&pincode).ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                format!("{pincode} is not in India Post's directory"),
            )
        })?;
        Ok((pincode, locality))
    }

    /// The customer's addresses, oldest first.
    pub async fn list(&self, user: &UserId) -> Result<Vec<SavedAddress>, AppError> {
        Ok(self.store.get(user).await?.addresses)
    }

    /// One of the customer's addresses; 404 if it is not theirs. What checkout copies into
    /// an order (with its state code).
    pub async fn get(&self, user: &UserId, id: &AddressId) -> Result<SavedAddress, AppError> {
        self.store
            .get(user)
            .await?
            .get(id)
            .cloned()
            .ok_or_else(|| AppError::not_found("address"))
    }

    /// Saves a new address (the default if it is the first, or if `make_default`). With
    /// `retry` (the request's `Idempotency-Key`), a retry whose first answer was lost finds
    /// the address the first attempt saved: [`Created::Found`].
    pub async fn create(
        &self,
        user: &UserId,
        raw: &RawSavedAddress,
        make_default: bool,
        retry: Option<&RequestKey>,
    ) -> Result<Created, AppError> {
        let details = AddressDetails::parse(raw, self.directory).map_err(AppError::validation)?;
        let id = AddressId::generate();
        self.change(user, |book, now| {
            if let Some(earlier) = retry.map(|key| book.saved_by(key)).transpose()?.flatten() {
                return Ok(Created::Found(earlier.clone()));
            }
            let key = retry.cloned();
            book.add(
                id.clone(),
                details.clone(),
                make_default,
                self.limit,
                now,
                key,
            )
            .map(|a| Created::New(a.clone()))
        })
        .await
    }

    /// Replaces an address's fields; it keeps the default if it had it, and gains it
    /// if `make_default`.
    pub async fn replace(
        &self,
        user: &UserId,
        id: &AddressId,
        raw: &RawSavedAddress,
        make_default: bool,
        if_match: Option<&IfMatch>,
    ) -> Result<SavedAddress, AppError> {
        let details = AddressDetails::parse(raw, self.directory).map_err(AppError::validation)?;
        self.change(user, |book, now| {
            book.replace(id, details.clone(), if_match, now)?;
            if make_default {
                book.make_default(id, now)?;
            }
            book.get(id).cloned().ok_or(AddressBookError::NotFound)
        })
        .await
    }

    /// Deletes an address; if it was the default, the oldest other one becomes it.
    pub async fn delete(
        &self,
        user: &UserId,
        id: &AddressId,
        if_match: Option<&IfMatch>,
    ) -> Result<(), AppError> {
        self.change(user, |book, now| book.remove(id, if_match, now).map(drop))
            .await
    }

    /// Makes an address the default.
    pub async fn make_default(
        &self,
        user: &UserId,
        id: &AddressId,
    ) -> Result<SavedAddress, AppError> {
        self.change(user, |book, now| book.make_default(id, now).cloned())
            .await
    }

    /// Deletes every address of the customer (an erasure); answers how many.
    pub async fn erase(&self, user: &UserId) -> Result<u64, AppError> {
        Ok(self.store.delete_all(user).await?)
    }

    /// Applies `apply` to the stored set and writes it on the version it read, again on
    /// what is stored now when a concurrent change got there first.
    async fn change<T>(
        &self,
        user: &UserId,
        apply: impl Fn(
            &mut SavedAddresses,
            chrono::DateTime<chrono::Utc>,
        ) -> Result<T, AddressBookError>,
    ) -> Result<T, AppError> {
        for _ in 0..TRIES {
            let mut book = self.store.get(user).await?;
            let read = book.version;
            let now = truncate_to_millis(self.clock.now());
            let answer = apply(&mut book, now).map_err(refused)?;
            if book.version == read {
                return Ok(answer);
            }
            match self.store.save(&book, read).await {
                Ok(()) => return Ok(answer),
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::new(
            ErrorCode::VersionConflict,
            "your addresses kept changing while this change was made; try again",
        ))
    }
}
