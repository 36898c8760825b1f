//! Resetting a forgotten password by an emailed link: `password/forgot` with an email
//! writes a single-use link to the outbox (for an account whose *verified* address it
//! is), and `password/reset` with the link's token sets the new password. A reset by
//! SMS code (`sign_in`) ends the same way ([`Identity::finish_reset`]).
//!
//! The token is 32 random bytes; the key-value store keeps only its SHA-256, for
//! [`RESET_LINK_TTL`], and a reset deletes it before anything else, so a link works
//! once even under concurrent requests. The outbox keeps the link in the notice's data
//! only until the notice is delivered or set aside (`NoticeKind::carries_secret`).

use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::otp::Recipient;
use crate::app::identity::sign_in::{subject, Identifier};
use crate::app::identity::{otp_error, Identity, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::outbox::Recipient as NoticeRecipient;
use crate::domain::outbox::{dedupe_key, Channel, NoticeKind, OutboxMessage};
use crate::domain::user::{Email, Password, User, UserId, UserStatus};

/// How long a reset link works.
pub const RESET_LINK_TTL: Duration = Duration::from_secs(30 * 60);

/// What a reset token's key holds: the account and the verified address the link went to.
/// A token asked for an address that names no account holds neither (see
/// [`Identity::email_reset_link`]): no link carries it, so it is never looked up.
#[derive(Serialize, Deserialize)]
struct ResetRecord {
    user_id: Option<String>,
    email: String,
}

fn token_key(token: &str) -> String {
    format!(
        "password_reset:{}",
        hex::encode(Sha256::digest(token.trim().as_bytes()))
    )
}

fn invalid_link() -> AppError {
    AppError::new(
        ErrorCode::InvalidOtp,
        "the reset link is invalid, was already used, or has expired; ask for a new one",
    )
}

/// How a password reset proves the account's owner: the SMS code sent to its phone, or
/// the token of the link sent to its verified email.
pub enum ResetProof<'a> {
    Code { phone: &'a str, code: &'a str },
    Link { token: &'a str },
}

impl Identity {
    /// Sets a new password with either proof (see [`ResetProof`]).
    pub async fn reset_password(
        &self,
        proof: ResetProof<'_>,
        new_password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        match proof {
            ResetProof::Code { phone, code } => {
                self.password_reset(phone, code, new_password, ctx).await
            }
            ResetProof::Link { token } => {
                self.password_reset_by_link(token, new_password, ctx).await
            }
        }
    }

    /// `password/forgot` with an email: the address's own budget is spent (every address
    /// alike, so a 429 tells nothing), a token is made and stored, and — only if the
    /// address is an account's verified email and the account is not disabled — the link
    /// is written to the outbox. An unverified address names no one.
    pub(super) async fn email_reset_link(&self, email: &Email) -> Result<(), AppError> {
        self.otp
            .allow_send(Recipient::Email {
                address: email.as_str(),
                purpose: "forgot",
            })
            .await
            .map_err(otp_error)?;
        let user = self
            .users
            .find_by_email(email)
            .await?
            .filter(|u| u.status != UserStatus::Disabled && u.email_verified);
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        // Stored for unknown addresses too, so that both do the same work up to the
        // outbox's write; such a record names no account and no link carries its token.
        let record = serde_json::to_vec(&ResetRecord {
            user_id: user.as_ref().map(|u| u.id.to_string()),
            email: email.as_str().to_owned(),
        })
        .map_err(|e| AppError::internal(e.into()))?;
        self.kv
            .set(&token_key(&token), &record, Some(RESET_LINK_TTL))
            .await?;
        let Some(user) = user else {
            return Ok(());
        };
        let mut data = serde_json::Map::new();
        data.insert("name".into(), user.name.as_str().into());
        data.insert(
            "link".into(),
            self.notifier.password_reset_link(&token).into(),
        );
        data.insert("token".into(), token.as_str().into());
        data.insert(
            "expires_in_minutes".into(),
            (RESET_LINK_TTL.as_secs() / 60).into(),
        );
        data.insert("language".into(), user.preferences.language.as_str().into());
        // One message per link: the key names the token's digest, never the token.
        let detail = &token_key(&token)["password_reset:".len()..];
        let message = OutboxMessage::new(
            NoticeKind::PasswordReset,
            NoticeRecipient::Email(email.clone()),
            data,
            dedupe_key(
                user.id.as_str(),
                NoticeKind::PasswordReset,
                Channel::Email,
                Some(detail),
            ),
            self.clock.now(),
        );
        self.outbox.enqueue(&[message]).await?;
        Ok(())
    }

    /// Sets a new password with a reset link's token: the token is deleted first (only
    /// the request that deletes it goes on), and must name an account whose verified
    /// email is still the address the link went to.
    async fn password_reset_by_link(
        &self,
        token: &str,
        new_password: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let password = Password::parse("new_password", new_password)
            .map_err(|e| AppError::validation(vec![e]))?;
        let key = token_key(token);
        let record = self.kv.get(&key).await?.ok_or_else(invalid_link)?;
        if !self.kv.delete(&key).await? {
            return Err(invalid_link());
        }
        let record: ResetRecord = serde_json::from_slice(&record).map_err(|_| invalid_link())?;
        let id = record
            .user_id
            .as_deref()
            .and_then(|id| UserId::parse(id).ok())
            .ok_or_else(invalid_link)?;
        let user = self.users.get(&id).await?.ok_or_else(invalid_link)?;
        let still_theirs = user.email_verified
            && user.email.as_ref().map(Email::as_str) == Some(record.email.as_str());
        if !still_theirs || user.status == UserStatus::Disabled {
            return Err(invalid_link());
        }
        let email = Email::parse("email", &record.email).map_err(|_| invalid_link())?;
        self.finish_reset(
            user,
            &password,
            &Identifier::Email(email),
            ctx,
            "by emailed link",
        )
        .await
    }

    /// What every reset does once its proof holds: the new password, the account
    /// unlocked, every session ended, the lock's count cleared, and an audit record.
    pub(super) async fn finish_reset(
        &self,
        user: User,
        password: &Password,
        named: &Identifier,
        ctx: &RequestContext,
        how: &str,
    ) -> Result<(), AppError> {
        let hash = self.hasher.hash(password).await?;
        let by_code = matches!(named, Identifier::Phone(_));
        let user = self
            .save(&user, |u| {
                if by_code {
                    if !u.phone_verified && !u.email_verified {
                        u.email = None;
                        u.pending_email = None;
                    }
                    u.phone_verified = true;
                }
                u.password_hash = hash;
                if u.status == UserStatus::Locked {
                    u.status = UserStatus::Active;
                }
            })
            .await?;
        self.sessions.revoke_all(user.id.as_str()).await?;
        // The guesses so far were at a password that is gone.
        self.lockout
            .reset(&subject(Some(&user), named, ctx))
            .await?;
        self.record(
            AuditKind::PasswordReset,
            Some(&user.id),
            None,
            ctx,
            format!("{how}; all sessions ended"),
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_is_a_digest_of_the_trimmed_token() {
        let key = token_key(" abc ");
        assert_eq!(key, token_key("abc"));
        assert!(!key.contains("abc"));
        assert_eq!(key.len(), "password_reset:".len() + 64);
    }
}
