//! `/users/me/preferences`: how the caller wants to hear from Bazaar.

use std::sync::Arc;

use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::profile::etag;
use super::{MeReadErrors, MeUpdateErrors};
use crate::app::identity::Identity;
use crate::domain::user::Preferences;
use crate::http::conditional::{precondition, IfMatchHeader};
use crate::http::contract::ApiTags;
use crate::http::json_body::JsonBody;
use crate::http::params::Language;
use crate::http::problem::Problems;
use crate::http::security::BearerAuth;

/// How the user wants to hear from Bazaar.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// ISO 639-1: en, hi, bn, te, mr, ta, gu, kn, ml, pa, or.
    pub language: Language,
    /// Order notices by SMS (a payment receipt comes by SMS or email even with every channel
    /// off; codes always come by SMS).
    pub sms: bool,
    /// Order notices by email, once the address is verified.
    pub email: bool,
    /// Order notices on WhatsApp. Turning it on is the customer's opt-in, recorded with its
    /// time and source, as WhatsApp requires; turning it off withdraws it.
    pub whatsapp: bool,
    /// Offers and promotions, apart from order notices (which never depend on it). Off
    /// until the customer turns it on; turning it on records their consent with its time
    /// and source, off withdraws it. Left out of a request, it stays as it is; always in
    /// an answer.
    #[oai(skip_serializing_if_is_none)]
    pub marketing: Option<bool>,
}

impl From<&Preferences> for PreferencesBody {
    fn from(p: &Preferences) -> Self {
        Self {
            language: p.language.as_str().into(),
            sms: p.sms,
            email: p.email,
            whatsapp: p.whatsapp,
            marketing: Some(p.marketing_consent.is_some()),
        }
    }
}

impl Example for PreferencesBody {
    fn example() -> Self {
        (&Preferences::default()).into()
    }
}

#[derive(ApiResponse)]
pub enum PreferencesResponse {
    /// The preferences, with the profile's version tag (the one `If-Match` takes).
    #[oai(status = 200)]
    Ok(Json<PreferencesBody>, #[oai(header = "ETag")] String),
}

pub struct MyPreferencesApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyPreferencesApi {
    /// Get my preferences
    #[oai(
        path = "/users/me/preferences",
        method = "get",
        operation_id = "getMyPreferences"
    )]
    async fn get_preferences(
        &self,
        auth: BearerAuth,
    ) -> Result<PreferencesResponse, Problems<MeReadErrors>> {
        let user = self.identity.me(&auth.0).await?;
        Ok(PreferencesResponse::Ok(
            Json((&user.preferences).into()),
            etag(&user).into(),
        ))
    }

    /// Replace my preferences
    ///
    /// With `If-Match` (the profile's `ETag`), only at the version it names
    /// (412 otherwise).
    #[oai(
        path = "/users/me/preferences",
        method = "put",
        operation_id = "replaceMyPreferences"
    )]
    async fn put_preferences(
        &self,
        auth: BearerAuth,
        #[oai(name = "If-Match")] if_match: Header<Option<IfMatchHeader>>,
        body: JsonBody<PreferencesBody>,
    ) -> Result<PreferencesResponse, Problems<MeUpdateErrors>> {
        let b = body.0;
        let prefs = Preferences::parse(&b.language.0, b.sms, b.email, b.whatsapp)
            .map_err(crate::app::errors::AppError::validation)?;
        let precondition = precondition(if_match.0.as_ref());
        let user = self
            .identity
            .set_preferences(&auth.0, prefs, b.marketing, precondition.as_ref())
            .await?;
        Ok(PreferencesResponse::Ok(
            Json((&user.preferences).into()),
            etag(&user).into(),
        ))
    }
}
