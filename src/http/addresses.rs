//! `/api/v1/users/me/addresses…` and `/api/v1/pincodes/{pincode}`: thin handlers over
//! the address book (`crate::app::addresses`). See `docs/storefront.md`, Addresses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::conditional::{precondition, ETag, IfMatchHeader};
use super::contract::ApiTags;
use super::id_param::IdParam;
use super::idempotency::IdempotencyKeyHeader;
use super::json_body::JsonBody;
use super::problem::Problems;
use super::security::BearerAuth;
use crate::app::addresses::AddressBook;
use crate::app::errors::AppError;
use crate::domain::address::{AddressId, RawSavedAddress, SavedAddress};
use crate::domain::pincode::{Locality, Pincode};
use crate::error_set;

error_set!(
    /// Errors of listing one's addresses.
    AddressListErrors: ANY, SIGNED_IN;
);
error_set!(
    /// Errors of saving a new address.
    CreateAddressErrors: ANY, SIGNED_IN, BODY; AddressBookFull, VersionConflict
);
error_set!(
    /// Errors of reading an address.
    AddressReadErrors: ANY, SIGNED_IN; NotFound
);
error_set!(
    /// Errors of replacing an address under an optional `If-Match`.
    ReplaceAddressErrors: ANY, SIGNED_IN, BODY; NotFound, PreconditionFailed, VersionConflict
);
error_set!(
    /// Errors of deleting an address under an optional `If-Match`.
    DeleteAddressErrors: ANY, SIGNED_IN; NotFound, PreconditionFailed, VersionConflict
);
error_set!(
    /// Errors of making an address the default.
    DefaultAddressErrors: ANY, SIGNED_IN; NotFound, VersionConflict
);
error_set!(
    /// Errors of looking a pincode up.
    PincodeErrors: ANY; NotFound
);

const BASE: &str = "/api/v1/users/me/addresses";

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
    fn raw(&self) -> RawSavedAddress {
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
            pincode: d.pincode.as_str(),
            district: d.locality.district.clone(),
            state: d.locality.state.to_owned(),
            state_code: d.locality.state_code.as_str(),
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
    fn new(pincode: Pincode, locality: &Locality) -> Self {
        Self {
            pincode: pincode.as_str(),
            district: locality.district.clone(),
            state: locality.state.to_owned(),
            state_code: locality.state_code.as_str(),
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

fn etag(address: &SavedAddress) -> String {
    ETag::of_version(address.version).into()
}

#[derive(ApiResponse)]
pub enum AddressListResponse {
    /// The caller's addresses.
    #[oai(status = 200)]
    Ok(Json<SavedAddressListBody>),
}

#[derive(ApiResponse)]
pub enum CreateAddressResponse {
    /// Saved.
    #[oai(status = 201)]
    Created(
        Json<SavedAddressBody>,
        /// URL of the new address.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum AddressResponse {
    /// The address.
    #[oai(status = 200)]
    Ok(Json<SavedAddressBody>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum DeleteAddressResponse {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum PincodeResponse {
    /// Where the pincode is.
    #[oai(status = 200)]
    Ok(Json<PincodeBody>),
}

/// The kind of a pincode in a path: six digits, the first not 0.
#[derive(Debug)]
pub struct PincodeParam;

impl super::id_param::IdKind for PincodeParam {
    const NAME: &'static str = "Pincode";
    const PATTERN: &'static str = "^[1-9][0-9]{5}$";
    const SHAPE: &'static str = "six digits, the first not 0";

    fn is_valid(raw: &str) -> bool {
        Pincode::parse("pincode", raw).is_ok()
    }
}

fn address_id(id: &IdParam<AddressId>) -> Result<AddressId, AppError> {
    AddressId::parse(id.checked("id")?).map_err(|why| AppError::invalid_parameter("id", why))
}

pub struct AddressesApi {
    pub addresses: Arc<AddressBook>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Addresses")]
impl AddressesApi {
    /// List my addresses
    ///
    /// The caller's saved addresses, oldest first; exactly one is the default
    /// whenever there is any.
    #[oai(
        path = "/users/me/addresses",
        method = "get",
        operation_id = "listMyAddresses"
    )]
    async fn list(
        &self,
        auth: BearerAuth,
    ) -> Result<AddressListResponse, Problems<AddressListErrors>> {
        let items = self.addresses.list(&auth.0.user_id).await?;
        Ok(AddressListResponse::Ok(Json(SavedAddressListBody {
            items: items.iter().map(Into::into).collect(),
            max_items: self.addresses.limit(),
        })))
    }

    /// Save an address
    ///
    /// Checks the pincode against India Post's directory and fills in district,
    /// state and GST state code from it (422 `unknown_pincode` on `pincode` when it
    /// is not listed). The first address is the default; `is_default: true` makes a
    /// later one the default. Beyond the limit (20 by default) answers 409
    /// `address_book_full`.
    #[oai(
        path = "/users/me/addresses",
        method = "post",
        operation_id = "createMyAddress"
    )]
    async fn create(
        &self,
        auth: BearerAuth,
        #[oai(name = "Idempotency-Key")] _idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<AddressInput>,
    ) -> Result<CreateAddressResponse, Problems<CreateAddressErrors>> {
        let input = body.0;
        let address = self
            .addresses
            .create(
                &auth.0.user_id,
                &input.raw(),
                input.is_default.unwrap_or(false),
            )
            .await?;
        Ok(CreateAddressResponse::Created(
            Json((&address).into()),
            format!("{BASE}/{}", address.id),
            etag(&address),
        ))
    }

    /// Get one of my addresses
    ///
    /// Someone else's address answers 404.
    #[oai(
        path = "/users/me/addresses/:id",
        method = "get",
        operation_id = "getMyAddress"
    )]
    async fn get(
        &self,
        auth: BearerAuth,
        /// Address id (24 hexadecimal characters).
        id: Path<IdParam<AddressId>>,
    ) -> Result<AddressResponse, Problems<AddressReadErrors>> {
        let address = self
            .addresses
            .get(&auth.0.user_id, &address_id(&id.0)?)
            .await?;
        Ok(AddressResponse::Ok(Json((&address).into()), etag(&address)))
    }

    /// Replace one of my addresses
    ///
    /// Sends the whole address again (district, state and state code follow the
    /// new pincode). It stays the default if it was; `is_default: true` makes it
    /// the default. With `If-Match`, only the version it names is changed (412
    /// otherwise).
    #[oai(
        path = "/users/me/addresses/:id",
        method = "put",
        operation_id = "replaceMyAddress"
    )]
    async fn replace(
        &self,
        auth: BearerAuth,
        /// Address id (24 hexadecimal characters).
        id: Path<IdParam<AddressId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<AddressInput>,
    ) -> Result<AddressResponse, Problems<ReplaceAddressErrors>> {
        let input = body.0;
        let address = self
            .addresses
            .replace(
                &auth.0.user_id,
                &address_id(&id.0)?,
                &input.raw(),
                input.is_default.unwrap_or(false),
                precondition(if_match.0.as_ref()).as_ref(),
            )
            .await?;
        Ok(AddressResponse::Ok(Json((&address).into()), etag(&address)))
    }

    /// Delete one of my addresses
    ///
    /// When it was the default, the oldest of the others becomes the default.
    /// With `If-Match`, only the version it names is deleted (412 otherwise).
    #[oai(
        path = "/users/me/addresses/:id",
        method = "delete",
        operation_id = "deleteMyAddress"
    )]
    async fn delete(
        &self,
        auth: BearerAuth,
        /// Address id (24 hexadecimal characters).
        id: Path<IdParam<AddressId>>,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
    ) -> Result<DeleteAddressResponse, Problems<DeleteAddressErrors>> {
        self.addresses
            .delete(
                &auth.0.user_id,
                &address_id(&id.0)?,
                precondition(if_match.0.as_ref()).as_ref(),
            )
            .await?;
        Ok(DeleteAddressResponse::Deleted)
    }

    /// Make an address my default
    ///
    /// The address that was the default no longer is. Doing it again changes
    /// nothing.
    #[oai(
        path = "/users/me/addresses/:id/default",
        method = "post",
        operation_id = "makeMyAddressDefault"
    )]
    async fn make_default(
        &self,
        auth: BearerAuth,
        /// Address id (24 hexadecimal characters).
        id: Path<IdParam<AddressId>>,
    ) -> Result<AddressResponse, Problems<DefaultAddressErrors>> {
        let address = self
            .addresses
            .make_default(&auth.0.user_id, &address_id(&id.0)?)
            .await?;
        Ok(AddressResponse::Ok(Json((&address).into()), etag(&address)))
    }

    /// Look up a pincode
    ///
    /// District, state and GST state code of a pincode, as India Post lists it, to
    /// fill in an address form. No sign-in needed. A pincode India Post does not
    /// list answers 404.
    #[oai(
        path = "/pincodes/:pincode",
        method = "get",
        operation_id = "getPincode"
    )]
    async fn pincode(
        &self,
        /// Six digits, the first not 0.
        pincode: Path<IdParam<PincodeParam>>,
    ) -> Result<PincodeResponse, Problems<PincodeErrors>> {
        let (pincode, locality) = self.addresses.locate(pincode.0.checked("pincode")?)?;
        Ok(PincodeResponse::Ok(Json(PincodeBody::new(
            pincode, &locality,
        ))))
    }
}
