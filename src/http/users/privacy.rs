//! `GET /users/me/data`: the customer's copy of their personal data (a DPDP Act right;
//! erasure is `DELETE /users/me`, beside the profile; `docs/privacy.md`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::preferences::PreferencesBody;
use super::sessions::SessionBody;
use super::UserBody;
use crate::app::privacy::Privacy;
use crate::domain::user::Preferences;
use crate::error_set;
use crate::http::addresses::SavedAddressBody;
use crate::http::admin::audit::AuditEventBody;
use crate::http::contract::ApiTags;
use crate::http::orders::body::OrderBody;
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};

error_set!(
    /// Errors of downloading one's data.
    MyDataErrors: ANY, SIGNED_IN; NotFound
);

/// What a consent was given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Order notices on WhatsApp.
    Whatsapp,
    /// Offers and promotions.
    Marketing,
}

/// A consent the customer gave, and when and where.
#[derive(Debug, Clone, Object)]
pub struct ConsentBody {
    pub purpose: ConsentPurpose,
    pub given_at: DateTime<Utc>,
    /// Where it was given, e.g. `preferences_api`.
    pub source: String,
}

fn consents(p: &Preferences) -> Vec<ConsentBody> {
    [
        (ConsentPurpose::Whatsapp, &p.whatsapp_consent),
        (ConsentPurpose::Marketing, &p.marketing_consent),
    ]
    .into_iter()
    .filter_map(|(purpose, consent)| {
        consent.as_ref().map(|c| ConsentBody {
            purpose,
            given_at: c.at,
            source: c.source.clone(),
        })
    })
    .collect()
}

/// Everything Bazaar keeps about the caller, as JSON.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PersonalDataBody {
    pub exported_at: DateTime<Utc>,
    /// The profile.
    pub user: UserBody,
    /// Which notices the customer agreed to receive, and in which language.
    pub preferences: PreferencesBody,
    /// The consents in force (WhatsApp, marketing), with their time and source.
    pub consents: Vec<ConsentBody>,
    /// Signed-in devices, with the address each was last used from.
    pub sessions: Vec<SessionBody>,
    /// Every order, with its delivery address (Bazaar keeps addresses on orders).
    pub orders: Vec<OrderBody>,
    /// Saved addresses, oldest first.
    pub addresses: Vec<SavedAddressBody>,
    /// What is in their cart (erasure empties it).
    pub cart: Vec<CartItemExport>,
    /// The audit trail of the account (sign-ins, changes), newest first.
    pub audit_events: Vec<AuditEventBody>,
}

/// A line of the customer's cart, as kept.
#[derive(Debug, Clone, Object)]
pub struct CartItemExport {
    pub product_id: String,
    pub variant_id: String,
    pub quantity: u32,
    pub added_at: DateTime<chrono::Utc>,
}

impl Example for PersonalDataBody {
    fn example() -> Self {
        Self {
            exported_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
            user: UserBody::example(),
            preferences: PreferencesBody::example(),
            consents: vec![ConsentBody {
                purpose: ConsentPurpose::Whatsapp,
                given_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
                source: "preferences_api".into(),
            }],
            sessions: vec![SessionBody::example()],
            orders: vec![OrderBody::example()],
            addresses: vec![SavedAddressBody::example()],
            cart: vec![CartItemExport {
                product_id: "6650c0ffee0000000000b001".into(),
                variant_id: "6650c0ffee0000000000b001".into(),
                quantity: 2,
                added_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
            }],
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
    /// notices they agreed to), sessions, orders with their addresses, saved
    /// addresses, and the audit trail of the account. The download is itself recorded in that
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
            exported_at: data.at,
            user: (&data.user).into(),
            preferences: (&data.user.preferences).into(),
            consents: consents(&data.user.preferences),
            sessions: data
                .sessions
                .iter()
                .map(|s| SessionBody::from_session(s, current))
                .collect(),
            orders: data.orders.iter().map(OrderBody::from).collect(),
            addresses: data.addresses.iter().map(SavedAddressBody::from).collect(),
            cart: data
                .cart
                .iter()
                .flat_map(|c| &c.lines)
                .map(|l| CartItemExport {
                    product_id: l.product_id.to_string(),
                    variant_id: l.variant_id.to_string(),
                    quantity: l.quantity,
                    added_at: l.added_at,
                })
                .collect(),
            audit_events: data.audit.iter().map(AuditEventBody::from).collect(),
        })))
    }
}
