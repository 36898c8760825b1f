//! Users: phone-first identities, their roles and preferences.

use std::fmt;

use chrono::{DateTime, Utc};

use super::validation::{char_len, Collector, FieldError};

pub const NAME_MAX: usize = 100;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

pub use super::ids::UserId;

/// A mobile number in E.164 form (`+919812345678`). Parsed with libphonenumber's
/// metadata; numbers without a country code are read as Indian.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                field,
                "invalid_phone",
                "must be a valid mobile number, e.g. +919812345678 or 98123 45678",
            )
        };
        if raw.trim().is_empty() || raw.len() > 32 {
            return Err(invalid());
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::IN), raw.trim())
            .map_err(|_| invalid())?;
        if !number.is_valid() {
            return Err(invalid());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, for messages and logs that must not show the number.
    pub fn masked(&self) -> String {
        let digits = &self.0[self.0.len().saturating_sub(4)..];
        format!("••••{digits}")
    }
}

/// An email address, stored canonically: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let canonical = raw.trim().to_lowercase();
        let valid = canonical.len() <= 254
            && email_address::EmailAddress::parse_with_options(
                &canonical,
                email_address::Options::default().without_display_text(),
            )
            .is_ok_and(|e| e.domain().contains('.'));
        if valid {
            Ok(Self(canonical))
        } else {
            Err(FieldError::new(
                field,
                "invalid_email",
                "must be an email address like name@example.in",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let len = char_len(name);
        if len == 0 || len > NAME_MAX {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("must be 1 to {NAME_MAX} characters"),
            ));
        }
        if name.chars().any(char::is_control) || name.contains(['<', '>']) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "must not contain control characters or angle brackets",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed, checked for length only (NIST SP 800-63B: length, not
/// composition rules). Never stored: only its Argon2id hash is.
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = char_len(raw);
        if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
            ));
        }
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "blank", "must not be only spaces"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a user may do is decided by their roles (see `auth::permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Customer,
    CatalogManager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Customer, Role::CatalogManager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::CatalogManager => "catalog_manager",
            Self::Admin => "admin",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "unknown_role",
                    "must be one of: customer, catalog_manager, admin",
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Active,
    /// Temporarily locked after repeated failed sign-ins; unlocks by itself.
    Locked,
    /// Disabled by an admin: cannot sign in, every session revoked.
    Disabled,
}

impl UserStatus {
    pub const ALL: [UserStatus; 3] = [Self::Active, Self::Locked, Self::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            "active" => Ok(Self::Active),
            "locked" => Ok(Self::Locked),
            "disabled" => Ok(Self::Disabled),
            _ => Err(FieldError::new(
                field,
                "unknown_status",
                "must be one of: active, locked, disabled",
            )),
        }
    }
}

/// Languages Bazaar's messages can be sent in.
pub const LANGUAGES: [&str; 11] = [
    "en", "hi", "bn", "te", "mr", "ta", "gu", "kn", "ml", "pa", "or",
];

/// A customer's recorded agreement to hear from Bazaar on a channel: when they gave it and
/// through what. Meta's WhatsApp Business policy requires one before any business-initiated
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub at: DateTime<Utc>,
    /// Where it was given, e.g. [`Consent::PREFERENCES_API`].
    pub source: String,
}

impl Consent {
    /// The customer turned the channel on with `PUT /api/v1/users/me/preferences`.
    pub const PREFERENCES_API: &'static str = "preferences_api";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// ISO 639-1 code from [`LANGUAGES`].
    pub language: String,
    pub sms: bool,
    pub email: bool,
    pub whatsapp: bool,
    /// When and how the customer opted in to WhatsApp; `None` while `whatsapp` is off, and
    /// for an opt-in stored before consent was recorded (no WhatsApp goes out without it).
    pub whatsapp_consent: Option<Consent>,
    /// When and how the customer agreed to marketing (offers, not order notices);
    /// `None` until they opt in, which they must do on their own (DPDP Act: consent
    /// is specific and affirmative). Order notices and receipts never depend on it.
    pub marketing_consent: Option<Consent>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: "en".into(),
            sms: true,
            email: true,
            whatsapp: false,
            whatsapp_consent: None,
            marketing_consent: None,
        }
    }
}

impl Preferences {
    pub fn parse(
        language: &str,
        sms: bool,
        email: bool,
        whatsapp: bool,
    ) -> Result<Self, Vec<FieldError>> {
        if !LANGUAGES.contains(&language) {
            return Err(vec![FieldError::new(
                "language",
                "unknown_language",
                format!("must be one of: {}", LANGUAGES.join(", ")),
            )]);
        }
        Ok(Self {
            language: language.to_owned(),
            sms,
            email,
            whatsapp,
            whatsapp_consent: None,
            marketing_consent: None,
        })
    }

    /// `next` as it replaces these preferences at `now`: turning WhatsApp on records the
    /// customer's consent (time and `source`), keeping it on keeps the consent already
    /// recorded, and turning it off withdraws it.
    pub fn replaced_by(&self, next: Preferences, now: DateTime<Utc>, source: &str) -> Self {
        let whatsapp_consent = if !next.whatsapp {
            None
        } else {
            let kept = self.whatsapp_consent.clone().filter(|_| self.whatsapp);
            Some(kept.unwrap_or_else(|| Consent {
                at: super::time::truncate_to_millis(now),
                source: source.to_owned(),
            }))
        };
        Self {
            whatsapp_consent,
            marketing_consent: self.marketing_consent.clone(),
            ..next
        }
    }

    /// These preferences with marketing turned on (consent recorded at `now` from
    /// `source`, or the earlier one kept), off (withdrawn), or left as it is (`None`).
    pub fn with_marketing(mut self, on: Option<bool>, now: DateTime<Utc>, source: &str) -> Self {
        match on {
            None => {}
            Some(false) => self.marketing_consent = None,
            Some(true) => {
                self.marketing_consent.get_or_insert_with(|| Consent {
                    at: super::time::truncate_to_millis(now),
                    source: source.to_owned(),
                });
            }
        }
        self
    }

    /// Whether WhatsApp notices may be sent: turned on, with the consent recorded.
    pub fn whatsapp_allowed(&self) -> bool {
        self.whatsapp && self.whatsapp_consent.is_some()
    }
}

/// An account at an OpenID Connect provider (Google, or another configured one) that
/// signs in to this user: the provider's issuer and its stable id for the person
/// (`sub`). Emails change; `(issuer, subject)` does not, and names one user at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    /// The `iss` of the provider's ID tokens, as configured (Google: `https://accounts.google.com`).
    pub issuer: String,
    /// The provider's `sub`.
    pub subject: String,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub phone: Phone,
    pub email: Option<Email>,
    pub name: PersonName,
    /// Argon2id PHC string, or [`NO_PASSWORD`] for an account that signs in by
    /// code (or Google) only; never leaves the service.
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    pub phone_verified: bool,
    pub email_verified: bool,
    /// A new address asked for while `email` is verified: it replaces `email` only once
    /// its own link is followed (see `docs/auth.md`, Changing the email). `None` whenever
    /// `email` is unverified or absent.
    pub pending_email: Option<Email>,
    pub preferences: Preferences,
    /// Provider accounts that sign in to this one (see [`LinkedIdentity`]).
    pub identities: Vec<LinkedIdentity>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// What an account without a password stores in its place: not a PHC string,
/// so no password verifies against it.
pub const NO_PASSWORD: &str = "!unusable";

/// A sign-up, every field valid. The password is optional: phone-first accounts
/// sign in by code and may set one later.
#[derive(Debug)]
pub struct Registration {
    pub phone: Phone,
    pub email: Option<Email>,
    pub name: PersonName,
    pub password: Option<Password>,
}

impl Registration {
    pub fn parse(
        phone: &str,
        name: &str,
        password: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let phone = errors.take(Phone::parse("phone", phone));
        let name = errors.take(PersonName::parse("name", name));
        let password = match password {
            Some(p) => errors.take(Password::parse("password", p)).map(Some),
            None => Some(None),
        };
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => errors.take(Email::parse("email", e)).map(Some),
            None => Some(None),
        };
        match (phone, name, password, email) {
            (Some(phone), Some(name), Some(password), Some(email)) if errors.is_empty() => {
                Ok(Self {
                    phone,
                    email,
                    name,
                    password,
                })
            }
            _ => Err(errors.into_errors()),
        }
    }
}

impl User {
    /// A new account with the registration's password already hashed (`None`
    /// when it chose none).
    pub fn register(
        reg: Registration,
        password_hash: Option<String>,
        roles: Vec<Role>,
        now: DateTime<Utc>,
    ) -> Self {
        let now = super::time::truncate_to_millis(now);
        Self {
            id: UserId::generate(),
            phone: reg.phone,
            email: reg.email,
            name: reg.name,
            password_hash: password_hash.unwrap_or_else(|| NO_PASSWORD.to_owned()),
            roles,
            status: UserStatus::Active,
            phone_verified: false,
            email_verified: false,
            pending_email: None,
            preferences: Preferences::default(),
            identities: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// A new customer who signed in with a provider and proved `phone` by code:
    /// both proven, the provider's verified email verified, no password
    /// ([`NO_PASSWORD`]: one can be set later), linked to `identity`.
    pub fn federated(
        phone: Phone,
        name: PersonName,
        email: Option<Email>,
        identity: LinkedIdentity,
        now: DateTime<Utc>,
    ) -> Self {
        let now = super::time::truncate_to_millis(now);
        Self {
            id: UserId::generate(),
            phone,
            email_verified: email.is_some(),
            email,
            name,
            password_hash: NO_PASSWORD.to_owned(),
            roles: vec![Role::Customer],
            status: UserStatus::Active,
            phone_verified: true,
            pending_email: None,
            preferences: Preferences::default(),
            identities: vec![LinkedIdentity {
                linked_at: super::time::truncate_to_millis(identity.linked_at),
                ..identity
            }],
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The identity this user has at `issuer`, if linked.
    pub fn identity_at(&self, issuer: &str) -> Option<&LinkedIdentity> {
        self.identities.iter().find(|i| i.issuer == issuer)
    }

    /// The next version of this user after `change`.
    pub fn revised(&self, now: DateTime<Utc>, change: impl FnOnce(&mut User)) -> Self {
        let mut next = self.clone();
        change(&mut next);
        next.version = self.version + 1;
        next.updated_at = super::time::truncate_to_millis(now).max(self.updated_at);
        next
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether a password can sign this account in.
    pub fn has_password(&self) -> bool {
        self.password_hash != NO_PASSWORD
    }
}

/// Rebuilds stored values, which were parsed on their way in.
impl Phone {
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }
}
impl Email {
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }
}
impl PersonName {
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_numbers_are_read_in_any_common_form() {
        for raw in [
            "+91 98123 45678",
            "9812345678",
            "098123-45678",
            "+919812345678",
        ] {
            assert_eq!(
                Phone::parse("phone", raw).unwrap().as_str(),
                "+919812345678",
                "{raw}"
            );
        }
        assert_eq!(
            Phone::parse("p", "+1 415 555 2671").unwrap().as_str(),
            "+14155552671"
        );
        for bad in ["", "12345", "not a phone", "+91 00000 00000"] {
            assert!(Phone::parse("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_canonical() {
        assert_eq!(
            Email::parse("e", "  Asha@Example.IN ").unwrap().as_str(),
            "asha@example.in"
        );
        for bad in ["asha", "asha@", "@x.in", "a b@x.in", "asha@localhost"] {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_reports_every_bad_field() {
        let errors = Registration::parse("123", "", Some("short"), Some("nope")).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["phone", "name", "password", "email"]);
    }

    #[test]
    fn a_registration_without_a_password_makes_an_account_no_password_signs_in_to() {
        let reg = Registration::parse("9812345678", "Asha", None, None).unwrap();
        assert!(reg.password.is_none());
        let user = User::register(reg, None, vec![Role::Customer], Utc::now());
        assert!(!user.has_password());
        let reg = Registration::parse("9812345678", "Asha", Some("long enough"), None).unwrap();
        let user = User::register(reg, Some("$argon2id$…".into()), vec![], Utc::now());
        assert!(user.has_password());
    }

    #[test]
    fn marketing_consent_is_given_once_kept_and_withdrawn_apart_from_the_channels() {
        let t = |s: i64| DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap();
        let off = Preferences::default();
        assert_eq!(
            off.marketing_consent, None,
            "off until the customer opts in"
        );
        let on = off.with_marketing(Some(true), t(1), "preferences_api");
        let consent = on.marketing_consent.clone().expect("recorded");
        assert_eq!(
            (consent.at, consent.source.as_str()),
            (t(1), "preferences_api")
        );
        let kept = on
            .clone()
            .with_marketing(Some(true), t(5), "elsewhere")
            .with_marketing(None, t(6), "elsewhere");
        assert_eq!(
            kept.marketing_consent,
            Some(consent.clone()),
            "the first consent stays"
        );
        let channels = Preferences::parse("hi", false, false, false).unwrap();
        let replaced = kept.replaced_by(channels, t(7), "preferences_api");
        assert_eq!(
            replaced.marketing_consent,
            Some(consent),
            "channels do not touch it"
        );
        assert_eq!(
            replaced
                .with_marketing(Some(false), t(8), "x")
                .marketing_consent,
            None
        );
    }

    #[test]
    fn passwords_do_not_show_in_debug_output() {
        let p = Password::parse("password", "correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn turning_whatsapp_on_records_consent_keeping_it_on_keeps_it_and_off_withdraws_it() {
        let t = |minute: i64| DateTime::from_timestamp(1_767_225_600 + minute * 60, 0).unwrap();
        let with = |whatsapp| Preferences::parse("hi", true, true, whatsapp).unwrap();
        let off = Preferences::default();
        assert!(!off.whatsapp_allowed());

        let on = off.replaced_by(with(true), t(1), Consent::PREFERENCES_API);
        let consent = on.whatsapp_consent.clone().expect("consent recorded");
        assert_eq!(
            (consent.at, consent.source.as_str()),
            (t(1), "preferences_api")
        );
        assert!(on.whatsapp_allowed());

        let still_on = on.replaced_by(with(true), t(9), "elsewhere");
        assert_eq!(
            still_on.whatsapp_consent,
            Some(consent),
            "the first opt-in stands"
        );

        let withdrawn = still_on.replaced_by(with(false), t(10), Consent::PREFERENCES_API);
        assert_eq!(withdrawn.whatsapp_consent, None);
        assert!(!withdrawn.whatsapp_allowed());

        let legacy = Preferences {
            whatsapp: true,
            ..Preferences::default()
        };
        assert!(
            !legacy.whatsapp_allowed(),
            "on without a recorded consent is not enough"
        );
        let confirmed = legacy.replaced_by(with(true), t(11), Consent::PREFERENCES_API);
        assert_eq!(confirmed.whatsapp_consent.map(|c| c.at), Some(t(11)));
    }
}
