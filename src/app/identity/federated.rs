//! Sign-in with Google (or another configured OpenID Connect provider): the client posts
//! the provider's ID token; once it verifies (see [`id_tokens`](super::id_tokens)), the
//! account rules decide, in order:
//!
//! 1. the provider account `(issuer, sub)` is linked to a user: that user signs in;
//! 2. the token's email (verified by the provider) is a user's *verified* email: the
//!    provider account is linked to that user, who signs in (never through an unverified
//!    address on either side);
//! 3. otherwise the account is phone-first, so a phone is needed: without `phone` and
//!    `code` the answer says so; with a login code for that phone (sent by
//!    `POST /auth/otp/send`, checked by the OTP service with its budgets), the phone's
//!    account is linked (proof of both), or a new one is created, and signs in.
//!
//! Disabled accounts are refused as at password sign-in, locked ones as at sign-in by code.

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::id_tokens::VerifiedIdToken;
use crate::app::identity::otp::OtpPurpose;
use crate::app::identity::sign_in::{subject, Identifier, Tokens};
use crate::app::identity::{lockout_error, otp_error, Identity, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::user::{Email, LinkedIdentity, PersonName, Phone, User, UserStatus};

/// What a provider's ID token did.
pub enum FederatedOutcome {
    SignedIn(Box<Tokens>),
    /// No account has this provider account or its email: prove a phone first.
    PhoneRequired {
        /// The provider's verified email, for the client to show.
        email: String,
    },
}

/// A phone and the login code sent to it.
pub struct PhoneProof<'a> {
    pub phone: &'a str,
    pub code: &'a str,
}

fn disabled() -> AppError {
    AppError::new(ErrorCode::Forbidden, "this account is disabled")
}

fn linked_elsewhere(provider: &str) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("this account is already linked to another {provider} account"),
    )
}

/// A name for a new account: the token's `name`, else its `given_name`, else the
/// email's local part, else "Customer" (changeable in the profile).
fn account_name(token: &VerifiedIdToken) -> PersonName {
    let local = token.email.split('@').next().map(str::to_owned);
    [token.name.clone(), token.given_name.clone(), local]
        .into_iter()
        .flatten()
        .find_map(|n| PersonName::parse("name", &n).ok())
        .unwrap_or_else(|| PersonName::trusted("Customer".into()))
}

impl Identity {
    /// Signs in with `provider`'s ID token by the rules in this module's documentation.
    pub async fn sign_in_with_id_token(
        &self,
        provider: &str,
        id_token: &str,
        nonce: Option<&str>,
        proof: Option<PhoneProof<'_>>,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<FederatedOutcome, AppError> {
        let provider = self.oidc.get(provider)?;
        let token = provider.verify(id_token, nonce, self.clock.now()).await?;
        let email = Email::parse("id_token", &token.email).map_err(|_| {
            AppError::new(
                ErrorCode::InvalidIdToken,
                "the ID token's email is not a usable address",
            )
        })?;
        let name = provider.name().to_owned();

        if let Some(user) = self
            .users
            .find_by_identity(&token.issuer, &token.subject)
            .await?
        {
            let user = self.admit(user, ctx).await?;
            return self.signed_in(user, device, ctx).await;
        }

        if let Some(user) = self.users.find_by_email(&email).await? {
            if user.identity_at(&token.issuer).is_some() {
                return Err(linked_elsewhere(&name));
            }
            let user = self.admit(user, ctx).await?;
            let user = self
                .link(&user, &token, &name, "verified email", ctx)
                .await?;
            return self.signed_in(user, device, ctx).await;
        }

        let Some(proof) = proof else {
            return Ok(FederatedOutcome::PhoneRequired {
                email: email.as_str().to_owned(),
            });
        };
        let phone =
            Phone::parse("phone", proof.phone).map_err(|e| AppError::validation(vec![e]))?;
        let found = self.users.find_by_phone(&phone).await?;
        // As at sign-in by code: a locked account's code is not spent.
        let signing_in = subject(found.as_ref(), &Identifier::Phone(phone.clone()), ctx);
        self.lockout
            .check(&signing_in)
            .await
            .map_err(lockout_error)?;
        self.otp
            .verify(OtpPurpose::Login, &phone, proof.code, &ctx.ip)
            .await
            .map_err(otp_error)?;
        let user = match found {
            Some(user) => {
                if user.status == UserStatus::Disabled {
                    return Err(disabled());
                }
                if user.identity_at(&token.issuer).is_some() {
                    return Err(linked_elsewhere(&name));
                }
                // Whoever first proves the phone owns the account from now on.
                let user = if user.phone_verified {
                    user
                } else {
                    self.disown(&user, AuditKind::PhoneVerified, ctx).await?
                };
                let user = self
                    .save(&user, |u| {
                        u.phone_verified = true;
                        u.status = UserStatus::Active;
                        // Nobody holds this address verified (rule 2 found none).
                        if !u.email_verified {
                            u.email = Some(email.clone());
                            u.email_verified = true;
                        }
                    })
                    .await?;
                self.link(&user, &token, &name, "phone code", ctx).await?
            }
            None => {
                let user = User::federated(
                    phone,
                    account_name(&token),
                    Some(email),
                    LinkedIdentity {
                        issuer: token.issuer.clone(),
                        subject: token.subject.clone(),
                        linked_at: self.clock.now(),
                    },
                    self.clock.now(),
                );
                self.users.insert(&user).await?;
                self.record(
                    AuditKind::Register,
                    Some(&user.id),
                    None,
                    ctx,
                    format!("{} with {name}, phone proven by code", user.phone.masked()),
                )
                .await;
                user
            }
        };
        self.lockout.signed_in(&signing_in).await?;
        self.signed_in(user, device, ctx).await
    }

    /// `user` may sign in without a code: not disabled, not locked out (a lock that has
    /// run out is lifted).
    async fn admit(&self, user: User, ctx: &RequestContext) -> Result<User, AppError> {
        let signing_in = subject(Some(&user), &Identifier::Phone(user.phone.clone()), ctx);
        self.lockout
            .check(&signing_in)
            .await
            .map_err(lockout_error)?;
        if user.status == UserStatus::Disabled {
            return Err(disabled());
        }
        self.lockout.signed_in(&signing_in).await?;
        if user.status == UserStatus::Locked {
            return self.save(&user, |u| u.status = UserStatus::Active).await;
        }
        Ok(user)
    }

    async fn link(
        &self,
        user: &User,
        token: &VerifiedIdToken,
        provider: &str,
        through: &str,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let now = self.clock.now();
        let user = self
            .save(user, |u| {
                u.identities.push(LinkedIdentity {
                    issuer: token.issuer.clone(),
                    subject: token.subject.clone(),
                    linked_at: crate::domain::time::truncate_to_millis(now),
                })
            })
            .await?;
        self.record(
            AuditKind::IdentityLinked,
            Some(&user.id),
            None,
            ctx,
            format!("{provider} account linked through {through}"),
        )
        .await;
        Ok(user)
    }

    async fn signed_in(
        &self,
        user: User,
        device: &str,
        ctx: &RequestContext,
    ) -> Result<FederatedOutcome, AppError> {
        let tokens = self.start_session(user, device, ctx).await?;
        Ok(FederatedOutcome::SignedIn(Box::new(tokens)))
    }
}
