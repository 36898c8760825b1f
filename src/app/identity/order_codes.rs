//! Codes that confirm something a signed-in customer asked for — a cash-on-delivery
//! order — sent to the account's own verified phone, within the same sending budget and
//! wrong-code limits as sign-in codes. What the code confirms is the caller's business.

use crate::app::errors::AppError;
use crate::app::identity::otp::{OtpPurpose, Recipient};
use crate::app::identity::{otp_error, Identity};
use crate::domain::user::{User, UserId};

impl Identity {
    /// The account, if its phone is verified: where such codes may go.
    async fn verified_phone_of(&self, user_id: &UserId) -> Result<Option<User>, AppError> {
        Ok(self.users.get(user_id).await?.filter(|u| u.phone_verified))
    }

    /// Whether `user_id`'s phone is verified (a cash-on-delivery order needs it).
    pub async fn has_verified_phone(&self, user_id: &UserId) -> Result<bool, AppError> {
        Ok(self.verified_phone_of(user_id).await?.is_some())
    }

    /// Spends one message of the account's phone's budget (cooldown and hourly cap):
    /// checked before the thing the code confirms is made, so that a refusal (429)
    /// makes nothing.
    pub async fn allow_account_code(&self, user_id: &UserId) -> Result<(), AppError> {
        let Some(user) = self.verified_phone_of(user_id).await? else {
            return Ok(());
        };
        self.otp
            .allow_send(Recipient::Phone(&user.phone))
            .await
            .map_err(otp_error)
    }

    /// Sends a new code for `purpose` to the account's verified phone (replacing any
    /// earlier one), its budget already spent by [`Identity::allow_account_code`].
    pub async fn send_account_code(
        &self,
        user_id: &UserId,
        purpose: OtpPurpose,
    ) -> Result<(), AppError> {
        let Some(user) = self.verified_phone_of(user_id).await? else {
            return Ok(());
        };
        let code = self
            .otp
            .issue(purpose, &user.phone)
            .await
            .map_err(otp_error)?;
        self.notifier
            .send_otp(user.phone.as_str(), &code, purpose.as_str())
            .await
    }

    /// Checks `code` for `purpose` on the account's phone, tried from `ip`, and uses
    /// it up: 400 `invalid_otp` when wrong or expired.
    pub async fn verify_account_code(
        &self,
        user_id: &UserId,
        purpose: OtpPurpose,
        code: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        let Some(user) = self.verified_phone_of(user_id).await? else {
            return Err(otp_error(crate::app::identity::otp::OtpError::Invalid));
        };
        self.otp
            .verify(purpose, &user.phone, code, ip)
            .await
            .map_err(otp_error)
    }
}
