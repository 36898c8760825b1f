//! `POST /users/me/email/verify-request`: emailing the caller a link that proves their
//! profile's address.

use std::sync::Arc;

use poem_openapi::OpenApi;

use super::{AcceptedResponse, MeWriteErrors};
use crate::app::identity::Identity;
use crate::http::contract::ApiTags;
use crate::http::problem::Problems;
use crate::http::security::BearerAuth;

pub struct MyEmailApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl MyEmailApi {
    /// Send me an email verification link
    ///
    /// Sends a link (valid 24 hours) to the profile's email, or to its
    /// `pending_email` when a change waits for proof; follow it, or post its
    /// token to `POST /auth/email/verify`. One link per account per
    /// cooldown (`BAZAAR_OTP_COOLDOWN_SECS`) and five an hour per address,
    /// whoever asks; more is 429 with `Retry-After`.
    #[oai(
        path = "/users/me/email/verify-request",
        method = "post",
        operation_id = "requestEmailVerification"
    )]
    async fn request_email_verification(
        &self,
        auth: BearerAuth,
    ) -> Result<AcceptedResponse, Problems<MeWriteErrors>> {
        self.identity.request_email_verification(&auth.0).await?;
        Ok(AcceptedResponse::Accepted)
    }
}
