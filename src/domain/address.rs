//! Saved addresses: what a customer types into the address form ([`RawSavedAddress`]),
//! checked against India Post's directory into [`AddressDetails`], and a customer's whole
//! set ([`SavedAddresses`]) with its rules: at most a limit of them, and exactly one default
//! whenever there is any.
//!
//! The set is changed as a whole and stored as one record at one version, so both storage
//! backends keep the rules by compare-and-set alone: two concurrent changes cannot both
//! apply to the same version.

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::pincode::{Locality, Pincode, PincodeDirectory};
use super::precondition::{met, IfMatch};
use super::request_key::{Found, RequestKey};
use super::user::Phone;
use super::validation::{char_len, Collector, FieldError};

pub use super::ids::AddressId;

/// The most addresses a customer may save unless configured otherwise.
pub const DEFAULT_MAX_ADDRESSES: u32 = 20;
/// Longest name, line, landmark or city, in characters.
pub const MAX_TEXT: usize = 200;

/// An address as a client sent it.
#[derive(Debug, Clone, Default)]
pub struct RawSavedAddress {
    pub name: String,
    pub phone: String,
    pub line1: String,
    pub line2: Option<String>,
    pub landmark: Option<String>,
    pub city: String,
    pub pincode: String,
}

/// An address, every field valid; district and state come from the pincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDetails {
    /// Who receives deliveries there.
    pub name: String,
    pub phone: Phone,
    pub line1: String,
    pub line2: Option<String>,
    pub landmark: Option<String>,
    pub city: String,
    pub pincode: Pincode,
    /// District, state and GST state code, as India Post lists the pincode.
    pub locality: Locality,
}

impl AddressDetails {
    /// Checks every field, reporting all that are invalid. A well-formed pincode the
    /// directory does not know is `unknown_pincode`.
    pub fn parse(
        raw: &RawSavedAddress,
        directory: &PincodeDirectory,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors.take(required_text("name", &raw.name));
        let phone = errors.take(Phone::parse("phone", &raw.phone));
        let line1 = errors.take(required_text("line1", &raw.line1));
        let line2 = errors.take(optional_text("line2", raw.line2.as_deref()));
        let landmark = errors.take(optional_text("landmark", raw.landmark.as_deref()));
        let city = errors.take(required_text("city", &raw.city));
        let located = errors.take(Pincode::parse("pincode", &raw.pincode).and_then(|pincode| {
            directory
                .lookup(&pincode)
                .map(|locality| (pincode, locality))
                .ok_or_else(|| {
                    FieldError::new(
                        "pincode",
                        "unknown_pincode",
                        format!("{pincode} is not in India Post's directory"),
                    )
                })
        }));
        match (name, phone, line1, line2, landmark, city, located) {
            (
                Some(name),
                Some(phone),
                Some(line1),
                Some(line2),
                Some(landmark),
                Some(city),
                Some((pincode, locality)),
            ) if errors.is_empty() => Ok(Self {
                name,
                phone,
                line1,
                line2,
                landmark,
                city,
                pincode,
                locality,
            }),
            _ => Err(errors.into_errors()),
        }
    }
}

fn required_text(field: &str, raw: &str) -> Result<String, FieldError> {
    match optional_text(field, Some(raw))? {
        Some(text) => Ok(text),
        None => Err(FieldError::new(field, "required", "must not be empty")),
    }
}

/// Trimmed; blank is absent.
fn optional_text(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if char_len(text) > MAX_TEXT {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// One saved address of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedAddress {
    pub id: AddressId,
    pub details: AddressDetails,
    /// Whether checkout offers it first; exactly one of a customer's addresses is.
    pub is_default: bool,
    /// Grows by one on every change to this address (its `ETag`).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The `Idempotency-Key` (hashed) of the request that saved it, so that a retry whose
    /// first answer was lost finds it instead of saving it twice.
    pub request_key: Option<RequestKey>,
}

/// Why a change to a customer's addresses was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressBookError {
    /// Saving one more would pass the limit.
    Full {
        limit: u32,
    },
    NotFound,
    /// `If-Match` named another version of the address.
    PreconditionFailed,
    /// The `Idempotency-Key` saved another address.
    KeyReused,
}

/// All of one customer's saved addresses, oldest first, at one `version` (0 until first
/// stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedAddresses {
    pub user: UserId,
    pub addresses: Vec<SavedAddress>,
    pub version: u64,
}

impl SavedAddresses {
    /// A customer who has saved nothing yet.
    pub fn empty(user: UserId) -> Self {
        Self {
            user,
            addresses: Vec::new(),
            version: 0,
        }
    }

    pub fn get(&self, id: &AddressId) -> Option<&SavedAddress> {
        self.addresses.iter().find(|a| &a.id == id)
    }

    /// The address the request with `key` saved earlier, if any; `KeyReused` if that
    /// key saved a different request's.
    pub fn saved_by(&self, key: &RequestKey) -> Result<Option<&SavedAddress>, AddressBookError> {
        let Some(earlier) = self
            .addresses
            .iter()
            .find(|a| a.request_key.as_ref().is_some_and(|k| k.id == key.id))
        else {
            return Ok(None);
        };
        let stored_key = earlier.request_key.as_ref().unwrap_or(key);
        match key.judge(stored_key, earlier) {
            Found::Same(earlier) => Ok(Some(earlier)),
            Found::Reused => Err(AddressBookError::KeyReused),
        }
    }

    pub fn default_address(&self) -> Option<&SavedAddress> {
        self.addresses.iter().find(|a| a.is_default)
    }

    /// Saves a new address, made by the request with `request_key` if given. The first is
    /// the default; a later one becomes it if `make_default`.
    pub fn add(
        &mut self,
        id: AddressId,
        details: AddressDetails,
        make_default: bool,
        limit: u32,
        now: DateTime<Utc>,
        request_key: Option<RequestKey>,
    ) -> Result<&SavedAddress, AddressBookError> {
        if self.addresses.len() >= limit as usize {
            return Err(AddressBookError::Full { limit });
        }
        let make_default = make_default || self.addresses.is_empty();
        if make_default {
            self.clear_default(now);
        }
        self.addresses.push(SavedAddress {
            id,
            details,
            is_default: make_default,
            version: 1,
            created_at: now,
            updated_at: now,
            request_key,
        });
        self.version += 1;
        Ok(&self.addresses[self.addresses.len() - 1])
    }

    /// Replaces an address's details, if `if_match` allows its version.
    pub fn replace(
        &mut self,
        id: &AddressId,
        details: AddressDetails,
        if_match: Option<&IfMatch>,
        now: DateTime<Utc>,
    ) -> Result<&SavedAddress, AddressBookError> {
        let index = self.checked(id, if_match)?;
        let address = &mut self.addresses[index];
        address.details = details;
        touch(address, now);
        self.version += 1;
        Ok(&self.addresses[index])
    }

    /// Deletes an address, if `if_match` allows its version. When it was the default, the
    /// oldest of the others becomes the default.
    pub fn remove(
        &mut self,
        id: &AddressId,
        if_match: Option<&IfMatch>,
        now: DateTime<Utc>,
    ) -> Result<SavedAddress, AddressBookError> {
        let index = self.checked(id, if_match)?;
        let removed = self.addresses.remove(index);
        if removed.is_default {
            if let Some(next) = self.addresses.first_mut() {
                next.is_default = true;
                touch(next, now);
            }
        }
        self.version += 1;
        Ok(removed)
    }

    /// Makes an address the default (the one that was loses it). Already the default:
    /// nothing changes.
    pub fn make_default(
        &mut self,
        id: &AddressId,
        now: DateTime<Utc>,
    ) -> Result<&SavedAddress, AddressBookError> {
        let index = self.checked(id, None)?;
        if !self.addresses[index].is_default {
            self.clear_default(now);
            let address = &mut self.addresses[index];
            address.is_default = true;
            touch(address, now);
            self.version += 1;
        }
        Ok(&self.addresses[index])
    }

    fn checked(
        &self,
        id: &AddressId,
        if_match: Option<&IfMatch>,
    ) -> Result<usize, AddressBookError> {
        let index = self
            .addresses
            .iter()
            .position(|a| &a.id == id)
            .ok_or(AddressBookError::NotFound)?;
        if !met(if_match, self.addresses[index].version) {
            return Err(AddressBookError::PreconditionFailed);
        }
        Ok(index)
    }

    fn clear_default(&mut self, now: DateTime<Utc>) {
        for address in self.addresses.iter_mut().filter(|a| a.is_default) {
            address.is_default = false;
            touch(address, now);
        }
    }
}

fn touch(address: &mut SavedAddress, now: DateTime<Utc>) {
    address.version += 1;
    address.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSavedAddress {
        RawSavedAddress {
            name: " Asha Rao ".into(),
            phone: "98123 45678".into(),
            line1: "12, 4th Cross, Indiranagar".into(),
            line2: Some("  ".into()),
            landmark: Some("Near the metro".into()),
            city: "Bengaluru".into(),
            pincode: "560038".into(),
        }
    }

    fn details() -> AddressDetails {
        AddressDetails::parse(&raw(), PincodeDirectory::india_post()).expect("valid")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
    }

    fn book_of(n: usize) -> (SavedAddresses, Vec<AddressId>) {
        let mut book = SavedAddresses::empty(UserId::generate());
        let ids: Vec<AddressId> = (0..n).map(|_| AddressId::generate()).collect();
        for id in &ids {
            book.add(id.clone(), details(), false, 20, now(), None)
                .expect("room");
        }
        (book, ids)
    }

    fn defaults(book: &SavedAddresses) -> Vec<AddressId> {
        book.addresses
            .iter()
            .filter(|a| a.is_default)
            .map(|a| a.id.clone())
            .collect()
    }

    #[test]
    fn details_are_trimmed_and_take_district_and_state_from_the_pincode() {
        let d = details();
        assert_eq!(d.name, "Asha Rao");
        assert_eq!(d.phone.as_str(), "+919812345678");
        assert_eq!(d.line2, None);
        assert_eq!(d.locality.state, "Karnataka");
        assert_eq!(d.locality.state_code.to_string(), "29");
        assert_eq!(d.locality.district.as_deref(), Some("Bengaluru Urban"));
    }

    #[test]
    fn every_invalid_field_is_reported_and_an_unknown_pincode_by_name() {
        let bad = RawSavedAddress {
            name: " ".into(),
            phone: "12".into(),
            line1: "x".repeat(201),
            line2: Some("a\u{7}b".into()),
            city: String::new(),
            pincode: "999999".into(),
            ..raw()
        };
        let errors = AddressDetails::parse(&bad, PincodeDirectory::india_post()).unwrap_err();
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("name", "required"),
                ("phone", "invalid_phone"),
                ("line1", "too_long"),
                ("line2", "invalid_characters"),
                ("city", "required"),
                ("pincode", "unknown_pincode"),
            ]
        );
        let malformed = RawSavedAddress {
            pincode: "056003".into(),
            ..raw()
        };
        let errors = AddressDetails::parse(&malformed, PincodeDirectory::india_post()).unwrap_err();
        assert_eq!(errors[0].code, "invalid_pincode");
    }

    #[test]
    fn the_first_address_is_the_default_and_a_later_one_only_when_asked() {
        let (mut book, ids) = book_of(2);
        assert_eq!(defaults(&book), [ids[0].clone()]);
        let third = AddressId::generate();
        book.add(third.clone(), details(), true, 20, now(), None)
            .expect("room");
        assert_eq!(defaults(&book), [third]);
        assert_eq!(book.version, 3);
    }

    #[test]
    fn a_request_key_finds_the_address_it_saved_or_is_reused() {
        let key = |fingerprint: &str| RequestKey {
            id: "k1".into(),
            fingerprint: fingerprint.into(),
        };
        let (mut book, _) = book_of(1);
        let id = AddressId::generate();
        book.add(id.clone(), details(), false, 20, now(), Some(key("a")))
            .expect("room");
        assert_eq!(book.saved_by(&key("a")).unwrap().map(|a| &a.id), Some(&id));
        assert_eq!(
            book.saved_by(&key("b")).unwrap_err(),
            AddressBookError::KeyReused
        );
        let other = RequestKey {
            id: "k2".into(),
            fingerprint: "a".into(),
        };
        assert_eq!(book.saved_by(&other).unwrap(), None);
    }

    #[test]
    fn the_limit_refuses_one_more() {
        let (mut book, _) = book_of(3);
        let refused = book.add(AddressId::generate(), details(), false, 3, now(), None);
        assert_eq!(refused.unwrap_err(), AddressBookError::Full { limit: 3 });
        assert_eq!(book.addresses.len(), 3);
    }

    #[test]
    fn deleting_the_default_promotes_the_oldest_other() {
        let (mut book, ids) = book_of(3);
        book.make_default(&ids[1], now()).expect("exists");
        book.remove(&ids[1], None, now()).expect("exists");
        assert_eq!(defaults(&book), [ids[0].clone()]);
        book.remove(&ids[2], None, now()).expect("exists");
        assert_eq!(defaults(&book), [ids[0].clone()]);
        book.remove(&ids[0], None, now()).expect("exists");
        assert!(book.addresses.is_empty());
    }

    #[test]
    fn making_a_default_moves_the_flag_and_versions_what_changed() {
        let (mut book, ids) = book_of(2);
        let before = book.clone();
        book.make_default(&ids[1], now()).expect("exists");
        assert_eq!(defaults(&book), [ids[1].clone()]);
        assert_eq!(
            (book.addresses[0].version, book.addresses[1].version),
            (2, 2)
        );
        let again = book.clone();
        book.make_default(&ids[1], now()).expect("exists");
        assert_eq!(book, again, "already the default: unchanged");
        assert_ne!(before.version, book.version);
    }

    #[test]
    fn if_match_guards_replace_and_remove() {
        let (mut book, ids) = book_of(1);
        let stale = IfMatch::Versions(vec![7]);
        assert_eq!(
            book.replace(&ids[0], details(), Some(&stale), now())
                .unwrap_err(),
            AddressBookError::PreconditionFailed
        );
        let current = IfMatch::Versions(vec![1]);
        let replaced = book
            .replace(&ids[0], details(), Some(&current), now())
            .expect("ok");
        assert_eq!(replaced.version, 2);
        assert_eq!(
            book.remove(&ids[0], Some(&current), now()).unwrap_err(),
            AddressBookError::PreconditionFailed
        );
        assert_eq!(
            book.remove(&AddressId::generate(), None, now())
                .unwrap_err(),
            AddressBookError::NotFound
        );
    }
}
