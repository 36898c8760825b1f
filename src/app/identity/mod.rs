//! Identity use cases: sign-up, OTPs, sign-in, sessions, the user's own profile,
//! and the admin's view of users and the audit trail. Knows the domain and the
//! ports, not HTTP.
//!
//! The building blocks they combine: password hashing ([`passwords`]), access tokens
//! ([`tokens`]), sessions with rotating refresh tokens ([`sessions`]), one-time passwords
//! ([`otp`]), sign-in lockouts ([`lockout`]) and permissions ([`permissions`]).

pub mod lockout;
pub mod otp;
pub mod passwords;
pub mod permissions;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::lockout::{Lockout, LockoutError, Subject};
use crate::app::identity::otp::{OtpError, OtpPurpose, OtpService, Recipient, RequestClaim};
use crate::app::identity::passwords::PasswordHasher;
use crate::app::identity::sessions::{RefreshError, Session, Sessions};
use crate::app::identity::tokens::{AccessClaims, TokenIssuer};
use crate::app::notify::Notifier;
use crate::app::outbox::worker::without_address;
use crate::config::Settings;
use crate::domain::audit::{AuditEvent, AuditKind, AuditPage, AuditQuery, RawAuditQuery};
use crate::domain::request_key::RequestKey;
use crate::domain::time::SharedClock;
use crate::domain::user::{
    Email, Password, PersonName, Phone, Preferences, Registration, Role, User, UserId, UserStatus,
};
use crate::domain::user_query::{RawUserQuery, UserPage, UserQuery};
use crate::domain::validation::FieldError;
use crate::kv::KeyValueStore;
use crate::store::{AuditRepository, StoreError, UserRepository};

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
    pub fn can(&self, permission: &str) -> bool {
        permissions::allows(&self.roles, permission)
    }
}

/// What a successful sign-in or refresh hands the client.
pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub session_id: String,
    pub user: User,
}

pub enum OtpOutcome {
    PhoneVerified(Box<User>),
    SignedIn(Box<Tokens>),
}

/// Not a PHC string, so no password verifies against it.
const UNUSABLE_PASSWORD: &str = "!unusable";

const EMAIL_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

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
    clock: SharedClock,
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

/// What a sign-in names, in canonical form: a phone in E.164, a lower-cased
/// email, or (neither) the trimmed, lower-cased text, which names nobody, and
/// why it is neither.
enum Identifier {
    Phone(Phone),
    Email(Email),
    Unknown(String, FieldError),
}

impl Identifier {
    fn parse(raw: &str) -> Self {
        let text = raw.trim().to_lowercase();
        let parsed = if text.contains('@') {
            Email::parse("identifier", &text).map(Self::Email)
        } else {
            Phone::parse("identifier", &text).map(Self::Phone)
        };
        parsed.unwrap_or_else(|why| Self::Unknown(text, why))
    }

    /// The budget key of an identifier that names no account.
    fn account_key(&self) -> String {
        match self {
            Self::Phone(p) => format!("phone:{}", p.as_str()),
            Self::Email(e) => format!("email:{}", e.as_str()),
            Self::Unknown(text, _) => format!("unknown:{text}"),
        }
    }
}

/// Sign-in budgets belong to the account, however it was named; an identifier
/// that names no account has a budget of its own, so both fail alike.
fn subject(user: Option<&User>, named: &Identifier, ctx: &RequestContext) -> Subject {
    let account = match user {
        Some(u) => format!("user:{}", u.id),
        None => named.account_key(),
    };
    Subject::new(&account, &ctx.ip)
}

/// A provider's refusal of one message depends on the recipient (MSG91 will
/// not read out a code it did not send, DLT and number checks), so it would
/// tell registered numbers from unknown ones, which get nothing sent: it is
/// logged and answered as a success. A provider that is down or throttling
/// refuses everyone alike and is reported (503, retry).
/// Providers echo the number in their refusals, so it is taken out of the log.
fn unless_rejected(result: Result<(), AppError>, phone: &Phone) -> Result<(), AppError> {
    match result {
        Err(e) if is_rejection(&e) => {
            let (error, cause) = rejection_text(&e, phone);
            tracing::error!(%error, %cause, "the provider refused a message; answered as sent");
            Ok(())
        }
        other => other,
    }
}

/// A refusal and its cause as logged: without the recipient's number.
fn rejection_text(e: &AppError, phone: &Phone) -> (String, String) {
    let cause = e
        .source
        .as_ref()
        .map(|s| format!("{s:?}"))
        .unwrap_or_default();
    (
        without_address(&e.to_string(), phone.as_str()),
        without_address(&cause, phone.as_str()),
    )
}

fn is_rejection(e: &AppError) -> bool {
    e.code == ErrorCode::DeliveryFailed
        && e.source
            .as_ref()
            .and_then(|s| s.downcast_ref::<bazaar_adapters::error::AdapterError>())
            .is_some_and(|a| matches!(a, bazaar_adapters::error::AdapterError::Rejected { .. }))
}

fn invalid_credentials() -> AppError {
    AppError::new(
        ErrorCode::InvalidCredentials,
        "the phone or email and password do not match",
    )
}

fn user_not_found() -> AppError {
    AppError::not_found("user")
}

fn parse_user_id(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Serialize, Deserialize)]
struct EmailToken {
    user_id: String,
    email: String,
}

impl Identity {
    pub fn new(
        settings: &Settings,
        users: Arc<dyn UserRepository>,
        audit: Arc<dyn AuditRepository>,
        kv: Arc<dyn KeyValueStore>,
        notifier: Arc<Notifier>,
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
        })
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Records a security event. A failure to record is logged, not raised: the
    /// trail must not become a way to deny sign-ins.
    pub async fn record(
        &self,
        kind: AuditKind,
        user: Option<&UserId>,
        actor: Option<&UserId>,
        ctx: &RequestContext,
        detail: String,
    ) {
        let mut event = AuditEvent::new(kind, self.clock.now());
        event.user_id = user.map(ToString::to_string);
        event.actor_id = actor.map(ToString::to_string);
        event.request_id = ctx.request_id.clone();
        event.ip = ctx.ip.clone();
        event.user_agent = ctx.user_agent.chars().take(300).collect();
        event.detail = detail;
        if let Err(e) = self.audit.record(&event).await {
            tracing::error!(kind = kind.as_str(), error = %e, "could not record an audit event");
        }
    }

    async fn save(&self, current: &User, change: impl FnOnce(&mut User)) -> Result<User, AppError> {
        let next = current.revised(self.clock.now(), change);
        self.users.update(&next, current.version).await?;
        Ok(next)
    }

    /// The account's phone was never proven, so what its sign-up set may be a
    /// stranger's who typed the number: the password becomes unusable (the
    /// owner sets one with a reset code), an unverified email goes, and so does
    /// every session.
    async fn disown(
        &self,
        user: &User,
        kind: AuditKind,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let user = self
            .save(user, |u| {
                u.password_hash = UNUSABLE_PASSWORD.to_owned();
                if !u.email_verified {
                    u.email = None;
                }
            })
            .await?;
        let ended = self.sessions.revoke_all(user.id.as_str()).await?;
        self.record(
            kind,
            Some(&user.id),
            None,
            ctx,
            format!(
                "{} not yet proven: password cleared, unverified email dropped, {ended} sessions ended",
                user.phone.masked()
            ),
        )
        .await;
        Ok(user)
    }

    async fn user(&self, id: &UserId) -> Result<User, AppError> {
        self.users.get(id).await?.ok_or_else(user_not_found)
    }

    // ---- sign-up and OTPs ------------------------------------------------

    /// Registers a customer and sends a code to verify the phone. A phone that
    /// already has an account gets the same answer — the body a new account
    /// would have had, after the same work — and nothing of it is stored:
    /// password sign-in needs a verified phone, so the answer cannot be tested
    /// by signing in with the password just chosen either. The owner of an
    /// unverified account gets a new code, as a new account would, and that
    /// account loses its password and unverified email (see `disown`): the
    /// phone was named twice, so the first sign-up may have been a squatter's.
    pub async fn register(
        &self,
        phone: &str,
        name: &str,
        password: &str,
        email: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let reg =
            Registration::parse(phone, name, password, email).map_err(AppError::validation)?;
        let hash = self.hasher.hash(&reg.password).await?;
        let user = User::register(reg, hash, vec![Role::Customer], self.clock.now());
        match self.users.insert(&user).await {
            Ok(()) => {
                self.record(
                    AuditKind::Register,
                    Some(&user.id),
                    None,
                    ctx,
                    user.phone.masked(),
                )
                .await;
            }
            // Emails are unique only once verified, so only the phone can be taken.
            Err(StoreError::Duplicate { field: "phone" }) => {
                let existing = self.users.find_by_phone(&user.phone).await?;
                // Two sign-ups named a phone nobody has proven yet: neither one's
                // password may survive the proof, or whoever typed the number first
                // could sign in once its owner verifies it.
                if let Some(existing) = existing.as_ref().filter(|u| !u.phone_verified) {
                    self.disown(existing, AuditKind::Register, ctx).await?;
                }
                self.record(
                    AuditKind::Register,
                    existing.as_ref().map(|u| &u.id),
                    None,
                    ctx,
                    format!(
                        "{} is already registered: nothing stored",
                        user.phone.masked()
                    ),
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        }
        // A delivery failure does not undo the sign-up (the client can ask for
        // another code), and a spent budget does not refuse it.
        if let Err(e) = self
            .send_code(&user.phone, OtpPurpose::VerifyPhone, false)
            .await
        {
            tracing::warn!(error = %e, "sending the sign-up code failed");
        }
        Ok(user)
    }

    /// Sends a code if the phone may receive one for `purpose`; answers the
    /// same either way, so it cannot be used to learn who is registered.
    ///
    /// With a request key, a retry of a request whose answer was lost sends
    /// nothing more and answers true (found earlier).
    pub async fn send_otp(
        &self,
        phone: &str,
        purpose: OtpPurpose,
        by_voice: bool,
        request_key: Option<&RequestKey>,
    ) -> Result<bool, AppError> {
        let phone = Phone::parse("phone", phone).map_err(|e| AppError::validation(vec![e]))?;
        let Some(key) = request_key else {
            return self
                .send_code(&phone, purpose, by_voice)
                .await
                .map(|()| false);
        };
        match self.otp.claim_request(key).await.map_err(otp_error)? {
            RequestClaim::AlreadySent => return Ok(true),
            RequestClaim::Reused => return Err(crate::app::idempotency::key_reused()),
            RequestClaim::Claimed => {}
        }
        let sent = self.send_code(&phone, purpose, by_voice).await;
        if sent.is_err() {
            if let Err(e) = self.otp.release_request(key).await {
                tracing::warn!(error = ?e, "could not release an otp/send request key; its retry is answered as sent");
            }
        }
        sent.map(|()| false)
    }

    /// Spends the phone's sending budget (every phone alike), then sends a code
    /// (or has the live one read out) only where it can be used.
    async fn send_code(
        &self,
        phone: &Phone,
        purpose: OtpPurpose,
        by_voice: bool,
    ) -> Result<(), AppError> {
        self.otp
            .allow_send(Recipient::Phone(phone))
            .await
            .map_err(otp_error)?;
        let user = self.users.find_by_phone(phone).await?;
        self.deliver_code(user.as_ref(), phone, purpose, by_voice)
            .await
    }

    /// The sending budget is already spent; sends to `user`'s phone if eligible.
    async fn deliver_code(
        &self,
        user: Option<&User>,
        phone: &Phone,
        purpose: OtpPurpose,
        by_voice: bool,
    ) -> Result<(), AppError> {
        let eligible = match user {
            None => false,
            Some(u) if u.status == UserStatus::Disabled => false,
            Some(u) => purpose != OtpPurpose::VerifyPhone || !u.phone_verified,
        };
        if !eligible {
            return Ok(());
        }
        if by_voice {
            // MSG91 calls the phone and reads out the code it last sent; the
            // code and its attempts stay as they are. Only a code that still
            // works is worth a call (MSG91 refuses the rest).
            if self.otp.is_live(purpose, phone).await.map_err(otp_error)? {
                unless_rejected(self.notifier.retry_by_voice(phone.as_str()).await, phone)?;
            }
            return Ok(());
        }
        let code = self.otp.issue(purpose, phone).await.map_err(otp_error)?;
        unless_rejected(
            self.notifier
                .send_otp(phone.as_str(), &code, purpose.as_str())
                .await,
            phone,
        )
    }

    pub async fn verify_otp(
        &self,
        phone: &str,
        purpose: OtpPurpose,
        code: &str,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<OtpOutcome, AppError> {
        if purpose == OtpPurpose::ResetPassword {
            return Err(AppError::invalid_parameter(
                "purpose",
                "reset codes are used by POST /api/v1/auth/password/reset",
            ));
        }
        let phone = Phone::parse("phone", phone).map_err(|e| AppError::validation(vec![e]))?;
        let found = self.users.find_by_phone(&phone).await?;
        // A locked account cannot sign in by code either; the lock is checked
        // before the code, so a locked account's code is not spent.
        let signing_in = subject(found.as_ref(), &Identifier::Phone(phone.clone()), ctx);
        if purpose == OtpPurpose::Login {
            self.lockout
                .check(&signing_in)
                .await
                .map_err(lockout_error)?;
        }
        self.otp
            .verify(purpose, &phone, code, &ctx.ip)
            .await
            .map_err(otp_error)?;
        let user = found.ok_or_else(|| otp_error(OtpError::Invalid))?;
        match purpose {
            OtpPurpose::VerifyPhone => {
                let user = self.save(&user, |u| u.phone_verified = true).await?;
                self.record(
                    AuditKind::PhoneVerified,
                    Some(&user.id),
                    None,
                    ctx,
                    user.phone.masked(),
                )
                .await;
                Ok(OtpOutcome::PhoneVerified(Box::new(user)))
            }
            _ => {
                if user.status == UserStatus::Disabled {
                    return Err(AppError::new(
                        ErrorCode::Forbidden,
                        "this account is disabled",
                    ));
                }
                self.lockout.signed_in(&signing_in).await?;
                // Whoever first proves the phone owns the account from now on.
                let user = if user.phone_verified {
                    user
                } else {
                    self.disown(&user, AuditKind::PhoneVerified, ctx).await?
                };
                // The lock has run out (or it would have been refused above).
                let user = if !user.phone_verified || user.status == UserStatus::Locked {
                    self.save(&user, |u| {
                        u.phone_verified = true;
                        u.status = UserStatus::Active;
                    })
                    .await?
                } else {
                    user
                };
                let tokens = self.start_session(user, device, ctx).await?;
                Ok(OtpOutcome::SignedIn(Box::new(tokens)))
            }
        }
    }

    // ---- sign-in and sessions --------------------------------------------

    async fn start_session(
        &self,
        user: User,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<Tokens, AppError> {
        let now = self.clock.now();
        let (session, refresh_token) = self
            .sessions
            .create(user.id.as_str(), device, &ctx.ip, now)
            .await?;
        self.record(
            AuditKind::LoginSucceeded,
            Some(&user.id),
            None,
            ctx,
            format!("session {}", session.id),
        )
        .await;
        self.tokens_for(user, &session, refresh_token, now)
    }

    fn tokens_for(
        &self,
        user: User,
        session: &Session,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<Tokens, AppError> {
        let (access_token, access_expires_at) = self
            .tokens
            .issue(user.id.as_str(), &session.id, now)
            .map_err(AppError::internal)?;
        Ok(Tokens {
            access_token,
            access_expires_at,
            refresh_token,
            session_id: session.id.clone(),
            user,
        })
    }

    pub fn access_token_ttl(&self) -> Duration {
        self.tokens.ttl()
    }

    /// Signs in with phone or email and password. Unknown accounts, wrong
    /// passwords and accounts whose phone is not yet verified get the same
    /// answer after the same work. Failures are counted on the account however
    /// it is spelled (see `auth::lockout`): per client address, then for the
    /// account as a whole.
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<Tokens, AppError> {
        let named = Identifier::parse(identifier);
        let user = match &named {
            Identifier::Phone(phone) => self.users.find_by_phone(phone).await?,
            Identifier::Email(email) => self.users.find_by_email(email).await?,
            Identifier::Unknown(..) => None,
        };
        let attempt = self
            .lockout
            .begin(&subject(user.as_ref(), &named, ctx))
            .await
            .map_err(lockout_error)?;
        let matched = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let user = match user {
            // Until the phone is verified the account may belong to whoever
            // typed the number (see `register`): it signs in by code only.
            Some(user) if matched && user.phone_verified => user,
            other => {
                let locked = self.lockout.failed(attempt).await?;
                self.login_failed(other.as_ref(), locked, ctx).await?;
                return Err(invalid_credentials());
            }
        };
        self.lockout.succeeded(attempt).await?;
        if user.status == UserStatus::Disabled {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "this account is disabled",
            ));
        }
        // The lock has run out (or it would have been refused above).
        let user = if user.status == UserStatus::Locked {
            self.save(&user, |u| u.status = UserStatus::Active).await?
        } else {
            user
        };
        self.start_session(user, device, ctx).await
    }

    async fn login_failed(
        &self,
        user: Option<&User>,
        account_locked: Option<Duration>,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let id = user.map(|u| &u.id);
        self.record(AuditKind::LoginFailed, id, None, ctx, String::new())
            .await;
        let (Some(id), Some(lock)) = (id, account_locked) else {
            return Ok(());
        };
        // Shown to admins; the lock itself lives in the key-value store and
        // runs out by itself.
        if let Some(current) = self.users.get(id).await? {
            if current.status == UserStatus::Active {
                self.save(&current, |u| u.status = UserStatus::Locked)
                    .await?;
            }
        }
        self.record(
            AuditKind::AccountLocked,
            Some(id),
            None,
            ctx,
            format!("for {} s", lock.as_secs()),
        )
        .await;
        Ok(())
    }

    pub async fn refresh(
        &self,
        refresh_token: &str,
        ctx: &RequestContext,
    ) -> Result<Tokens, AppError> {
        let unauthorized = || {
            AppError::new(
                ErrorCode::Unauthorized,
                "the refresh token is invalid or expired; sign in again",
            )
        };
        let now = self.clock.now();
        match self.sessions.rotate(refresh_token, &ctx.ip, now).await {
            Ok((session, token)) => {
                let id = UserId::parse(&session.user_id).map_err(|_| unauthorized())?;
                let user = self.users.get(&id).await?.ok_or_else(unauthorized)?;
                if user.status == UserStatus::Disabled {
                    self.sessions.revoke(&session).await?;
                    return Err(unauthorized());
                }
                self.tokens_for(user, &session, token, now)
            }
            Err(RefreshError::Invalid) => Err(unauthorized()),
            Err(RefreshError::Reused(session)) => {
                let user = UserId::parse(&session.user_id).ok();
                self.record(
                    AuditKind::RefreshReused,
                    user.as_ref(),
                    None,
                    ctx,
                    format!("session {} revoked", session.id),
                )
                .await;
                Err(AppError::new(
                    ErrorCode::RefreshTokenReused,
                    "this refresh token was already used; the session has been ended for safety — sign in again",
                ))
            }
            Err(RefreshError::Store(e)) => Err(e.into()),
        }
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

    pub async fn logout(&self, who: &Principal, ctx: &RequestContext) -> Result<(), AppError> {
        if let Some(session) = self.sessions.get(&who.session_id).await? {
            self.sessions.revoke(&session).await?;
        }
        self.record(
            AuditKind::Logout,
            Some(&who.user_id),
            None,
            ctx,
            format!("session {}", who.session_id),
        )
        .await;
        Ok(())
    }

    pub async fn logout_all(
        &self,
        who: &Principal,
        ctx: &RequestContext,
    ) -> Result<usize, AppError> {
        let n = self.sessions.revoke_all(who.user_id.as_str()).await?;
        self.record(
            AuditKind::LogoutAll,
            Some(&who.user_id),
            None,
            ctx,
            format!("{n} sessions"),
        )
        .await;
        Ok(n)
    }

    pub async fn sessions(&self, who: &Principal) -> Result<Vec<Session>, AppError> {
        Ok(self.sessions.list(who.user_id.as_str()).await?)
    }

    /// Ends one of the caller's own sessions; anyone else's is "not found".
    pub async fn revoke_session(
        &self,
        who: &Principal,
        session_id: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let session = self
            .sessions
            .get(session_id)
            .await?
            .filter(|s| s.user_id == who.user_id.as_str())
            .ok_or_else(|| AppError::not_found("session"))?;
        self.sessions.revoke(&session).await?;
        self.record(
            AuditKind::SessionRevoked,
            Some(&who.user_id),
            None,
            ctx,
            format!("session {session_id}"),
        )
        .await;
        Ok(())
    }

    // ---- passwords and email ---------------------------------------------

    /// Sends a reset code to the account's phone; the same answer, and the same
    /// budget, for unknown accounts. Named by phone, the phone's budget is
    /// spent, as for `otp/send`. Named by email, the address's own budget is
    /// spent (every address alike) and the code goes to the account's phone
    /// only if that phone's budget allows it, quietly otherwise: a 429 there
    /// would tell a registered address from an unknown one.
    pub async fn password_forgot(&self, identifier: &str) -> Result<(), AppError> {
        match Identifier::parse(identifier) {
            Identifier::Phone(phone) => {
                self.send_code(&phone, OtpPurpose::ResetPassword, false)
                    .await
            }
            Identifier::Email(email) => {
                self.otp
                    .allow_send(Recipient::Email {
                        address: email.as_str(),
                        purpose: "forgot",
                    })
                    .await
                    .map_err(otp_error)?;
                let Some(user) = self.users.find_by_email(&email).await? else {
                    return Ok(());
                };
                match self.otp.allow_send(Recipient::Phone(&user.phone)).await {
                    Ok(()) => {
                        self.deliver_code(
                            Some(&user),
                            &user.phone,
                            OtpPurpose::ResetPassword,
                            false,
                        )
                        .await
                    }
                    Err(OtpError::Store(e)) => Err(e.into()),
                    Err(_) => Ok(()),
                }
            }
            Identifier::Unknown(_, why) => Err(AppError::validation(vec![why])),
        }
    }

    pub async fn password_reset(
        &self,
        phone: &str,
        code: &str,
        new_password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let phone = Phone::parse("phone", phone).map_err(|e| AppError::validation(vec![e]))?;
        let password = Password::parse("new_password", new_password)
            .map_err(|e| AppError::validation(vec![e]))?;
        self.otp
            .verify(OtpPurpose::ResetPassword, &phone, code, &ctx.ip)
            .await
            .map_err(otp_error)?;
        let user = self
            .users
            .find_by_phone(&phone)
            .await?
            .ok_or_else(|| otp_error(OtpError::Invalid))?;
        let hash = self.hasher.hash(&password).await?;
        let user = self
            .save(&user, |u| {
                if !u.phone_verified && !u.email_verified {
                    u.email = None;
                }
                u.password_hash = hash;
                u.phone_verified = true;
                if u.status == UserStatus::Locked {
                    u.status = UserStatus::Active;
                }
            })
            .await?;
        self.sessions.revoke_all(user.id.as_str()).await?;
        // The guesses so far were at a password that is gone.
        self.lockout
            .reset(&subject(Some(&user), &Identifier::Phone(phone), ctx))
            .await?;
        self.record(
            AuditKind::PasswordReset,
            Some(&user.id),
            None,
            ctx,
            "all sessions ended".into(),
        )
        .await;
        Ok(())
    }

    /// Emails a verification link to the profile's address, under a budget
    /// like codes': one link per cooldown per account and five an hour per
    /// address (whoever asks), else 429 with `Retry-After`.
    pub async fn request_email_verification(&self, who: &Principal) -> Result<(), AppError> {
        let user = self.user(&who.user_id).await?;
        let Some(email) = user.email.clone() else {
            return Err(AppError {
                errors: vec![FieldError::new(
                    "email",
                    "required",
                    "add an email to your profile first",
                )],
                ..AppError::new(ErrorCode::Conflict, "the account has no email to verify")
            });
        };
        if user.email_verified {
            return Ok(());
        }
        self.otp
            .allow_send_for(
                Recipient::Email {
                    address: email.as_str(),
                    purpose: "verify_email",
                },
                Recipient::Account(user.id.as_str()),
            )
            .await
            .map_err(otp_error)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let record = serde_json::to_vec(&EmailToken {
            user_id: user.id.to_string(),
            email: email.as_str().to_owned(),
        })
        .map_err(|e| AppError::internal(e.into()))?;
        self.kv
            .set(
                &format!("email_verify:{}", digest(&token)),
                &record,
                Some(EMAIL_TOKEN_TTL),
            )
            .await?;
        self.notifier
            .send_email_verification(email.as_str(), user.name.as_str(), &token)
            .await
    }

    /// Marks the address verified. Emails are unique among verified ones only
    /// (so that setting an address reveals nothing about who else has it): if
    /// another account verified it first, this one answers 409.
    pub async fn verify_email(&self, token: &str, ctx: &RequestContext) -> Result<User, AppError> {
        let invalid = || {
            AppError::new(
                ErrorCode::InvalidOtp,
                "the verification link is invalid or has expired",
            )
        };
        let key = format!("email_verify:{}", digest(token.trim()));
        let record = self.kv.get(&key).await?.ok_or_else(invalid)?;
        let record: EmailToken = serde_json::from_slice(&record).map_err(|_| invalid())?;
        let id = UserId::parse(&record.user_id).map_err(|_| invalid())?;
        let user = self.user(&id).await?;
        // A link for an address the user has since changed must not verify the new one.
        if user.email.as_ref().map(Email::as_str) != Some(record.email.as_str()) {
            return Err(invalid());
        }
        let user = self.save(&user, |u| u.email_verified = true).await?;
        self.kv.delete(&key).await?;
        self.record(
            AuditKind::EmailVerified,
            Some(&user.id),
            None,
            ctx,
            String::new(),
        )
        .await;
        Ok(user)
    }

    // ---- the caller's own profile ----------------------------------------

    pub async fn me(&self, who: &Principal) -> Result<User, AppError> {
        self.user(&who.user_id).await
    }

    /// Changes name and/or email; `Some(None)` removes the email. A new email is
    /// unverified.
    pub async fn update_me(
        &self,
        who: &Principal,
        name: Option<&str>,
        email: Option<Option<&str>>,
    ) -> Result<User, AppError> {
        let mut errors = crate::domain::validation::Collector::default();
        let name = name.and_then(|n| errors.take(PersonName::parse("name", n)));
        let email = match email {
            None => None,
            Some(None) => Some(None),
            Some(Some(e)) => errors.take(Email::parse("email", e)).map(Some),
        };
        if !errors.is_empty() {
            return Err(AppError::validation(errors.into_errors()));
        }
        let current = self.me(who).await?;
        self.save(&current, |u| {
            if let Some(name) = name {
                u.name = name;
            }
            if let Some(email) = email {
                if u.email != email {
                    u.email_verified = false;
                }
                u.email = email;
            }
        })
        .await
    }

    pub async fn set_preferences(
        &self,
        who: &Principal,
        prefs: Preferences,
    ) -> Result<User, AppError> {
        let current = self.me(who).await?;
        self.save(&current, |u| u.preferences = prefs).await
    }

    // ---- administration -----------------------------------------------------

    pub async fn list_users(&self, raw: &RawUserQuery) -> Result<(UserQuery, UserPage), AppError> {
        let query = UserQuery::parse(raw)?;
        let page = self.users.list(&query).await?;
        Ok((query, page))
    }

    pub async fn get_user(&self, id: &str) -> Result<User, AppError> {
        self.user(&parse_user_id(id)?).await
    }

    /// Replaces a user's roles. Requests read roles from the user record, and the
    /// user's sessions end as well, so the change holds at once on every replica,
    /// even one whose user cache has not yet heard of the write.
    pub async fn set_roles(
        &self,
        actor: &Principal,
        id: &str,
        roles: &[String],
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        let mut errors = crate::domain::validation::Collector::default();
        let mut parsed: Vec<Role> = roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| errors.take(Role::parse(&format!("roles[{i}]"), r)))
            .collect();
        if roles.is_empty() {
            errors.push(FieldError::new(
                "roles",
                "required",
                "give at least one role",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors.into_errors()));
        }
        parsed.sort();
        parsed.dedup();
        if actor.user_id == id && !parsed.contains(&Role::Admin) {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "admins cannot remove their own admin role",
            ));
        }
        let current = self.user(&id).await?;
        let before: Vec<&str> = current.roles.iter().map(|r| r.as_str()).collect();
        let detail = format!(
            "roles: {} → {}",
            before.join(","),
            parsed
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let user = self.save(&current, |u| u.roles = parsed).await?;
        self.sessions.revoke_all(user.id.as_str()).await?;
        self.record(
            AuditKind::RolesChanged,
            Some(&user.id),
            Some(&actor.user_id),
            ctx,
            detail,
        )
        .await;
        Ok(user)
    }

    pub async fn disable_user(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        if actor.user_id == id {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "admins cannot disable themselves",
            ));
        }
        let current = self.user(&id).await?;
        let user = self
            .save(&current, |u| u.status = UserStatus::Disabled)
            .await?;
        let ended = self.sessions.revoke_all(user.id.as_str()).await?;
        self.record(
            AuditKind::UserDisabled,
            Some(&user.id),
            Some(&actor.user_id),
            ctx,
            format!("{ended} sessions ended"),
        )
        .await;
        Ok(user)
    }

    pub async fn audit_events(
        &self,
        raw: &RawAuditQuery,
    ) -> Result<(AuditQuery, AuditPage), AppError> {
        let query = AuditQuery::parse(raw)?;
        let page = self.audit.list(&query).await?;
        Ok((query, page))
    }

    // ---- startup ------------------------------------------------------------

    /// Creates the configured admin (`BAZAAR_ADMIN_PHONE`) if no account has that phone.
    /// Never promotes: an existing account with the phone that is not an admin stays as
    /// it is, and startup says so in the log, because whoever registered the founder's
    /// number first would otherwise become admin with their own password. In
    /// development without a configured admin, creates a development admin and logs its
    /// password once.
    pub async fn bootstrap_admin(&self, settings: &Settings) -> anyhow::Result<()> {
        use secrecy::ExposeSecret;
        let (phone, password, generated) = match &settings.auth.admin {
            Some((phone, password)) => (phone.clone(), password.expose_secret().to_owned(), false),
            None if settings.env == crate::config::Environment::Development => {
                let mut bytes = [0u8; 12];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                ("+919999999999".to_owned(), hex::encode(bytes), true)
            }
            None => return Ok(()),
        };
        let phone = Phone::parse("admin_phone", &phone).map_err(|e| anyhow::anyhow!(e.message))?;
        if let Some(existing) = self
            .users
            .find_by_phone(&phone)
            .await
            .map_err(anyhow::Error::new)?
        {
            self.admin_phone_taken(&existing);
            return Ok(());
        }
        let password_parsed =
            Password::parse("admin_password", &password).map_err(|e| anyhow::anyhow!(e.message))?;
        let hash = self
            .hasher
            .hash(&password_parsed)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let reg = Registration {
            phone: phone.clone(),
            email: None,
            name: PersonName::parse("name", "Administrator")
                .map_err(|e| anyhow::anyhow!(e.message))?,
            password: password_parsed,
        };
        let mut admin = User::register(reg, hash, vec![Role::Admin], self.clock.now());
        admin.phone_verified = true;
        match self.users.insert(&admin).await {
            Ok(()) => {}
            // Someone took the phone since we looked: another replica creating the
            // admin, or a sign-up in between.
            Err(StoreError::Duplicate { .. }) => {
                if let Some(existing) = self
                    .users
                    .find_by_phone(&phone)
                    .await
                    .map_err(anyhow::Error::new)?
                {
                    self.admin_phone_taken(&existing);
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        if generated {
            tracing::warn!(
                phone = phone.as_str(),
                password = password.as_str(),
                "created a development admin; this password is shown only once (set BAZAAR_ADMIN_PHONE and BAZAAR_ADMIN_PASSWORD to choose your own)"
            );
        } else {
            tracing::info!(phone = %phone.masked(), "created the configured admin");
        }
        Ok(())
    }

    /// The admin phone belongs to `existing`: nothing to do if it is an admin; otherwise
    /// it is left alone, and the operator told how to proceed.
    fn admin_phone_taken(&self, existing: &User) {
        if existing.has_role(Role::Admin) {
            return;
        }
        tracing::warn!(
            phone = %existing.phone.masked(),
            user_id = %existing.id,
            "BAZAAR_ADMIN_PHONE belongs to an existing account that is not an admin; it was not promoted and no admin was created. Set BAZAAR_ADMIN_PHONE to a number no account has; that admin can grant roles to this account once its owner is confirmed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_logged_without_the_number() {
        let phone = Phone::parse("phone", "+919812345678").unwrap();
        let refusal = bazaar_adapters::error::AdapterError::Rejected {
            provider: "msg91",
            status: 200,
            message: "Invalid mobile 919812345678".into(),
        };
        let e = AppError {
            source: Some(refusal.into()),
            ..AppError::new(ErrorCode::DeliveryFailed, "could not send +919812345678")
        };
        assert!(is_rejection(&e));
        let (error, cause) = rejection_text(&e, &phone);
        assert!(!error.contains("9812345678"), "{error}");
        assert!(!cause.contains("9812345678"), "{cause}");
        assert!(cause.contains("Invalid mobile [recipient]"), "{cause}");
    }
}
