//! `GET /users/me/data`: the customer's copy of their personal data (a DPDP Act right;
//! erasure is `DELETE /users/me`, beside the profile; `docs/privacy.md`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::preferences::PreferencesBody;
use super::sessions::SessionBody;
use super::UserBody;
use crate::app::privacy::Privacy;
use crate::error_set;
use crate::http::admin::audit::AuditEventBody;
use crate::http::contract::ApiTags;
use crate::http::orders::body::OrderBody;
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};

error_set!(
    /// Errors of downloading one's data.
    MyDataErrors: ANY, SIGNED_IN; NotFound
);

/// Everything Bazaar keeps about the caller, as JSON.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PersonalDataBody {
    pub exported_at: DateTime<Utc>,
    /// The profile.
    pub user: UserBody,
    /// Which notices the customer agreed to receive, and in which language.
    pub preferences: PreferencesBody,
    /// Signed-in devices, with the address each was last used from.
    pub sessions: Vec<SessionBody>,
    /// Every order, with its delivery address (Bazaar keeps addresses on orders).
    pub orders: Vec<OrderBody>,
    /// The audit trail of the account (sign-ins, changes), newest first.
    pub audit_events: Vec<AuditEventBody>,
}

impl Example for PersonalDataBody {
    fn example() -> Self {
        Self {
            exported_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
            user: UserBody::example(),
            preferences: PreferencesBody::example(),
            sessions: vec![SessionBody::example()],
            orders: vec![OrderBody::example()],
            audit_events: vec![AuditEventBody::example()],
        }
    }
}

#[derive(ApiResponse)]
pub enum MyDataResponse {
    /// The caller's data.
    #[oai(status = 200)]
    Ok(Json<PersonalDataBody>),
}

pub struct MyDataApi {
    pub privacy: Arc<Privacy>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyDataApi {
    /// Download my data
    ///
    /// Everything Bazaar keeps about the caller: profile, preferences (the
    /// notices they agreed to), sessions, orders with their addresses, and the
    /// audit trail of the account. The download is itself recorded in that
    /// trail (`data_exported`).
    #[oai(path = "/users/me/data", method = "get", operation_id = "exportMyData")]
    async fn export(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<MyDataResponse, Problems<MyDataErrors>> {
        let data = self.privacy.export(&auth.0, &context(req)).await?;
        let current = auth.0.session_id.as_str();
        Ok(MyDataResponse::Ok(Json(PersonalDataBody {
            exported_at: Utc::now(),
            user: (&data.user).into(),
            preferences: (&data.user.preferences).into(),
            sessions: data
                .sessions
                .iter()
                .map(|s| SessionBody::from_session(s, current))
                .collect(),
            orders: data.orders.iter().map(OrderBody::from).collect(),
            audit_events: data.audit.iter().map(AuditEventBody::from).collect(),
        })))
    }
}
