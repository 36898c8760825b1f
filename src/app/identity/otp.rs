//! One-time passwords: six digits from the OS's CSPRNG, stored only as an HMAC
//! keyed with a server secret, for five minutes, with at most five tries per
//! code and [`WRONG_CODES_PER_HOUR`] wrong codes per phone per hour (five of
//! them from any one address), however many codes are sent. Also the sending budget every message to a phone or an
//! address spends: a cooldown between messages and a cap per hour.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::identity::lockout::client_address;
use crate::domain::request_key::RequestKey;
use crate::domain::user::Phone;
use crate::kv::{KeyValueStore, KvError};

pub const OTP_TTL: Duration = Duration::from_secs(300);
pub const MAX_ATTEMPTS: i64 = 5;
/// Wrong codes a phone takes per hour from all addresses, across every code
/// and purpose: without it, each new code would bring five new guesses (25 an
/// hour at five codes).
pub const WRONG_CODES_PER_HOUR: i64 = 10;
/// Wrong codes a phone takes per hour from one client address.
pub const WRONG_CODES_PER_ADDRESS: i64 = 5;
/// Messages (codes, links) one recipient gets per hour.
pub const SENDS_PER_HOUR: u32 = 5;
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    VerifyPhone,
    Login,
    ResetPassword,
    /// Confirms a cash-on-delivery order (`confirmCodOrder`), sent to the
    /// customer's verified phone when the order is placed.
    CodConfirmation,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyPhone => "verify_phone",
            Self::Login => "login",
            Self::ResetPassword => "reset_password",
            Self::CodConfirmation => "cod_confirmation",
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
    /// Too many wrong codes for this phone this hour; wait this long.
    TooManyWrongCodes(Duration),
    /// The recipient had its messages for this hour; wait this long.
    HourlyCap(Duration),
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
    /// How long a request key's mark lasts: as long as its kept answer.
    request_ttl: Duration,
}

/// What a request key finds when `otp/send` claims it.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestClaim {
    /// The first attempt: send.
    Claimed,
    /// An earlier attempt of this request got as far as sending; its answer
    /// was lost. Send nothing more.
    AlreadySent,
    /// The key came with a different request.
    Reused,
}

fn keys(purpose: OtpPurpose, phone: &Phone) -> (String, String) {
    let id = format!("{}:{}", purpose.as_str(), phone.as_str());
    (format!("otp:{id}"), format!("otp_attempts:{id}"))
}

/// Who a message goes to (or who asks for it), as the sending budget counts it.
pub enum Recipient<'a> {
    Phone(&'a Phone),
    /// An email address, with what it is for: each use has its own budget, so
    /// one cannot tell whether the other was used.
    Email {
        address: &'a str,
        purpose: &'a str,
    },
    /// A signed-in account, by id.
    Account(&'a str),
}

impl Recipient<'_> {
    fn key(&self) -> String {
        match self {
            Self::Phone(phone) => phone.as_str().to_owned(),
            Self::Account(id) => format!("account:{id}"),
            Self::Email { address, purpose } => format!(
                "{purpose}:{}",
                hex::encode(sha2::Sha256::digest(address.as_bytes()))
            ),
        }
    }
}

impl OtpService {
    pub fn new(
        kv: Arc<dyn KeyValueStore>,
        secret: SecretString,
        cooldown: Duration,
        request_ttl: Duration,
    ) -> Self {
        Self {
            kv,
            secret,
            cooldown,
            request_ttl,
        }
    }

    /// Marks `key`'s request as sending, before anything is spent or sent: a
    /// retry of it after an ambiguous failure (the answer lost to a timeout, the
    /// process killed) finds the mark and sends no second code. At most once: an
    /// attempt killed between the mark and the send leaves a mark and no code,
    /// and the client asks again with a new key.
    pub async fn claim_request(&self, key: &RequestKey) -> Result<RequestClaim, OtpError> {
        let mark = format!("otp_request:{}", key.id);
        let fingerprint = key.fingerprint.as_bytes();
        // Twice: the mark may expire between the failed claim and the read.
        for _ in 0..2 {
            if self
                .kv
                .set_if_absent(&mark, fingerprint, self.request_ttl)
                .await?
            {
                return Ok(RequestClaim::Claimed);
            }
            match self.kv.get(&mark).await? {
                Some(stored) if stored == fingerprint => return Ok(RequestClaim::AlreadySent),
                Some(_) => return Ok(RequestClaim::Reused),
                None => continue,
            }
        }
        Ok(RequestClaim::AlreadySent)
    }

    /// Removes the mark of a request that failed without sending, so that its
    /// retry sends.
    pub async fn release_request(&self, key: &RequestKey) -> Result<(), OtpError> {
        let mark = format!("otp_request:{}", key.id);
        self.kv
            .compare_and_swap(&mark, Some(key.fingerprint.as_bytes()), None, None)
            .await?;
        Ok(())
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

    /// Spends one message of `to`'s budget: refused while the cooldown since the
    /// last message runs, or when the hour's messages are used up. Asked for
    /// every recipient, registered or not, so the answer reveals nothing.
    pub async fn allow_send(&self, to: Recipient<'_>) -> Result<(), OtpError> {
        let key = to.key();
        self.allow(&key, &key).await
    }

    /// Like [`OtpService::allow_send`], with the hour's cap counted for `to` and
    /// the cooldown for `asker`: several accounts asking for one address get
    /// five messages an hour there in all, each at its own pace.
    pub async fn allow_send_for(
        &self,
        to: Recipient<'_>,
        asker: Recipient<'_>,
    ) -> Result<(), OtpError> {
        self.allow(&to.key(), &asker.key()).await
    }

    async fn allow(&self, cap_key: &str, cooldown_key: &str) -> Result<(), OtpError> {
        let cap = self
            .kv
            .hit_rate_limit(
                &format!("otp_phone:{cap_key}"),
                SENDS_PER_HOUR,
                HOUR,
                // Not the 2, 4, 8… hours of a repeat offender: the recipient
                // did not offend, and an attacker must not keep them codeless.
                HOUR,
            )
            .await?;
        if !cap.allowed {
            return Err(OtpError::HourlyCap(cap.reset_in));
        }
        if self
            .kv
            .set_if_absent(&format!("otp_cooldown:{cooldown_key}"), b"1", self.cooldown)
            .await?
        {
            Ok(())
        } else {
            Err(OtpError::Cooldown(self.cooldown))
        }
    }

    /// Whether a code for `purpose` was sent to `phone` and still works.
    pub async fn is_live(&self, purpose: OtpPurpose, phone: &Phone) -> Result<bool, OtpError> {
        let (record, _) = keys(purpose, phone);
        Ok(self.kv.get(&record).await?.is_some())
    }

    /// Makes and stores a new code (replacing any earlier one); the caller sends it.
    pub async fn issue(&self, purpose: OtpPurpose, phone: &Phone) -> Result<String, OtpError> {
        let (record, attempts) = keys(purpose, phone);
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
        self.kv
            .set(&record, &self.mac(purpose, phone, &code), Some(OTP_TTL))
            .await?;
        self.kv.delete(&attempts).await?;
        Ok(code)
    }

    /// Checks `code`, tried from the client address `ip`, and uses up a correct
    /// one: [`OtpService::check`], then [`OtpService::consume`].
    pub async fn verify(
        &self,
        purpose: OtpPurpose,
        phone: &Phone,
        code: &str,
        ip: &str,
    ) -> Result<(), OtpError> {
        let checked = self.check(purpose, phone, code, ip).await?;
        self.consume(checked).await
    }

    /// Checks `code`, tried from the client address `ip`; a correct code is
    /// answered as [`CheckedCode`], still valid until it is consumed or kept.
    /// After five tries the code is void, so the sixth fails even when
    /// it is right. Wrong codes have a budget per hour: [`WRONG_CODES_PER_ADDRESS`]
    /// from one address (across purposes), and [`WRONG_CODES_PER_HOUR`] for the
    /// phone from all addresses, counted apart for reset codes so that guessing
    /// sign-in codes cannot block a reset; past either, every try fails until
    /// the hour is over, whatever the code. The phone's budget is spent only
    /// while a code for that purpose is live: tries at a phone that has none are
    /// wrong whatever they are, and must not keep its owner from the next code.
    pub async fn check(
        &self,
        purpose: OtpPurpose,
        phone: &Phone,
        code: &str,
        ip: &str,
    ) -> Result<CheckedCode, OtpError> {
        // Counted before the comparison, so concurrent guesses cannot slip past
        // the budgets; a right code gives its places back below. The address's
        // budget first: tries it refuses never reach the phone's.
        let address = format!("otp_wrong:{}:{}", phone.as_str(), client_address(ip));
        let phone_wide = match purpose {
            OtpPurpose::ResetPassword => format!("otp_wrong:reset:{}", phone.as_str()),
            _ => format!("otp_wrong:{}", phone.as_str()),
        };
        let wrong = self.kv.increment(&address, 1, HOUR).await?;
        if wrong.value > WRONG_CODES_PER_ADDRESS {
            return Err(OtpError::TooManyWrongCodes(wrong.expires_in));
        }
        let (record, attempts) = keys(purpose, phone);
        let tries = self.kv.increment(&attempts, 1, OTP_TTL).await?.value;
        if tries > MAX_ATTEMPTS {
            self.kv.delete(&record).await?;
            return Err(OtpError::TooManyAttempts);
        }
        let Some(stored) = self.kv.get(&record).await? else {
            return Err(OtpError::Invalid);
        };
        let wrong = self.kv.increment(&phone_wide, 1, HOUR).await?;
        if wrong.value > WRONG_CODES_PER_HOUR {
            // Not compared: the address and the code keep their places.
            self.kv.increment(&phone_wide, -1, HOUR).await?;
            self.kv.increment(&address, -1, HOUR).await?;
            self.kv.increment(&attempts, -1, OTP_TTL).await?;
            return Err(OtpError::TooManyWrongCodes(wrong.expires_in));
        }
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let presented = self.mac(purpose, phone, code);
        if !well_formed || !bool::from(presented.ct_eq(&stored)) {
            return Err(OtpError::Invalid);
        }
        Ok(CheckedCode {
            record,
            attempts,
            stored,
            address,
            phone_wide,
        })
    }

    /// Uses up a correct code, and gives back the wrong-code budgets its try
    /// took. Only one concurrent verification consumes it; the others are told
    /// it is invalid.
    pub async fn consume(&self, code: CheckedCode) -> Result<(), OtpError> {
        if !self
            .kv
            .compare_and_swap(&code.record, Some(&code.stored), None, None)
            .await?
        {
            return Err(OtpError::Invalid);
        }
        self.kv.delete(&code.attempts).await?;
        for key in [&code.address, &code.phone_wide] {
            self.kv.increment(key, -1, HOUR).await?;
        }
        Ok(())
    }

    /// Leaves a correct code valid, as if it had not been tried: for a request
    /// that lacks something the code alone cannot supply (a new account's
    /// name), so that the client can send the same code again with it.
    pub async fn keep(&self, code: CheckedCode) -> Result<(), OtpError> {
        self.kv.increment(&code.attempts, -1, OTP_TTL).await?;
        for key in [&code.address, &code.phone_wide] {
            self.kv.increment(key, -1, HOUR).await?;
        }
        Ok(())
    }
}

/// A code [`OtpService::check`] found correct, not yet used up.
#[must_use = "a checked code is consumed or kept"]
pub struct CheckedCode {
    record: String,
    attempts: String,
    stored: Vec<u8>,
    address: String,
    phone_wide: String,
}
