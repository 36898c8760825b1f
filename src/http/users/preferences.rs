//! `/users/me/preferences`: how the caller wants to hear from Bazaar.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::{MeReadErrors, MeWriteErrors};
use crate::app::identity::Identity;
use crate::domain::user::Preferences;
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
    pub sms: bool,
    pub email: bool,
    pub whatsapp: bool,
}

impl From<&Preferences> for PreferencesBody {
    fn from(p: &Preferences) -> Self {
        Self {
            language: p.language.as_str().into(),
            sms: p.sms,
            email: p.email,
            whatsapp: p.whatsapp,
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
    /// The preferences.
    #[oai(status = 200)]
    Ok(Json<PreferencesBody>),
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
        Ok(PreferencesResponse::Ok(Json((&user.preferences).into())))
    }

    /// Replace my preferences
    #[oai(
        path = "/users/me/preferences",
        method = "put",
        operation_id = "replaceMyPreferences"
    )]
    async fn put_preferences(
        &self,
        auth: BearerAuth,
        body: JsonBody<PreferencesBody>,
    ) -> Result<PreferencesResponse, Problems<MeWriteErrors>> {
        let b = body.0;
        let prefs = Preferences::parse(&b.language.0, b.sms, b.email, b.whatsapp)
            .map_err(crate::app::errors::AppError::validation)?;
        let user = self.identity.set_preferences(&auth.0, prefs).await?;
        Ok(PreferencesResponse::Ok(Json((&user.preferences).into())))
    }
}
