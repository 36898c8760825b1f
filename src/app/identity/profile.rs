//! The caller's own profile: reading and changing it, preferences, and proving its
//! email address with an emailed link.

use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::otp::Recipient;
use crate::app::identity::{otp_error, Identity, Principal, RequestContext};
use crate::domain::audit::AuditKind;
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

    /// Changes name and/or email; `Some(None)` removes the email. A new email is
    /// unverified. With `if_match`, only the version it names is changed.
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
        self.save_if(&current, if_match, |u| {
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
}
