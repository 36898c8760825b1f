//! The signed-in owner setting or changing the account's password. Phone-first
//! accounts start without one; a password is a second way in, never required.

use std::time::Duration;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::sign_in::{subject, Identifier};
use crate::app::identity::{lockout_error, Identity, Principal, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::user::Password;
use crate::domain::validation::FieldError;

/// How recent a sign-in must be to set a first password without knowing one:
/// the code that signed in proved the phone moments ago, so a stolen access
/// token alone cannot add a lasting way in.
pub const FIRST_PASSWORD_WINDOW: Duration = Duration::from_secs(10 * 60);

fn current_password_mismatch() -> AppError {
    AppError::validation(vec![FieldError::new(
        "current_password",
        "mismatch",
        "is not the account's current password",
    )])
}

impl Identity {
    /// Sets the caller's password. An account that has one must name it in
    /// `current` (wrong guesses count towards the account's lockout, as at
    /// sign-in); one that has none may set it within [`FIRST_PASSWORD_WINDOW`]
    /// of signing in. Every other session ends; the caller's stays.
    pub async fn change_password(
        &self,
        who: &Principal,
        current: Option<&str>,
        new_password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let new_password = Password::parse("new_password", new_password)
            .map_err(|e| AppError::validation(vec![e]))?;
        let user = self.me(who).await?;
        if user.has_password() {
            let Some(current) = current else {
                return Err(AppError::validation(vec![FieldError::new(
                    "current_password",
                    "required",
                    "give the account's current password to change it",
                )]));
            };
            let attempt = self
                .lockout
                .begin(&subject(
                    Some(&user),
                    &Identifier::Phone(user.phone.clone()),
                    ctx,
                ))
                .await
                .map_err(lockout_error)?;
            if !self
                .hasher
                .verify(current, Some(user.password_hash.as_str()))
                .await?
            {
                self.lockout.failed(attempt).await?;
                return Err(current_password_mismatch());
            }
            self.lockout.succeeded(attempt).await?;
        } else {
            let session = self.sessions.get(&who.session_id).await?;
            let fresh = session.is_some_and(|s| {
                self.clock.now() - s.created_at
                    <= chrono::Duration::from_std(FIRST_PASSWORD_WINDOW).unwrap_or_default()
            });
            if !fresh {
                return Err(AppError::new(
                    ErrorCode::RecentSignInRequired,
                    "setting a first password needs a sign-in in the last 10 minutes: sign in by code again, then set it",
                ));
            }
        }
        let hash = self.hasher.hash(&new_password).await?;
        let had_password = user.has_password();
        let user = self.save(&user, |u| u.password_hash = hash).await?;
        let mut ended = 0;
        for session in self.sessions.list(user.id.as_str()).await? {
            if session.id != who.session_id {
                self.sessions.revoke(&session).await?;
                ended += 1;
            }
        }
        self.record(
            AuditKind::PasswordChanged,
            Some(&user.id),
            Some(&user.id),
            ctx,
            format!(
                "{}; {ended} other sessions ended",
                if had_password {
                    "changed"
                } else {
                    "first password set"
                }
            ),
        )
        .await;
        Ok(())
    }
}
