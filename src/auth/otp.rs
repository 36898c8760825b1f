//! One-time passwords: six digits from the OS's CSPRNG, stored only as an HMAC
//! keyed with a server secret, for five minutes, with at most five tries.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::user::Phone;
use crate::kv::{KeyValueStore, KvError};

pub const OTP_TTL: Duration = Duration::from_secs(300);
pub const MAX_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    VerifyPhone,
    Login,
    ResetPassword,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyPhone => "verify_phone",
            Self::Login => "login",
            Self::ResetPassword => "reset_password",
        }
    }
}

#[derive(Debug)]
pub enum OtpError {
    /// Asked again too soon; wait this long.
    Cooldown(Duration),
    /// Wrong, expired, or never sent.
    Invalid,
    /// The code was tried too often and is now void.
    TooManyAttempts,
    Store(KvError),
}

impl From<KvError> for OtpError {
    fn from(e: KvError) -> Self {
        Self::Store(e)
    }
}

pub struct OtpService {
    kv: Arc<dyn KeyValueStore>,
    secret: SecretString,
    cooldown: Duration,
}

fn keys(purpose: OtpPurpose, phone: &Phone) -> (String, String, String) {
    let id = format!("{}:{}", purpose.as_str(), phone.as_str());
    (
        format!("otp:{id}"),
        format!("otp_attempts:{id}"),
        format!("otp_cooldown:{}", phone.as_str()),
    )
}

impl OtpService {
    pub fn new(kv: Arc<dyn KeyValueStore>, secret: SecretString, cooldown: Duration) -> Self {
        Self {
            kv,
            secret,
            cooldown,
        }
    }

    fn mac(&self, purpose: OtpPurpose, phone: &Phone, code: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.as_str().as_bytes());
        mac.update(b"|");
        mac.update(phone.as_str().as_bytes());
        mac.update(b"|");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Starts the resend cooldown of `phone`, or says it is running. Checked for
    /// every phone, registered or not, so the answer reveals nothing.
    pub async fn start_cooldown(&self, phone: &Phone) -> Result<(), OtpError> {
        let (_, _, cooldown) = keys(OtpPurpose::Login, phone);
        if self
            .kv
            .set_if_absent(&cooldown, b"1", self.cooldown)
            .await?
        {
            Ok(())
        } else {
            Err(OtpError::Cooldown(self.cooldown))
        }
    }

    /// Makes and stores a new code (replacing any earlier one); the caller sends it.
    pub async fn issue(&self, purpose: OtpPurpose, phone: &Phone) -> Result<String, OtpError> {
        let (record, attempts, _) = keys(purpose, phone);
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
        self.kv
            .set(&record, &self.mac(purpose, phone, &code), Some(OTP_TTL))
            .await?;
        self.kv.delete(&attempts).await?;
        Ok(code)
    }

    /// Checks `code`; a correct code is used up. After five tries the code is
    /// void, so the sixth fails even when it is right.
    pub async fn verify(
        &self,
        purpose: OtpPurpose,
        phone: &Phone,
        code: &str,
    ) -> Result<(), OtpError> {
        let (record, attempts, _) = keys(purpose, phone);
        let tries = self.kv.increment(&attempts, 1, OTP_TTL).await?.value;
        if tries > MAX_ATTEMPTS {
            self.kv.delete(&record).await?;
            return Err(OtpError::TooManyAttempts);
        }
        let Some(stored) = self.kv.get(&record).await? else {
            return Err(OtpError::Invalid);
        };
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let presented = self.mac(purpose, phone, code);
        if !well_formed || !bool::from(presented.ct_eq(&stored)) {
            return Err(OtpError::Invalid);
        }
        // Only one concurrent verification may consume the code.
        if !self
            .kv
            .compare_and_swap(&record, Some(&stored), None, None)
            .await?
        {
            return Err(OtpError::Invalid);
        }
        self.kv.delete(&attempts).await?;
        Ok(())
    }
}
