//! `/api/v1/users/me/addresses…` and `/api/v1/pincodes/{pincode}`: thin handlers over
//! the address book (`crate::app::addresses`). See `docs/storefront.md`, Addresses.

use std::sync::Arc;

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use crate::app::addresses::{AddressBook, Created};
use crate::app::errors::AppError;
use crate::domain::address::{AddressId, SavedAddress};
use crate::domain::pincode::Pincode;
use crate::error_set;
use crate::http::conditional::{precondition, ETag, IfMatchHeader};
use crate::http::contract::ApiTags;
use crate::http::id_param::IdParam;
use crate::http::idempotency::IdempotencyKeyHeader;
use crate::http::json_body::JsonBody;
use crate::http::problem::Problems;
use crate::http::security::BearerAuth;

mod body;

pub use body::{AddressInput, PincodeBody, SavedAddressBody, SavedAddressListBody};

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

impl crate::http::id_param::IdKind for PincodeParam {
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
        #[oai(name = "Idempotency-Key")] idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<AddressInput>,
    ) -> Result<CreateAddressResponse, Problems<CreateAddressErrors>> {
        let input = body.0;
        let retry = idempotency_key.retry();
        let created = self
            .addresses
            .create(
                &auth.0.user_id,
                &input.raw(),
                input.is_default.unwrap_or(false),
                retry.map(|r| &r.key),
            )
            .await?;
        if let (Created::Found(_), Some(retry)) = (&created, retry) {
            retry.found_earlier();
        }
        let address = created.address();
        Ok(CreateAddressResponse::Created(
            Json(address.into()),
            format!("{BASE}/{}", address.id),
            etag(address),
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
