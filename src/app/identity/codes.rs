//! Sign-in by code: sending one-time codes (by SMS, or read out by voice) within their
//! budgets, and verifying them, which proves the phone or signs in — and, for a phone
//! with no account yet, signs up: Bazaar's accounts are phone-first, and a correct
//! sign-in code is all a new customer needs (with a name).

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::otp::{OtpError, OtpPurpose, Recipient, RequestClaim};
use crate::app::identity::sign_in::{subject, Identifier, Tokens};
use crate::app::identity::{lockout_error, otp_error, Identity, RequestContext};
use crate::app::outbox::worker::without_address;
use crate::domain::audit::AuditKind;
use crate::domain::request_key::RequestKey;
use crate::domain::user::{PersonName, Phone, Registration, Role, User, UserStatus};
use crate::domain::validation::FieldError;
use crate::store::StoreError;

/// What a verified code did: proved the phone, or signed in (`created` when
/// the code also made the account).
pub enum OtpOutcome {
    PhoneVerified(Box<User>),
    SignedIn { tokens: Box<Tokens>, created: bool },
}

/// A correct sign-in code for a phone with no account, without the name a new
/// account needs: the code stays valid for the retry that brings one.
fn name_required() -> AppError {
    AppError::validation(vec![FieldError::new(
        "name",
        "required",
        "this phone has no account yet: send the same code again with a name to create one",
    )])
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

impl Identity {
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
    pub(super) async fn send_code(
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
    pub(super) async fn deliver_code(
        &self,
        user: Option<&User>,
        phone: &Phone,
        purpose: OtpPurpose,
        by_voice: bool,
    ) -> Result<(), AppError> {
        let eligible = match user {
            // A sign-in code makes the account (phone-first sign-up).
            None => purpose == OtpPurpose::Login,
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

    /// Checks a code: `verify_phone` proves an account's phone; `login` signs
    /// in, and for a phone with no account creates one named `name` (without
    /// a name, the answer says one is needed and the code stays valid).
    pub async fn verify_otp(
        &self,
        phone: &str,
        purpose: OtpPurpose,
        code: &str,
        name: Option<&str>,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<OtpOutcome, AppError> {
        if purpose == OtpPurpose::ResetPassword {
            return Err(AppError::invalid_parameter(
                "purpose",
                "reset codes are used by POST /api/v1/auth/password/reset",
            ));
        }
        let mut errors = crate::domain::validation::Collector::default();
        let phone = errors.take(Phone::parse("phone", phone));
        // Checked for every phone alike, before the code: a bad name tells
        // nothing about whether the phone has an account.
        let name = match name {
            Some(n) => errors.take(PersonName::parse("name", n)).map(Some),
            None => Some(None),
        };
        let (Some(phone), Some(name)) = (phone, name) else {
            return Err(AppError::validation(errors.into_errors()));
        };
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
        let checked = self
            .otp
            .check(purpose, &phone, code, &ctx.ip)
            .await
            .map_err(otp_error)?;
        let (user, created) = match (found, purpose) {
            (Some(user), _) => {
                self.otp.consume(checked).await.map_err(otp_error)?;
                (user, false)
            }
            (None, OtpPurpose::Login) => {
                let Some(name) = name else {
                    self.otp.keep(checked).await.map_err(otp_error)?;
                    return Err(name_required());
                };
                self.otp.consume(checked).await.map_err(otp_error)?;
                self.sign_up_by_code(phone.clone(), name, ctx).await?
            }
            (None, _) => {
                // Never sent (verify_phone codes go to accounts only).
                self.otp.consume(checked).await.map_err(otp_error)?;
                return Err(otp_error(OtpError::Invalid));
            }
        };
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
                Ok(OtpOutcome::SignedIn {
                    tokens: Box::new(tokens),
                    created,
                })
            }
        }
    }

    /// Creates the account of a phone a sign-in code just proved: verified,
    /// without a password or email. If a sign-up took the phone in between,
    /// that account is the one signed in to (the code proves the phone, and
    /// signing in disowns what an unproven sign-up set).
    async fn sign_up_by_code(
        &self,
        phone: Phone,
        name: PersonName,
        ctx: &RequestContext,
    ) -> Result<(User, bool), AppError> {
        let reg = Registration {
            phone: phone.clone(),
            email: None,
            name,
            password: None,
        };
        let mut user = User::register(reg, None, vec![Role::Customer], self.clock.now());
        user.phone_verified = true;
        match self.users.insert(&user).await {
            Ok(()) => {
                self.record(
                    AuditKind::Register,
                    Some(&user.id),
                    None,
                    ctx,
                    format!("{} by sign-in code", user.phone.masked()),
                )
                .await;
                Ok((user, true))
            }
            Err(StoreError::Duplicate { field: "phone" }) => {
                let existing = self.users.find_by_phone(&phone).await?.ok_or_else(|| {
                    AppError::new(
                        ErrorCode::Conflict,
                        "the phone's account changed; try again",
                    )
                })?;
                Ok((existing, false))
            }
            Err(e) => Err(e.into()),
        }
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
