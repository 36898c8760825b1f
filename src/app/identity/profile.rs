//! The caller's own profile: reading and changing it, preferences, and proving its
//! email address with an emailed link. A verified address is replaced only by one
//! proven the same way, and the old address is told (`email_changed`, through the
//! outbox).

use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::otp::Recipient;
use crate::app::identity::{otp_error, Identity, Principal, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::outbox::Recipient as NoticeRecipient;
use crate::domain::outbox::{dedupe_key, Channel, NoticeKind, OutboxMessage};
use crate::domain::precondition::IfMatch;
use crate::domain::user::{Consent, Email, PersonName, Preferences, User, UserId};
use crate::domain::validation::FieldError;

const EMAIL_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Serialize, Deserialize)]
struct EmailToken {
    user_id: String,
    email: String,
}

impl Identity {
    pub async fn me(&self, who: &Principal) -> Result<User, AppError> {
        self.user(&who.user_id).await
    }

    /// Changes name and/or email; `Some(None)` removes the email (and any
    /// change waiting for proof). A new email replaces an unverified or absent
    /// one at once, unverified; beside a verified one it is held as
    /// `pending_email`, and a verification link goes to it (if its budget
    /// allows: else `POST /users/me/email/verify-request` sends one later).
    /// With `if_match`, only the version it names is changed.
    pub async fn update_me(
        &self,
        who: &Principal,
        name: Option<&str>,
        email: Option<Option<&str>>,
        if_match: Option<&IfMatch>,
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
        let user = self
            .save_if(&current, if_match, |u| {
                if let Some(name) = name {
                    u.name = name;
                }
                if let Some(email) = email {
                    change_email(u, email);
                }
            })
            .await?;
        let newly_pending = user
            .pending_email
            .as_ref()
            .filter(|p| current.pending_email.as_ref() != Some(*p));
        if let Some(pending) = newly_pending {
            match self.send_verification_link(&user, pending).await {
                Ok(()) => {}
                // The change is saved; its link can be asked for again.
                Err(e) if e.code == ErrorCode::RateLimited => {
                    tracing::info!("no verification link for a pending email: its budget is spent");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(user)
    }

    /// Replaces the channel preferences, and marketing consent when `marketing`
    /// says (`None` leaves it); with `if_match`, only at the version it names.
    pub async fn set_preferences(
        &self,
        who: &Principal,
        prefs: Preferences,
        marketing: Option<bool>,
        if_match: Option<&IfMatch>,
    ) -> Result<User, AppError> {
        let current = self.me(who).await?;
        let now = self.clock.now();
        self.save_if(&current, if_match, |u| {
            u.preferences = u
                .preferences
                .replaced_by(prefs, now, Consent::PREFERENCES_API)
                .with_marketing(marketing, now, Consent::PREFERENCES_API);
        })
        .await
    }

    /// Emails a verification link to the profile's address (or to the new
    /// address of a change waiting for proof), under a budget like codes':
    /// one link per cooldown per account and five an hour per address
    /// (whoever asks), else 429 with `Retry-After`.
    pub async fn request_email_verification(&self, who: &Principal) -> Result<(), AppError> {
        let user = self.user(&who.user_id).await?;
        let to_prove = match (&user.pending_email, &user.email) {
            (Some(pending), _) => pending.clone(),
            (None, Some(email)) if !user.email_verified => email.clone(),
            (None, Some(_)) => return Ok(()),
            (None, None) => {
                return Err(AppError {
                    errors: vec![FieldError::new(
                        "email",
                        "required",
                        "add an email to your profile first",
                    )],
                    ..AppError::new(ErrorCode::Conflict, "the account has no email to verify")
                })
            }
        };
        self.send_verification_link(&user, &to_prove).await
    }

    /// Spends the budget of a link to `email` (see `request_email_verification`)
    /// and sends it, valid for 24 hours.
    async fn send_verification_link(&self, user: &User, email: &Email) -> Result<(), AppError> {
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

    /// Marks the address verified: the profile's own, or the new address of a
    /// change, which then replaces the old one; the old address is told through
    /// the outbox. Emails are unique among verified ones only (so that setting
    /// an address reveals nothing about who else has it): if another account
    /// verified it first, this one answers 409.
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
        let linked = Some(record.email.as_str());
        let (user, replaced) = if user.pending_email.as_ref().map(Email::as_str) == linked {
            let old = user.email.clone();
            let user = self
                .save(&user, |u| {
                    u.email = u.pending_email.take();
                    u.email_verified = true;
                })
                .await?;
            (user, old)
        } else if user.email.as_ref().map(Email::as_str) == linked {
            (self.save(&user, |u| u.email_verified = true).await?, None)
        } else {
            // A link for an address the user has since changed must not verify the new one.
            return Err(invalid());
        };
        self.kv.delete(&key).await?;
        let detail = match &replaced {
            Some(_) => "replaced the previous address".to_owned(),
            None => String::new(),
        };
        self.record(AuditKind::EmailVerified, Some(&user.id), None, ctx, detail)
            .await;
        if let Some(old) = replaced {
            // The change stands either way; a notice that could not be written is logged.
            if let Err(e) = self.tell_old_address(&user, old).await {
                tracing::error!(error = %e, user_id = %user.id, "could not write the email-changed notice");
            }
        }
        Ok(user)
    }

    /// Writes the `email_changed` notice to the address `user` had before: it
    /// names the new address only masked, and carries no link (one that undid the
    /// change would let whoever reads the old mailbox take the account back
    /// silently); it tells the reader to sign in by phone or contact support.
    async fn tell_old_address(&self, user: &User, old: Email) -> Result<(), AppError> {
        let new = user.email.as_ref().map(masked_email).unwrap_or_default();
        let mut data = serde_json::Map::new();
        data.insert("name".into(), user.name.as_str().into());
        data.insert("new_email".into(), new.into());
        data.insert("changed_at".into(), user.updated_at.to_rfc3339().into());
        data.insert("language".into(), user.preferences.language.as_str().into());
        let version = user.version.to_string();
        let message = OutboxMessage::new(
            NoticeKind::EmailChanged,
            NoticeRecipient::Email(old),
            data,
            dedupe_key(
                user.id.as_str(),
                NoticeKind::EmailChanged,
                Channel::Email,
                Some(&version),
            ),
            self.clock.now(),
        );
        self.outbox.enqueue(&[message]).await?;
        Ok(())
    }
}

/// The profile after setting its email to `email` (`None`: removing it). See
/// [`Identity::update_me`].
fn change_email(u: &mut User, email: Option<Email>) {
    match email {
        None => {
            u.email = None;
            u.email_verified = false;
            u.pending_email = None;
        }
        Some(email) if u.email.as_ref() == Some(&email) => {
            // Back to the address it has: a change waiting for proof is dropped.
            u.pending_email = None;
        }
        Some(email) if u.email_verified => u.pending_email = Some(email),
        Some(email) => {
            u.email = Some(email);
            u.email_verified = false;
            u.pending_email = None;
        }
    }
}

/// `a***@example.in`: enough for its owner to recognise, not enough to write to.
fn masked_email(email: &Email) -> String {
    let text = email.as_str();
    match text.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::{Registration, Role};

    fn user(email: Option<&str>, verified: bool) -> User {
        let reg = Registration::parse("+919812345678", "Asha", None, email).unwrap();
        let mut u = User::register(reg, None, vec![Role::Customer], chrono::Utc::now());
        u.email_verified = verified;
        u
    }

    fn email(text: &str) -> Email {
        Email::parse("email", text).unwrap()
    }

    #[test]
    fn a_verified_email_is_replaced_only_through_a_pending_one() {
        let mut u = user(Some("old@example.in"), true);
        change_email(&mut u, Some(email("new@example.in")));
        assert_eq!(u.email, Some(email("old@example.in")));
        assert!(u.email_verified);
        assert_eq!(u.pending_email, Some(email("new@example.in")));

        change_email(&mut u, Some(email("old@example.in")));
        assert_eq!(
            u.pending_email, None,
            "back to the old one drops the change"
        );

        change_email(&mut u, Some(email("new@example.in")));
        change_email(&mut u, None);
        assert_eq!((u.email.clone(), u.pending_email.clone()), (None, None));
        assert!(!u.email_verified);
    }

    #[test]
    fn an_unverified_or_absent_email_is_replaced_at_once() {
        for start in [None, Some("old@example.in")] {
            let mut u = user(start, false);
            change_email(&mut u, Some(email("new@example.in")));
            assert_eq!(u.email, Some(email("new@example.in")));
            assert!(!u.email_verified);
            assert_eq!(u.pending_email, None);
        }
    }

    #[test]
    fn a_masked_email_keeps_the_first_letter_and_the_domain() {
        assert_eq!(masked_email(&email("asha@example.in")), "a***@example.in");
    }
}
