//! `/auth/oidc/{provider}`: signing in with Google's (or another configured OpenID Connect
//! provider's) ID token, and creating the account once a phone is proven.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

use super::{device, token_pair, TokenPair};
use crate::app::identity::federated::{FederatedOutcome, PhoneProof};
use crate::app::identity::Identity;
use crate::error_set;
use crate::http::contract::ApiTags;
use crate::http::json_body::CheckedJsonBody;
use crate::http::problem::Problems;
use crate::http::security::context;
use crate::http::users::UserBody;

error_set!(
    /// Errors of signing in with a provider's ID token.
    OidcSignInErrors: ANY, BODY; InvalidIdToken, ProviderNotConfigured,
        IdentityProviderUnavailable, InvalidOtp, OtpAttemptsExceeded, Forbidden,
        AccountLocked, Conflict
);

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OidcSignInRequest {
    /// The provider's ID token (for Google, the `credential` Google Identity Services
    /// hands the page, or `idToken` from a mobile SDK).
    #[oai(validator(min_length = 1, max_length = 8192))]
    pub id_token: String,
    /// The nonce the client asked the provider to put in the token, if it did; the
    /// token's must then match.
    #[oai(skip_serializing_if_is_none, validator(max_length = 256))]
    pub nonce: Option<String>,
    // Described by its object (see `channel` of `OtpSendRequest`).
    #[oai(skip_serializing_if_is_none)]
    pub phone_proof: Option<PhoneProofBody>,
    /// A name for this device in the session list.
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub device: Option<String>,
}

/// When the first answer was `phone_required`: the phone a login code was sent to
/// (`POST /auth/otp/send`, `purpose: login`) and that code.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct PhoneProofBody {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    /// The six digits sent to `phone`.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
}

impl Example for OidcSignInRequest {
    fn example() -> Self {
        Self {
            id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjZmNzI1NDEwMWY1NmU0MWNmMzVjOTkyNmRlODRhMmQ1NTJiNGM2ZjEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20iLCJzdWIiOiIxMTA1NDk…".into(),
            nonce: None,
            phone_proof: Some(PhoneProofBody {
                phone: "+919812345678".into(),
                code: "042917".into(),
            }),
            device: Some("Chrome on Android".into()),
        }
    }
}

/// What the ID token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OidcOutcome {
    /// Signed in: `tokens` and `user` are set.
    SignedIn,
    /// No account has this provider account or its verified email. Send a login code to
    /// the customer's phone (`POST /auth/otp/send`, `purpose: login`), then post the same
    /// ID token again with `phone_proof` (the phone and its code).
    PhoneRequired,
}

/// The answer to an ID token.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct OidcSignIn {
    pub outcome: OidcOutcome,
    /// Set when `outcome` is `signed_in`.
    #[oai(skip_serializing_if_is_none)]
    pub tokens: Option<TokenPair>,
    /// Set when `outcome` is `signed_in`.
    #[oai(skip_serializing_if_is_none)]
    pub user: Option<UserBody>,
    /// The provider's verified email, when `outcome` is `phone_required` (to show while
    /// asking for the phone).
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
}

impl Example for OidcSignIn {
    fn example() -> Self {
        let tokens = TokenPair::example();
        Self {
            outcome: OidcOutcome::SignedIn,
            user: Some(tokens.user.clone()),
            tokens: Some(tokens),
            email: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum OidcSignInResponse {
    /// The token was valid: signed in, or a phone is needed first (see `outcome`).
    #[oai(status = 200)]
    Ok(Json<OidcSignIn>),
}

pub struct OidcApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl OidcApi {
    /// Sign in with Google (or another OpenID Connect provider)
    ///
    /// Posts the provider's ID token (`provider` is `google`, or a name configured in
    /// `BAZAAR_OIDC_PROVIDERS`). The token must verify against the provider's published
    /// keys, be for one of the app's client ids, be unexpired and carry an email the
    /// provider verified; otherwise 401 `invalid_id_token`, whose detail names the rule.
    /// A provider account already linked signs in; one whose verified email is an
    /// account's verified email is linked to it and signs in. Otherwise Bazaar, whose
    /// accounts are phone-first, answers `outcome: phone_required`: send a login code
    /// with `POST /auth/otp/send` and post the token again with `phone_proof` (the phone and its code); the
    /// phone's account is then linked, or a new one created (name and verified email from
    /// the token, no password), and signed in. Counts in the `auth` rate-limit group;
    /// codes are checked with the same budgets and lockouts as `POST /auth/otp/verify`.
    #[oai(
        path = "/auth/oidc/:provider",
        method = "post",
        operation_id = "signInWithIdToken"
    )]
    async fn sign_in_with_id_token(
        &self,
        /// `google`, or a provider configured in `BAZAAR_OIDC_PROVIDERS`.
        #[oai(validator(max_length = 32, pattern = "^[a-z0-9-]+$"))]
        provider: Path<String>,
        body: CheckedJsonBody<OidcSignInRequest>,
        req: &Request,
    ) -> Result<OidcSignInResponse, Problems<OidcSignInErrors>> {
        let b = body.0;
        let proof = b.phone_proof.as_ref().map(|p| PhoneProof {
            phone: &p.phone,
            code: &p.code,
        });
        let device = device(b.device.as_deref(), req);
        let outcome = self
            .identity
            .sign_in_with_id_token(
                &provider.0,
                &b.id_token,
                b.nonce.as_deref(),
                proof,
                &device,
                &context(req),
            )
            .await?;
        let body = match outcome {
            FederatedOutcome::SignedIn(tokens) => {
                let pair = token_pair(*tokens, self.identity.access_token_ttl());
                OidcSignIn {
                    outcome: OidcOutcome::SignedIn,
                    user: Some(pair.user.clone()),
                    tokens: Some(pair),
                    email: None,
                }
            }
            FederatedOutcome::PhoneRequired { email } => OidcSignIn {
                outcome: OidcOutcome::PhoneRequired,
                tokens: None,
                user: None,
                email: Some(email),
            },
        };
        Ok(OidcSignInResponse::Ok(Json(body)))
    }
}
