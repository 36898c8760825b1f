//! Identity use cases, one module per job: sign-up (`sign_up`), sign-in by code
//! ([`codes`]), sign-in with a password, sessions and password resets ([`sign_in`]),
//! resets by emailed link ([`password_reset`]), the user's own profile and its email
//! changes (`profile`), the admin's view of users (`admin`) and the
//! audit trail (`audit`). Knows the domain and the ports, not HTTP. This module holds
//! the [`Identity`] service they share and turns an access token into a [`Principal`].
//!
//! The building blocks they combine: password hashing ([`passwords`]), access tokens
//! ([`tokens`]), sessions with rotating refresh tokens ([`sessions`]), one-time passwords
//! ([`otp`]), sign-in lockouts ([`lockout`]) and permissions ([`permissions`]); sign-in
//! with Google or another OpenID Connect provider is [`federated`], over the ID-token
//! checks of [`id_tokens`].

pub mod lockout;
pub mod otp;
pub mod passwords;
pub mod permissions;

pub use permissions::Permission;
pub mod sessions;
pub mod tokens;

mod admin;
mod audit;
pub mod codes;
mod erasure;
pub mod federated;
pub mod id_tokens;
mod order_codes;
mod password_change;
pub mod password_reset;
mod profile;
pub mod sign_in;
mod sign_up;

use std::sync::Arc;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::id_tokens::OidcProviders;
use crate::app::identity::lockout::{Lockout, LockoutError};
use crate::app::identity::otp::{OtpError, OtpService};
use crate::app::identity::passwords::PasswordHasher;
use crate::app::identity::sessions::Sessions;
use crate::app::identity::tokens::{AccessClaims, TokenIssuer};
use crate::app::notify::Notifier;
use crate::config::Settings;
use crate::domain::precondition::{self, IfMatch};
use crate::domain::time::SharedClock;
use crate::domain::user::{Role, User, UserId, UserStatus};
use crate::kv::KeyValueStore;
use crate::store::{AuditRepository, OutboxRepository, UserRepository};

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub session_id: String,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        permissions::allows(&self.roles, permission)
    }
}

/// The identity use cases; each job's module adds its own `impl Identity`.
pub struct Identity {
    users: Arc<dyn UserRepository>,
    audit: Arc<dyn AuditRepository>,
    kv: Arc<dyn KeyValueStore>,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    sessions: Sessions,
    otp: OtpService,
    lockout: Lockout,
    notifier: Arc<Notifier>,
    /// Where account notices (reset links, email-change notices) are written.
    outbox: Arc<dyn OutboxRepository>,
    clock: SharedClock,
    /// The providers whose ID tokens sign in (none until [`Identity::with_oidc`]).
    oidc: Arc<OidcProviders>,
}

fn otp_error(e: OtpError) -> AppError {
    match e {
        OtpError::Cooldown(wait) => AppError::new(
            ErrorCode::RateLimited,
            "a code was sent to this number moments ago; wait before asking again",
        )
        .with_retry_after(wait.as_secs().max(1)),
        OtpError::Invalid => {
            AppError::new(ErrorCode::InvalidOtp, "the code is wrong or has expired")
        }
        OtpError::TooManyAttempts => AppError::new(
            ErrorCode::OtpAttemptsExceeded,
            "this code was tried too many times and no longer works; ask for a new one",
        ),
        OtpError::TooManyWrongCodes(wait) => AppError::new(
            ErrorCode::RateLimited,
            "too many wrong codes for this number; try again later",
        )
        .with_retry_after(wait.as_secs().max(1)),
        OtpError::HourlyCap(wait) => AppError::new(
            ErrorCode::RateLimited,
            "too many messages to this recipient; try again later",
        )
        .with_retry_after(wait.as_secs().max(1)),
        OtpError::Store(e) => e.into(),
    }
}

fn lockout_error(e: LockoutError) -> AppError {
    match e {
        LockoutError::Locked(wait) => AppError::new(
            ErrorCode::AccountLocked,
            "too many failed sign-ins; try again later",
        )
        .with_retry_after(wait.as_secs().max(1)),
        LockoutError::Store(e) => e.into(),
    }
}

fn user_not_found() -> AppError {
    AppError::not_found("user")
}

impl Identity {
    pub fn new(
        settings: &Settings,
        users: Arc<dyn UserRepository>,
        audit: Arc<dyn AuditRepository>,
        kv: Arc<dyn KeyValueStore>,
        notifier: Arc<Notifier>,
        outbox: Arc<dyn OutboxRepository>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            hasher: PasswordHasher::new(
                settings.auth.argon2_memory_kib,
                settings.auth.argon2_iterations,
            )?,
            tokens: TokenIssuer::new(
                &settings.auth.jwt_keys,
                &settings.auth.jwt_issuer,
                &settings.auth.jwt_audience,
                settings.auth.access_token_ttl,
            )?,
            sessions: Sessions::new(kv.clone(), settings.auth.refresh_token_ttl),
            otp: OtpService::new(
                kv.clone(),
                settings.auth.otp_secret.clone(),
                settings.auth.otp_cooldown,
                settings.server.idempotency_ttl,
            ),
            lockout: Lockout::new(kv.clone(), clock.clone()),
            clock,
            users,
            audit,
            kv,
            notifier,
            outbox,
            oidc: Arc::new(OidcProviders::default()),
        })
    }

    /// The same service, signing in with these OpenID Connect providers' ID tokens.
    pub fn with_oidc(mut self, providers: OidcProviders) -> Self {
        self.oidc = Arc::new(providers);
        self
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    async fn save(&self, current: &User, change: impl FnOnce(&mut User)) -> Result<User, AppError> {
        let next = current.revised(self.clock.now(), change);
        self.users.update(&next, current.version).await?;
        Ok(next)
    }

    /// Like `save`, under the client's `If-Match`: checked on `current`, and the
    /// write is conditional on `current.version`, so a change that lands in
    /// between is a 412 too, never overwritten.
    async fn save_if(
        &self,
        current: &User,
        if_match: Option<&IfMatch>,
        change: impl FnOnce(&mut User),
    ) -> Result<User, AppError> {
        if !precondition::met(if_match, current.version) {
            return Err(AppError::precondition_failed("user"));
        }
        match self.save(current, change).await {
            Err(e) if if_match.is_some() && e.code == ErrorCode::VersionConflict => {
                Err(AppError::precondition_failed("user"))
            }
            other => other,
        }
    }

    async fn user(&self, id: &UserId) -> Result<User, AppError> {
        self.users.get(id).await?.ok_or_else(user_not_found)
    }

    /// The caller behind an access token, if the token is valid and its session
    /// still exists.
    pub async fn authenticate(&self, access_token: &str) -> Result<Option<Principal>, AppError> {
        match self.verify_token(access_token) {
            Some(claims) => self.authenticate_claims(claims).await,
            None => Ok(None),
        }
    }

    /// Checks a token's signature, issuer, audience and expiry — not its session.
    pub fn verify_token(&self, access_token: &str) -> Option<AccessClaims> {
        self.tokens.verify(access_token, self.clock.now())
    }

    /// The caller behind already verified claims: their session must still exist and
    /// belong to `sub`, and the user must exist and not be disabled. What they may do
    /// comes from the user record (through the in-process user cache, so this costs no
    /// database read), never from the token, which a holder of the signing key could
    /// re-sign with any roles.
    pub async fn authenticate_claims(
        &self,
        claims: AccessClaims,
    ) -> Result<Option<Principal>, AppError> {
        let Some(session) = self.sessions.get(&claims.sid).await? else {
            return Ok(None);
        };
        if session.user_id != claims.sub {
            return Ok(None);
        }
        let Ok(user_id) = UserId::parse(&claims.sub) else {
            return Ok(None);
        };
        let Some(user) = self.users.get(&user_id).await? else {
            return Ok(None);
        };
        if user.status == UserStatus::Disabled {
            return Ok(None);
        }
        Ok(Some(Principal {
            user_id,
            session_id: claims.sid,
            roles: user.roles,
        }))
    }
}
