//! `/api/v1/users/me…`: the signed-in user's profile, preferences, email verification
//! and sessions. One `#[OpenApi]` struct per job, combined in [`UsersApi`] in the
//! contract's order. Also the user representation every identity endpoint answers with.

mod email;
mod password;
mod preferences;
mod privacy;
mod profile;
mod sessions;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object};

use crate::app::identity::Identity;
use crate::app::privacy::Privacy;
use crate::domain::user::{Role, User, UserStatus};
use crate::error_set;
use crate::http::wire::Wire;
use email::MyEmailApi;
use password::MyPasswordApi;
use preferences::MyPreferencesApi;
use privacy::MyDataApi;
use profile::MyProfileApi;
use sessions::MySessionsApi;
pub(crate) use sessions::SessionBody;

/// The `Users` tag's operations, in the contract's order.
pub type UsersApi = (
    MyProfileApi,
    MyPasswordApi,
    MyPreferencesApi,
    MyEmailApi,
    MySessionsApi,
    MyDataApi,
);

/// Every `/users/me…` operation, over one identity service.
pub fn api(identity: Arc<Identity>, privacy: Arc<Privacy>) -> UsersApi {
    (
        MyProfileApi {
            identity: identity.clone(),
            privacy: privacy.clone(),
        },
        MyPasswordApi {
            identity: identity.clone(),
        },
        MyPreferencesApi {
            identity: identity.clone(),
        },
        MyEmailApi {
            identity: identity.clone(),
        },
        MySessionsApi { identity },
        MyDataApi { privacy },
    )
}

error_set!(
    /// Errors of reading the caller's own resources.
    MeReadErrors: ANY, SIGNED_IN; NotFound
);
error_set!(
    /// Errors of changing the caller's own profile under an optional `If-Match`.
    MeUpdateErrors: ANY, SIGNED_IN, BODY; NotFound, Conflict, PreconditionFailed
);
error_set!(
    /// Errors of changing the caller's own resources.
    MeWriteErrors: ANY, SIGNED_IN, BODY; NotFound, Conflict, DeliveryFailed
);

/// A user. The password hash never leaves the service.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "User")]
pub struct UserBody {
    pub id: String,
    /// E.164, e.g. `+919812345678`.
    pub phone: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    pub name: String,
    /// `customer`, `catalog_manager`, `admin`.
    pub roles: Vec<Wire<Role>>,
    pub status: Wire<UserStatus>,
    pub phone_verified: bool,
    pub email_verified: bool,
    /// A new address waiting for its verification link to be followed; `email`
    /// stays the account's until then (a change of a verified address).
    #[oai(skip_serializing_if_is_none)]
    pub pending_email: Option<String>,
    /// Whether a password can sign in (phone-first accounts start without
    /// one; `PUT /users/me/password` sets it).
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            phone: u.phone.as_str().to_owned(),
            email: u.email.as_ref().map(|e| e.as_str().to_owned()),
            name: u.name.as_str().to_owned(),
            roles: u.roles.iter().copied().map(Wire).collect(),
            status: Wire(u.status),
            phone_verified: u.phone_verified,
            email_verified: u.email_verified,
            pending_email: u.pending_email.as_ref().map(|e| e.as_str().to_owned()),
            has_password: u.has_password(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

impl Example for UserBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        Self {
            id: "6650c0ffee0000000000beef".into(),
            phone: "+919812345678".into(),
            email: Some("asha@example.in".into()),
            name: "Asha Rao".into(),
            roles: vec![Wire(Role::Customer)],
            status: Wire(UserStatus::Active),
            phone_verified: true,
            email_verified: false,
            pending_email: None,
            has_password: true,
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }
}

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<UserBody>),
}

#[derive(ApiResponse)]
pub enum AcceptedResponse {
    /// Accepted: the message is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum NoContentResponse {
    /// Done.
    #[oai(status = 204)]
    Done,
}
