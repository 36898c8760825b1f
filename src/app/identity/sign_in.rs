//! Sign-in with a password (failures count towards lockouts), the sessions it starts
//! and their tokens, and resetting a forgotten password with a code.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::lockout::Subject;
use crate::app::identity::otp::{OtpError, OtpPurpose};
use crate::app::identity::sessions::{RefreshError, Session};
use crate::app::identity::{lockout_error, otp_error, Identity, Principal, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::user::{Email, Password, Phone, User, UserId, UserStatus};
use crate::domain::validation::FieldError;

/// What a successful sign-in or refresh hands the client.
pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub session_id: String,
    pub user: User,
}

/// What a sign-in names, in canonical form: a phone in E.164, a lower-cased
/// email, or (neither) the trimmed, lower-cased text, which names nobody, and
/// why it is neither.
pub(super) enum Identifier {
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
pub(super) fn subject(user: Option<&User>, named: &Identifier, ctx: &RequestContext) -> Subject {
    let account = match user {
        Some(u) => format!("user:{}", u.id),
        None => named.account_key(),
    };
    Subject::new(&account, &ctx.ip)
}

fn invalid_credentials() -> AppError {
    AppError::new(
        ErrorCode::InvalidCredentials,
        "the phone or email and password do not match",
    )
}

impl Identity {
    pub(super) async fn start_session(
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
    /// it is spelled (see `lockout`): per client address, then for the
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

    /// Starts a password reset; the same answer, and the same budget, for
    /// unknown accounts. Named by phone, the phone's budget is spent, as for
    /// `otp/send`, and a reset code goes to it. Named by email, the address's
    /// own budget is spent (every address alike) and a single-use link is
    /// emailed through the outbox if it is an account's verified address
    /// (`password_reset`).
    pub async fn password_forgot(&self, identifier: &str) -> Result<(), AppError> {
        match Identifier::parse(identifier) {
            Identifier::Phone(phone) => {
                self.send_code(&phone, OtpPurpose::ResetPassword, false)
                    .await
            }
            Identifier::Email(email) => self.email_reset_link(&email).await,
            Identifier::Unknown(_, why) => Err(AppError::validation(vec![why])),
        }
    }

    /// Sets a new password with a `reset_password` code sent to `phone`.
    pub(super) async fn password_reset(
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
        self.finish_reset(
            user,
            &password,
            &Identifier::Phone(phone),
            ctx,
            "by SMS code",
        )
        .await
    }
}
