//! `/api/v1/auth`: sign-up, one-time passwords, sign-in, refresh and sign-out.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

use super::contract::ApiTags;
use super::idempotency::retry_of;
use super::json_body::{CheckedJsonBody, JsonBody};
use super::problem::Problems;
use super::security::{context, BearerAuth};
use super::users::{AcceptedResponse, NoContentResponse, UserBody, UserResponse};
use crate::app::identity::otp::OtpPurpose;
use crate::app::identity::{Identity, OtpOutcome, Tokens};
use crate::error_set;

error_set!(
    /// Errors of registering. A phone that is taken is not one of them: it gets
    /// the answer a new one would.
    RegisterErrors: 400, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of asking for a one-time password.
    idempotent OtpSendErrors: 400, 409, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of asking for a password reset code.
    ForgotErrors: 400, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of checking a one-time password.
    OtpVerifyErrors: 400, 403, 413, 415, 422, 423, 429, 500, 503
);
error_set!(
    /// Errors of signing in.
    LoginErrors: 400, 401, 403, 413, 415, 422, 423, 429, 500, 503
);
error_set!(
    /// Errors of refreshing.
    RefreshErrors: 400, 401, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of signing out.
    LogoutErrors: 400, 401, 429, 500, 503
);
error_set!(
    /// Errors of resetting a password.
    ResetErrors: 400, 404, 413, 415, 422, 429, 500, 503
);
error_set!(
    /// Errors of verifying an email.
    EmailVerifyErrors: 400, 404, 409, 413, 415, 422, 429, 500, 503
);

/// A new account. Unknown fields are refused (no `roles` here).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Mobile number; without a country code it is read as Indian.
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    #[oai(validator(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F<>]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000<>][^\u0000-\u001F\u007F-\u009F<>]*$"
    ))]
    pub name: String,
    /// 8–128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
    #[oai(
        skip_serializing_if_is_none,
        validator(
            max_length = 254,
            pattern = r"^([\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*|[^@\u0000-\u0020]+@[^@\u0000-\u0020]+\.[^@\u0000-\u0020]+)$"
        )
    )]
    pub email: Option<String>,
}

impl Example for RegisterRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            name: "Asha Rao".into(),
            password: "correct horse battery staple".into(),
            email: Some("asha@example.in".into()),
        }
    }
}

/// What a one-time password is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpPurposeBody {
    VerifyPhone,
    Login,
    ResetPassword,
}

/// What a code checked at `/auth/otp/verify` is for; reset codes are used by
/// `/auth/password/reset` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpVerifyPurpose {
    VerifyPhone,
    Login,
}

impl From<OtpVerifyPurpose> for OtpPurpose {
    fn from(p: OtpVerifyPurpose) -> Self {
        match p {
            OtpVerifyPurpose::VerifyPhone => Self::VerifyPhone,
            OtpVerifyPurpose::Login => Self::Login,
        }
    }
}

impl From<OtpPurposeBody> for OtpPurpose {
    fn from(p: OtpPurposeBody) -> Self {
        match p {
            OtpPurposeBody::VerifyPhone => Self::VerifyPhone,
            OtpPurposeBody::Login => Self::Login,
            OtpPurposeBody::ResetPassword => Self::ResetPassword,
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OtpSendRequest {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    pub purpose: OtpPurposeBody,
    /// `sms` (default) sends a new code; `voice` has the last code read out in
    /// a phone call, for when the SMS did not arrive.
    #[oai(skip_serializing_if_is_none)]
    pub channel: Option<OtpChannel>,
}

/// How a code reaches the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OtpChannel {
    Sms,
    Voice,
}

impl Example for OtpSendRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            purpose: OtpPurposeBody::Login,
            channel: None,
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct OtpVerifyRequest {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    /// `verify_phone` or `login` (reset codes go to `/auth/password/reset`).
    pub purpose: OtpVerifyPurpose,
    /// The six digits from the SMS.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
    /// A name for this device in the session list (login only).
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub device: Option<String>,
}

impl Example for OtpVerifyRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            purpose: OtpVerifyPurpose::Login,
            code: "042917".into(),
            device: Some("Pixel 8".into()),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Phone number or email address.
    #[oai(validator(max_length = 254))]
    pub identifier: String,
    #[oai(validator(max_length = 128))]
    pub password: String,
    /// A name for this device in the session list.
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    pub device: Option<String>,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            identifier: "+919812345678".into(),
            password: "correct horse battery staple".into(),
            device: Some("Chrome on Windows".into()),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 200))]
    pub refresh_token: String,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        Self {
            refresh_token: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f.Jx3…".into(),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    /// Phone number or email address; the code goes to the account's phone.
    #[oai(validator(max_length = 254))]
    pub identifier: String,
}

impl Example for ForgotRequest {
    fn example() -> Self {
        Self {
            identifier: "asha@example.in".into(),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[oai(validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$"))]
    pub phone: String,
    /// The six digits sent for `reset_password`.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub code: String,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub new_password: String,
}

impl Example for ResetRequest {
    fn example() -> Self {
        Self {
            phone: "+919812345678".into(),
            code: "042917".into(),
            new_password: "a new long passphrase".into(),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyRequest {
    /// The token from the verification email.
    #[oai(validator(max_length = 200))]
    pub token: String,
}

impl Example for EmailVerifyRequest {
    fn example() -> Self {
        Self {
            token: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
        }
    }
}

/// Tokens for a signed-in session.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
    /// Exchange at `POST /auth/refresh` for new tokens; each works once.
    pub refresh_token: String,
    pub session_id: String,
    pub user: UserBody,
}

impl Example for TokenPair {
    fn example() -> Self {
        Self {
            access_token:
                "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiI2NjUwYzBmZmVlIn0.c2lnbmF0dXJl"
                    .into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            expires_at: DateTime::from_timestamp(1_767_226_500, 0).unwrap_or_default(),
            refresh_token: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f.Jx3…".into(),
            session_id: "5f0c3d9a2b7e4c1d8a6f9e0b1c2d3e4f".into(),
            user: UserBody::example(),
        }
    }
}

/// The result of a correct code: the user, and tokens when the purpose was `login`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct OtpVerified {
    pub user: UserBody,
    #[oai(skip_serializing_if_is_none)]
    pub tokens: Option<TokenPair>,
}

impl Example for OtpVerified {
    fn example() -> Self {
        Self {
            user: UserBody::example(),
            tokens: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// Registered; a code to verify the phone was sent by SMS. A phone that
    /// already has an account gets this same answer and nothing is changed.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

#[derive(ApiResponse)]
pub enum TokensResponse {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<TokenPair>),
}

#[derive(ApiResponse)]
pub enum OtpSendResponse {
    /// Accepted: the message is on its way, if the number can use it.
    #[oai(
        status = 202,
        header(
            name = "Idempotent-Replayed",
            ty = "Option<bool>",
            description = "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`."
        )
    )]
    Accepted,
}

#[derive(ApiResponse)]
pub enum OtpVerifyResponse {
    /// The code was right.
    #[oai(status = 200)]
    Ok(Json<OtpVerified>),
}

fn token_pair(t: Tokens, ttl: std::time::Duration) -> TokenPair {
    TokenPair {
        access_token: t.access_token,
        token_type: "Bearer".into(),
        expires_in: ttl.as_secs(),
        expires_at: t.access_expires_at,
        refresh_token: t.refresh_token,
        session_id: t.session_id,
        user: (&t.user).into(),
    }
}

fn device(named: Option<&str>, req: &Request) -> String {
    named
        .map(str::to_owned)
        .unwrap_or_else(|| context(req).user_agent)
}

pub struct AuthApi {
    pub identity: Arc<Identity>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register
    ///
    /// Creates a customer account and sends a six-digit code to the phone;
    /// confirm it with `POST /auth/otp/verify` (`purpose: verify_phone`).
    /// Password sign-in works once the phone is verified (sign-in by code
    /// verifies it too). The answer is the same whether or not the phone is
    /// already registered, so it reveals nothing; an email is the account's
    /// only once verified. Counts in the `otp` rate-limit group.
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: JsonBody<RegisterRequest>,
        req: &Request,
    ) -> Result<RegisterResponse, Problems<RegisterErrors>> {
        let b = body.0;
        let user = self
            .identity
            .register(
                &b.phone,
                &b.name,
                &b.password,
                b.email.as_deref(),
                &context(req),
            )
            .await?;
        Ok(RegisterResponse::Created(Json((&user).into())))
    }

    /// Send a one-time password
    ///
    /// Answers 202 whether or not the number is registered, so it reveals
    /// nothing; a code is sent only where it can be used (`voice` reads out a
    /// code that is still valid, and calls no one otherwise). Codes last five
    /// minutes; a new one can be asked for after 30 seconds, five per hour.
    /// With an `Idempotency-Key`, sending the request again (after a timeout,
    /// say) answers the first answer instead of sending another code.
    #[oai(path = "/auth/otp/send", method = "post", operation_id = "sendOtp")]
    async fn send_otp(
        &self,
        body: JsonBody<OtpSendRequest>,
        // Applied by `http::idempotency` before this runs; declared for the contract.
        /// Makes retries safe: the same request with the same key is answered
        /// once and then replayed (`Idempotent-Replayed: true`), for 24 hours
        /// by default.
        /// 1–255 printable ASCII characters; a random UUID per code asked for.
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = "^[ -~]+$")
        )]
        _idempotency_key: Header<Option<String>>,
        req: &Request,
    ) -> Result<OtpSendResponse, Problems<OtpSendErrors>> {
        let by_voice = body.0.channel == Some(OtpChannel::Voice);
        let retry = retry_of(req);
        let found_earlier = self
            .identity
            .send_otp(
                &body.0.phone,
                body.0.purpose.into(),
                by_voice,
                retry.map(|r| &r.key),
            )
            .await?;
        if let (true, Some(retry)) = (found_earlier, retry) {
            retry.found_earlier();
        }
        Ok(OtpSendResponse::Accepted)
    }

    /// Check a one-time password
    ///
    /// `verify_phone` marks the phone verified; `login` also signs in and
    /// answers tokens (not while the account is locked: 423). Five wrong tries
    /// void the code; after ten wrong codes in an hour a phone's tries are
    /// refused (429) until the hour is over.
    #[oai(path = "/auth/otp/verify", method = "post", operation_id = "verifyOtp")]
    async fn verify_otp(
        &self,
        body: CheckedJsonBody<OtpVerifyRequest>,
        req: &Request,
    ) -> Result<OtpVerifyResponse, Problems<OtpVerifyErrors>> {
        let b = body.0;
        let device = device(b.device.as_deref(), req);
        let outcome = self
            .identity
            .verify_otp(&b.phone, b.purpose.into(), &b.code, &device, &context(req))
            .await?;
        let body = match outcome {
            OtpOutcome::PhoneVerified(user) => OtpVerified {
                user: (&*user).into(),
                tokens: None,
            },
            OtpOutcome::SignedIn(tokens) => {
                let pair = token_pair(*tokens, self.identity.access_token_ttl());
                OtpVerified {
                    user: pair.user.clone(),
                    tokens: Some(pair),
                }
            }
        };
        Ok(OtpVerifyResponse::Ok(Json(body)))
    }

    /// Sign in with a password
    ///
    /// Unknown accounts, wrong passwords and accounts whose phone is not yet
    /// verified get the same 401. Failures count on the account, however it
    /// is spelled: five from one address lock that address out of it (423)
    /// for 1, 2, 4… minutes; twenty from all addresses in an hour lock the
    /// account for everyone, sign-in by code included.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        body: CheckedJsonBody<LoginRequest>,
        req: &Request,
    ) -> Result<TokensResponse, Problems<LoginErrors>> {
        let b = body.0;
        let device = device(b.device.as_deref(), req);
        let tokens = self
            .identity
            .login(&b.identifier, &b.password, &device, &context(req))
            .await?;
        Ok(TokensResponse::Ok(Json(token_pair(
            tokens,
            self.identity.access_token_ttl(),
        ))))
    }

    /// Refresh tokens
    ///
    /// Each refresh token works once and is replaced. Using one twice ends
    /// the session (401 `refresh_token_reused`): it means the token was copied.
    #[oai(
        path = "/auth/refresh",
        method = "post",
        operation_id = "refreshTokens"
    )]
    async fn refresh(
        &self,
        body: CheckedJsonBody<RefreshRequest>,
        req: &Request,
    ) -> Result<TokensResponse, Problems<RefreshErrors>> {
        let tokens = self
            .identity
            .refresh(&body.0.refresh_token, &context(req))
            .await?;
        Ok(TokensResponse::Ok(Json(token_pair(
            tokens,
            self.identity.access_token_ttl(),
        ))))
    }

    /// Sign out
    ///
    /// Ends this session: its access token stops working at once.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<LogoutErrors>> {
        self.identity.logout(&auth.0, &context(req)).await?;
        Ok(NoContentResponse::Done)
    }

    /// Sign out everywhere
    #[oai(path = "/auth/logout-all", method = "post", operation_id = "logoutAll")]
    async fn logout_all(
        &self,
        auth: BearerAuth,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<LogoutErrors>> {
        self.identity.logout_all(&auth.0, &context(req)).await?;
        Ok(NoContentResponse::Done)
    }

    /// Forgot password
    ///
    /// Sends a `reset_password` code to the account's phone. Answers 202
    /// whether or not the account exists, with the same cooldown for every
    /// phone or email (an email is looked up only if verified).
    #[oai(
        path = "/auth/password/forgot",
        method = "post",
        operation_id = "forgotPassword"
    )]
    async fn forgot(
        &self,
        body: JsonBody<ForgotRequest>,
    ) -> Result<AcceptedResponse, Problems<ForgotErrors>> {
        self.identity.password_forgot(&body.0.identifier).await?;
        Ok(AcceptedResponse::Accepted)
    }

    /// Reset password
    ///
    /// Sets a new password with a `reset_password` code and ends every session.
    #[oai(
        path = "/auth/password/reset",
        method = "post",
        operation_id = "resetPassword"
    )]
    async fn reset(
        &self,
        body: JsonBody<ResetRequest>,
        req: &Request,
    ) -> Result<NoContentResponse, Problems<ResetErrors>> {
        let b = body.0;
        self.identity
            .password_reset(&b.phone, &b.code, &b.new_password, &context(req))
            .await?;
        Ok(NoContentResponse::Done)
    }

    /// Verify an email address
    ///
    /// 409 if another account verified the same address first.
    #[oai(
        path = "/auth/email/verify",
        method = "post",
        operation_id = "verifyEmail"
    )]
    async fn verify_email(
        &self,
        body: CheckedJsonBody<EmailVerifyRequest>,
        req: &Request,
    ) -> Result<UserResponse, Problems<EmailVerifyErrors>> {
        let user = self
            .identity
            .verify_email(&body.0.token, &context(req))
            .await?;
        Ok(UserResponse::Ok(Json((&user).into())))
    }
}
