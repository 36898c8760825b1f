//! `/users/me/sessions`: the caller's signed-in devices, and ending one of them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{MeReadErrors, MeWriteErrors, NoContentResponse};
use crate::app::identity::sessions::Session;
use crate::app::identity::Identity;
use crate::http::contract::ApiTags;
use crate::http::id_param::{IdParam, SessionId};
use crate::http::problem::Problems;
use crate::http::security::{context, BearerAuth};

/// A signed-in device.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SessionBody {
    pub id: String,
    /// As the client named it at sign-in (or its user agent).
    pub device: String,
    /// The address it was last used from.
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl Example for SessionBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
        Self {
            id: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f".into(),
            device: "Pixel 8, Bazaar app 1.4".into(),
            ip: "203.0.113.7".into(),
            created_at: at,
            last_used_at: at,
            current: true,
        }
    }
}

impl SessionBody {
    /// `current` names the session of the caller's token.
    pub(crate) fn from_session(s: &Session, current: &str) -> Self {
        Self {
            id: s.id.clone(),
            device: s.device.clone(),
            ip: s.ip.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            current: s.id == current,
        }
    }
}

#[derive(ApiResponse)]
pub enum SessionsResponse {
    /// The caller's live sessions, most recently used first.
    #[oai(status = 200)]
    Ok(Json<Vec<SessionBody>>),
}

pub struct MySessionsApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MySessionsApi {
    /// List my sessions
    #[oai(
        path = "/users/me/sessions",
        method = "get",
        operation_id = "listMySessions"
    )]
    async fn list_sessions(
        &self,
        auth: BearerAuth,
    ) -> Result<SessionsResponse, Problems<MeReadErrors>> {
        let sessions = self.identity.sessions(&auth.0).await?;
        let current = auth.0.session_id.as_str();
        Ok(SessionsResponse::Ok(Json(
            sessions
                .iter()
                .map(|s| SessionBody::from_session(s, current))
                .collect(),
        )))
    }

    /// End one of my sessions
    ///
    /// Its access and refresh tokens stop working at once. Sessions of other
    /// users answer 404.
    #[oai(
        path = "/users/me/sessions/:id",
        method = "delete",
        operation_id = "deleteMySession"
    )]
    async fn delete_session(
        &self,
        auth: BearerAuth,
        /// Session id (`id` in the session list).
        id: Path<IdParam<SessionId>>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<MeWriteErrors>> {
        self.identity
            .revoke_session(&auth.0, id.0.checked("id")?, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }
}
