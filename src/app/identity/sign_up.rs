//! Sign-up: registering a customer, and taking back what a sign-up set when its phone
//! turns out to be unproven.

use crate::app::errors::AppError;
use crate::app::identity::otp::OtpPurpose;
use crate::app::identity::{Identity, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::user::{Registration, Role, User, NO_PASSWORD};
use crate::store::StoreError;

impl Identity {
    /// Registers a customer, with or without a password, and sends a code to
    /// verify the phone. A phone that
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
        password: Option<&str>,
        email: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let reg =
            Registration::parse(phone, name, password, email).map_err(AppError::validation)?;
        let hash = match &reg.password {
            Some(password) => Some(self.hasher.hash(password).await?),
            None => None,
        };
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

    /// The account's phone was never proven, so what its sign-up set may be a
    /// stranger's who typed the number: the password becomes unusable (the
    /// owner sets one with a reset code), an unverified email goes, and so does
    /// every session.
    pub(super) async fn disown(
        &self,
        user: &User,
        kind: AuditKind,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let user = self
            .save(user, |u| {
                u.password_hash = NO_PASSWORD.to_owned();
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
}
