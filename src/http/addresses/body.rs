//! The address book's request and response bodies, with their contract examples.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;

use crate::domain::address::{RawSavedAddress, SavedAddress};
use crate::domain::pincode::{Locality, Pincode};

/// An address to save. District, state and GST state code are not sent: they come from
/// the pincode (India Post's directory).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields, rename = "SavedAddressInput")]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// Who receives deliveries there.
    #[oai(validator(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub name: String,
    /// Contact phone for delivery, an Indian mobile number.
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    /// House, building, street.
    #[oai(validator(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub line1: String,
    /// Area, locality; blank is the same as absent.
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    #[serde(default)]
    pub line2: Option<String>,
    /// A landmark for the courier; blank is the same as absent.
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    #[serde(default)]
    pub landmark: Option<String>,
    /// Town or city.
    #[oai(validator(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub city: String,
    /// Six digits, the first not 0. One India Post does not list answers 422
    /// `unknown_pincode` on `pincode`.
    #[oai(validator(pattern = "^[1-9][0-9]{5}$"))]
    pub pincode: String,
    /// `true` makes this the default address. The first address is the default
    /// anyway; `false` never takes the default away (make another one the default).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub is_default: Option<bool>,
}

impl AddressInput {
    pub(super) fn raw(&self) -> RawSavedAddress {
        RawSavedAddress {
            name: self.name.clone(),
            phone: self.phone.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            landmark: self.landmark.clone(),
            city: self.city.clone(),
            pincode: self.pincode.clone(),
        }
    }
}

impl Example for AddressInput {
    fn example() -> Self {
        Self {
            name: "Asha Rao".into(),
            phone: "+919812345678".into(),
            line1: "12, 4th Cross, HAL 2nd Stage".into(),
            line2: Some("Indiranagar".into()),
            landmark: Some("Near the metro station".into()),
            city: "Bengaluru".into(),
            pincode: "560038".into(),
            is_default: None,
        }
    }
}

/// A saved address.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "SavedAddress")]
pub struct SavedAddressBody {
    /// 24 hexadecimal characters; checkout takes it.
    pub id: String,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub line1: String,
    #[oai(skip_serializing_if_is_none)]
    pub line2: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub landmark: Option<String>,
    pub city: String,
    pub pincode: String,
    /// From the pincode; absent for the few pincodes India Post lists without one.
    #[oai(skip_serializing_if_is_none)]
    pub district: Option<String>,
    /// From the pincode: the state or union territory, as GST names it.
    pub state: String,
    /// From the pincode: the two-digit GST state code (the place of supply).
    pub state_code: String,
    /// Whether this is the default address; exactly one is.
    pub is_default: bool,
    /// Grows on every change (also when it gains or loses the default); the `ETag`.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&SavedAddress> for SavedAddressBody {
    fn from(a: &SavedAddress) -> Self {
        let d = &a.details;
        Self {
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
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl Example for SavedAddressBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        let input = AddressInput::example();
        Self {
            id: "6650c0ffee0000000000ad01".into(),
            name: input.name,
            phone: input.phone,
            line1: input.line1,
            line2: input.line2,
            landmark: input.landmark,
            city: input.city,
            pincode: input.pincode,
            district: Some("Bengaluru Urban".into()),
            state: "Karnataka".into(),
            state_code: "29".into(),
            is_default: true,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

/// The caller's saved addresses.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "SavedAddressList")]
pub struct SavedAddressListBody {
    /// Oldest first.
    pub items: Vec<SavedAddressBody>,
    /// How many addresses one customer may save.
    pub max_items: u32,
}

impl Example for SavedAddressListBody {
    fn example() -> Self {
        Self {
            items: vec![SavedAddressBody::example()],
            max_items: crate::domain::address::DEFAULT_MAX_ADDRESSES,
        }
    }
}

/// Where a pincode is, as India Post lists it.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "PincodeLocality")]
pub struct PincodeBody {
    pub pincode: String,
    /// Absent for the few pincodes India Post lists without one.
    #[oai(skip_serializing_if_is_none)]
    pub district: Option<String>,
    /// The state or union territory, as GST names it.
    pub state: String,
    /// The two-digit GST state code.
    pub state_code: String,
}

impl PincodeBody {
    pub(super) fn new(pincode: Pincode, locality: &Locality) -> Self {
        Self {
            pincode: pincode.to_string(),
            district: locality.district.clone(),
            state: locality.state.to_owned(),
            state_code: locality.state_code.to_string(),
        }
    }
}

impl Example for PincodeBody {
    fn example() -> Self {
        Self {
            pincode: "560038".into(),
            district: Some("Bengaluru Urban".into()),
            state: "Karnataka".into(),
            state_code: "29".into(),
        }
    }
}
