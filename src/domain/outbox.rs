//! The outbox: customer notices (order confirmation, payment receipt, refund, cancellation)
//! written beside the state change that causes them and delivered later by a worker.
//!
//! A message is *pending* until a worker delivers it or gives up on it (*dead*). Workers take
//! messages under a [`Lease`], so replicas never work on the same message at once; a failed
//! attempt is retried after an exponential backoff ([`RetrySchedule`]) until the attempts run
//! out. A message that must not be sent at all — to a contact its customer never verified,
//! or over the hourly cap of one address — is *skipped*, and says why. See `docs/outbox.md`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::time::truncate_to_millis;
use super::user::{Email, Phone, User};
use super::validation::FieldError;

pub use super::ids::OutboxId;
pub use super::localized::Localized;
pub use super::notice_kind::{NoticeKind, PerNotice};

/// How a notice travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    /// A WhatsApp message from a Meta-approved template, through MSG91.
    Whatsapp,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Self::Email, Self::Sms, Self::Whatsapp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// Whom a notice goes to; the address decides the channel, so an SMS can never be addressed
/// to an email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Email(Email),
    Sms(Phone),
    /// The phone's WhatsApp account.
    Whatsapp(Phone),
}

impl Recipient {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Sms(_) => Channel::Sms,
            Self::Whatsapp(_) => Channel::Whatsapp,
        }
    }

    /// The email address, or the phone in E.164.
    pub fn address(&self) -> &str {
        match self {
            Self::Email(email) => email.as_str(),
            Self::Sms(phone) | Self::Whatsapp(phone) => phone.as_str(),
        }
    }

    /// Rebuilds a recipient read back from storage, which only ever holds parsed values.
    pub(crate) fn trusted(channel: Channel, address: String) -> Self {
        match channel {
            Channel::Email => Self::Email(Email::trusted(address)),
            Channel::Sms => Self::Sms(Phone::trusted(address)),
            Channel::Whatsapp => Self::Whatsapp(Phone::trusted(address)),
        }
    }
}

/// One of a customer's addresses, and whether they proved it is theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub recipient: Recipient,
    pub verified: bool,
}

impl Contact {
    /// Where a customer's notice of `kind` goes: on each channel their preferences allow and
    /// they can receive — SMS to their phone, email if they gave an address, WhatsApp to
    /// their phone if they opted in with a recorded consent and `whatsapp` is offered at all.
    /// Unverified contacts are listed too, so that the notice they do not get is recorded.
    ///
    /// A transactional notice ([`NoticeKind::is_transactional`]) that no allowed channel
    /// would deliver goes to a verified email, else by SMS, whatever the preferences say.
    pub fn for_notice(user: &User, kind: NoticeKind, whatsapp: bool) -> Vec<Contact> {
        let prefs = &user.preferences;
        let sms = Contact {
            recipient: Recipient::Sms(user.phone.clone()),
            verified: user.phone_verified,
        };
        let email = user.email.as_ref().map(|email| Contact {
            recipient: Recipient::Email(email.clone()),
            verified: user.email_verified,
        });
        let mut contacts = Vec::new();
        if prefs.sms {
            contacts.push(sms.clone());
        }
        if let Some(email) = email.clone().filter(|_| prefs.email) {
            contacts.push(email);
        }
        if whatsapp && prefs.whatsapp_allowed() {
            contacts.push(Contact {
                recipient: Recipient::Whatsapp(user.phone.clone()),
                verified: user.phone_verified,
            });
        }
        if kind.is_transactional() && !contacts.iter().any(|c| c.verified) {
            let fallback = email.filter(|e| e.verified).unwrap_or(sms);
            if !contacts.contains(&fallback) {
                contacts.push(fallback);
            }
        }
        contacts
    }
}

/// Why a message to an unverified contact is not sent: anyone can sign up with someone
/// else's number or address, and Bazaar must not message people on a stranger's word.
pub fn unverified_reason(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "not sent: the customer has not verified this phone",
        Channel::Email => "not sent: the customer has not verified this email address",
        Channel::Whatsapp => "not sent: the customer has not verified this phone (WhatsApp)",
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Waiting for its next attempt (or being attempted, under a lease).
    Pending,
    /// The provider accepted it.
    Delivered,
    /// Every attempt failed; only an admin retry revives it.
    Dead,
    /// Not sent on purpose, for good (`last_error` says why): its contact is unverified, or
    /// its address already got its hourly share of notices.
    Skipped,
}

impl OutboxState {
    pub const ALL: [OutboxState; 4] = [Self::Pending, Self::Delivered, Self::Dead, Self::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "unknown_state",
                    "must be one of: pending, delivered, dead, skipped",
                )
            })
    }
}

/// A worker's claim on a message: nobody else may take it before `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker, unique per process.
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// One notice to deliver. Times are kept to the millisecond, as MongoDB keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: OutboxId,
    pub kind: NoticeKind,
    pub recipient: Recipient,
    /// Template variables (order id, amounts in paise, names): SendGrid's
    /// `dynamic_template_data`, or MSG91 flow variables (strings, numbers and booleans).
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Unique among all messages: enqueueing a message whose key exists does nothing, so
    /// re-applying a state change never sends its notice twice. See [`dedupe_key`].
    pub dedupe_key: String,
    pub state: OutboxState,
    /// How many times a worker has taken the message to deliver it.
    pub attempts: u32,
    /// No worker takes the message before this.
    pub next_attempt_at: DateTime<Utc>,
    pub lease: Option<Lease>,
    /// Why the last attempt failed: the provider's explanation, never a credential.
    pub last_error: Option<String>,
    /// The provider's id of the delivered message (SendGrid's `X-Message-Id`, MSG91's id).
    pub provider_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl OutboxMessage {
    /// A new pending message, due at once.
    pub fn new(
        kind: NoticeKind,
        recipient: Recipient,
        data: serde_json::Map<String, serde_json::Value>,
        dedupe_key: String,
        now: DateTime<Utc>,
    ) -> Self {
        let now = truncate_to_millis(now);
        Self {
            id: OutboxId::generate(),
            kind,
            recipient,
            data,
            dedupe_key,
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease: None,
            last_error: None,
            provider_id: None,
            created_at: now,
            delivered_at: None,
        }
    }

    /// A new message to `contact`: pending if the contact is verified, else skipped.
    pub fn to_contact(
        kind: NoticeKind,
        contact: &Contact,
        data: serde_json::Map<String, serde_json::Value>,
        dedupe_key: String,
        now: DateTime<Utc>,
    ) -> Self {
        let message = Self::new(kind, contact.recipient.clone(), data, dedupe_key, now);
        if contact.verified {
            message
        } else {
            message.skipped(unverified_reason(contact.recipient.channel()))
        }
    }

    pub fn channel(&self) -> Channel {
        self.recipient.channel()
    }

    /// Whether a worker may claim the message at `now`: pending, due, and not leased to
    /// anyone (or leased, but the lease ran out).
    pub fn is_claimable(&self, now: DateTime<Utc>) -> bool {
        self.state == OutboxState::Pending
            && self.next_attempt_at <= now
            && self.lease.as_ref().is_none_or(|l| l.until <= now)
    }

    /// Whether `owner` holds the lease on this pending message. A lease that ran out still
    /// counts until someone else claims the message: the work was done either way.
    pub fn is_leased_to(&self, owner: &str) -> bool {
        self.state == OutboxState::Pending && self.lease.as_ref().is_some_and(|l| l.owner == owner)
    }

    /// The message as a worker claims it at `now` for `lease`: one more attempt.
    pub fn claimed(&self, owner: &str, now: DateTime<Utc>, lease: Duration) -> Self {
        Self {
            attempts: self.attempts + 1,
            lease: Some(Lease {
                owner: owner.to_owned(),
                until: truncate_to_millis(now + lease),
            }),
            ..self.clone()
        }
    }

    /// The message once its provider accepted it; a secret in its data
    /// ([`NoticeKind::carries_secret`]) is gone.
    pub fn delivered(&self, provider_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            state: OutboxState::Delivered,
            lease: None,
            provider_id: Some(provider_id.to_owned()),
            delivered_at: Some(truncate_to_millis(now)),
            data: self.data_after_sending(),
            ..self.clone()
        }
    }

    /// The data to keep once the message will not be sent again: none for a kind that
    /// carries a secret, else all of it.
    pub fn data_after_sending(&self) -> serde_json::Map<String, serde_json::Value> {
        if self.kind.carries_secret() {
            serde_json::Map::new()
        } else {
            self.data.clone()
        }
    }

    /// The message after a failed attempt.
    pub fn failed(&self, error: &str, next: NextAttempt) -> Self {
        let (state, next_attempt_at) = match next {
            NextAttempt::At(at) => (OutboxState::Pending, truncate_to_millis(at)),
            NextAttempt::Never => (OutboxState::Dead, self.next_attempt_at),
        };
        Self {
            state,
            next_attempt_at,
            lease: None,
            last_error: Some(error.to_owned()),
            ..self.clone()
        }
    }

    /// The message set aside unsent, for good, because of `why`; a secret in its data
    /// is gone.
    pub fn skipped(&self, why: &str) -> Self {
        Self {
            state: OutboxState::Skipped,
            lease: None,
            last_error: Some(why.to_owned()),
            data: self.data_after_sending(),
            ..self.clone()
        }
    }

    /// A dead message revived by an admin: pending, due at `now`, with a fresh count of
    /// attempts. The last error stays for reference.
    pub fn revived(&self, now: DateTime<Utc>) -> Self {
        Self {
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: truncate_to_millis(now),
            lease: None,
            ..self.clone()
        }
    }
}

/// The conventional dedupe key of a notice about `subject` (an order id):
/// `{subject}:{kind}:{channel}`, plus `:{detail}` when one subject can cause several notices of
/// a kind (each refund of an order).
pub fn dedupe_key(
    subject: &str,
    kind: NoticeKind,
    channel: Channel,
    detail: Option<&str>,
) -> String {
    let key = format!("{subject}:{}:{}", kind.as_str(), channel.as_str());
    match detail {
        Some(detail) => format!("{key}:{detail}"),
        None => key,
    }
}

/// What happens after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again, not before this.
    At(DateTime<Utc>),
    /// Give up: the message is dead.
    Never,
}

/// The default number of attempts before a message is dead.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// When failed messages are tried again, and when they are given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the first failure; it doubles with each failure after that.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
    /// Attempts (at least 1) before the message is dead.
    pub max_attempts: u32,
}

impl Default for RetrySchedule {
    /// 30 s, 1 min, 2 min, … up to an hour between attempts; dead after 8 attempts, about
    /// an hour after the first.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl RetrySchedule {
    /// How long to wait after the `attempts`-th failed attempt (counting from 1):
    /// `base × 2^(attempts−1)`, at most `cap`, then spread over its upper half by `jitter`
    /// in `[0, 1]` ("equal jitter"), so that messages failing together — a provider outage —
    /// are not all retried in the same instant, yet each still waits at least half.
    pub fn next_attempt_after(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        let backoff = self.base.saturating_mul(1_u32 << doublings).min(self.cap);
        backoff.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// What follows the `attempts`-th failed attempt at `now`: another attempt after the
    /// backoff, or none once `max_attempts` are used up.
    pub fn after_failure(&self, attempts: u32, now: DateTime<Utc>, jitter: f64) -> NextAttempt {
        if attempts >= self.max_attempts {
            return NextAttempt::Never;
        }
        let wait = self.next_attempt_after(attempts, jitter);
        match chrono::Duration::from_std(wait) {
            Ok(wait) => NextAttempt::At(now + wait),
            Err(_) => NextAttempt::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> RetrySchedule {
        RetrySchedule {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(100),
            max_attempts: 4,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap()
    }

    fn message() -> OutboxMessage {
        OutboxMessage::new(
            NoticeKind::OrderConfirmation,
            Recipient::Sms(Phone::parse("to", "+919812345678").unwrap()),
            serde_json::Map::new(),
            "order-1:order_confirmation:sms".into(),
            at(0),
        )
    }

    #[test]
    fn a_reset_link_leaves_the_outbox_once_sent_or_set_aside_and_other_data_stays() {
        let mut data = serde_json::Map::new();
        data.insert(
            "link".into(),
            "https://shop.example.in/reset-password?token=t".into(),
        );
        let reset = OutboxMessage::new(
            NoticeKind::PasswordReset,
            Recipient::Email(Email::parse("to", "asha@example.in").unwrap()),
            data.clone(),
            "u:password_reset:email:d".into(),
            at(0),
        );
        assert_eq!(reset.data, data, "kept while it waits");
        assert!(reset.delivered("sg-1", at(1)).data.is_empty());
        assert!(reset.skipped("over the cap").data.is_empty());
        let failed = reset.failed("timeout", NextAttempt::At(at(30)));
        assert_eq!(failed.data, data, "a retry needs it");

        let order = OutboxMessage {
            data: data.clone(),
            ..message()
        };
        assert_eq!(order.delivered("id", at(1)).data, data);
        assert_eq!(order.skipped("why").data, data);
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let waits: Vec<u64> = (1..=6)
            .map(|n| schedule().next_attempt_after(n, 1.0).as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 100, 100]);
        assert_eq!(
            schedule().next_attempt_after(u32::MAX, 1.0),
            Duration::from_secs(100)
        );
    }

    #[test]
    fn jitter_keeps_each_wait_in_the_upper_half_of_its_backoff() {
        assert_eq!(
            schedule().next_attempt_after(3, 0.0),
            Duration::from_secs(20)
        );
        assert_eq!(
            schedule().next_attempt_after(3, 0.5),
            Duration::from_secs(30)
        );
        assert_eq!(
            schedule().next_attempt_after(3, -4.0),
            Duration::from_secs(20)
        );
        assert_eq!(
            schedule().next_attempt_after(3, 9.0),
            Duration::from_secs(40)
        );
    }

    #[test]
    fn the_last_allowed_failure_kills_the_message() {
        assert_eq!(
            schedule().after_failure(1, at(0), 1.0),
            NextAttempt::At(at(10))
        );
        assert_eq!(
            schedule().after_failure(3, at(5), 1.0),
            NextAttempt::At(at(45))
        );
        assert_eq!(schedule().after_failure(4, at(0), 1.0), NextAttempt::Never);
        assert_eq!(schedule().after_failure(9, at(0), 1.0), NextAttempt::Never);
    }

    #[test]
    fn a_lease_hides_a_message_until_it_runs_out() {
        let claimed = message().claimed("worker-a", at(0), Duration::from_secs(30));
        assert_eq!(claimed.attempts, 1);
        assert!(!claimed.is_claimable(at(29)));
        assert!(claimed.is_claimable(at(30)));
        assert!(claimed.is_leased_to("worker-a") && !claimed.is_leased_to("worker-b"));
        let delivered = claimed.delivered("id-1", at(1));
        assert!(!delivered.is_leased_to("worker-a") && !delivered.is_claimable(at(99)));
    }

    #[test]
    fn failures_reschedule_or_kill_and_a_revival_starts_over() {
        let claimed = message().claimed("w", at(0), Duration::from_secs(30));
        let retried = claimed.failed("msg91 is unavailable", NextAttempt::At(at(10)));
        assert_eq!(retried.state, OutboxState::Pending);
        assert!(!retried.is_claimable(at(9)) && retried.is_claimable(at(10)));
        let dead = claimed.failed("gone", NextAttempt::Never);
        assert_eq!(dead.state, OutboxState::Dead);
        assert!(!dead.is_claimable(at(1_000_000)));
        let revived = dead.revived(at(50));
        assert_eq!((revived.state, revived.attempts), (OutboxState::Pending, 0));
        assert_eq!(revived.last_error.as_deref(), Some("gone"));
        assert!(revived.is_claimable(at(50)));
    }

    #[test]
    fn a_customers_unverified_contacts_get_skipped_messages_that_say_why() {
        use crate::domain::user::{Registration, Role};
        let reg = Registration::parse(
            "+919812345678",
            "Asha",
            Some("a long enough password"),
            Some("asha@example.in"),
        )
        .unwrap();
        let mut user = User::register(reg, Some("hash".into()), vec![Role::Customer], at(0));
        user.phone_verified = true;
        let contacts = Contact::for_notice(&user, NoticeKind::Cancellation, true);
        let messages: Vec<OutboxMessage> = contacts
            .iter()
            .map(|c| {
                OutboxMessage::to_contact(
                    NoticeKind::Cancellation,
                    c,
                    serde_json::Map::new(),
                    dedupe_key("o1", NoticeKind::Cancellation, c.recipient.channel(), None),
                    at(0),
                )
            })
            .collect();

        let states: Vec<(Channel, OutboxState, Option<&str>)> = messages
            .iter()
            .map(|m| (m.channel(), m.state, m.last_error.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                (Channel::Sms, OutboxState::Pending, None),
                (
                    Channel::Email,
                    OutboxState::Skipped,
                    Some(unverified_reason(Channel::Email))
                ),
            ]
        );
        assert!(messages[0].is_claimable(at(0)) && !messages[1].is_claimable(at(9_999)));
        user.email = None;
        assert_eq!(
            Contact::for_notice(&user, NoticeKind::Cancellation, true).len(),
            1,
            "no email, no email notice"
        );
    }

    #[test]
    fn dedupe_keys_name_the_subject_kind_channel_and_detail() {
        assert_eq!(
            dedupe_key("o1", NoticeKind::Refund, Channel::Email, Some("r7")),
            "o1:refund:email:r7"
        );
        assert_eq!(
            dedupe_key("o1", NoticeKind::PaymentReceipt, Channel::Sms, None),
            "o1:payment_receipt:sms"
        );
    }

    #[test]
    fn kinds_channels_and_states_read_back_from_their_names() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        for state in OutboxState::ALL {
            assert_eq!(OutboxState::parse("state", state.as_str()), Ok(state));
        }
        assert_eq!(
            OutboxState::parse("state", "lost").unwrap_err().code,
            "unknown_state"
        );
        assert_eq!(
            serde_json::to_value(NoticeKind::OrderConfirmation).unwrap(),
            "order_confirmation"
        );
    }

    fn customer(email: Option<&str>) -> User {
        use crate::domain::user::{Registration, Role};
        let reg = Registration::parse(
            "+919812345678",
            "Asha",
            Some("a long enough password"),
            email,
        )
        .unwrap();
        let mut user = User::register(reg, Some("hash".into()), vec![Role::Customer], at(0));
        user.phone_verified = true;
        user.email_verified = email.is_some();
        user
    }

    fn channels(user: &User, kind: NoticeKind, whatsapp: bool) -> Vec<(Channel, bool)> {
        Contact::for_notice(user, kind, whatsapp)
            .into_iter()
            .map(|c| (c.recipient.channel(), c.verified))
            .collect()
    }

    fn prefs(
        user: &User,
        sms: bool,
        email: bool,
        whatsapp: bool,
    ) -> crate::domain::user::Preferences {
        user.preferences.replaced_by(
            crate::domain::user::Preferences::parse("hi", sms, email, whatsapp).unwrap(),
            at(0),
            "test",
        )
    }

    #[test]
    fn notices_go_on_the_channels_the_preferences_allow_and_the_customer_can_receive() {
        let mut user = customer(Some("asha@example.in"));
        let kind = NoticeKind::OrderConfirmation;
        assert_eq!(
            channels(&user, kind, true),
            [(Channel::Sms, true), (Channel::Email, true)],
            "the defaults: SMS and email, no WhatsApp"
        );

        user.preferences = prefs(&user, false, true, true);
        assert_eq!(
            channels(&user, kind, true),
            [(Channel::Email, true), (Channel::Whatsapp, true)]
        );
        assert_eq!(
            channels(&user, kind, false),
            [(Channel::Email, true)],
            "no WhatsApp where it is not offered"
        );

        user.preferences.whatsapp_consent = None;
        assert_eq!(
            channels(&user, kind, true),
            [(Channel::Email, true)],
            "no WhatsApp without a recorded consent"
        );

        let mut no_email = customer(None);
        no_email.preferences = prefs(&no_email, true, true, false);
        assert_eq!(channels(&no_email, kind, true), [(Channel::Sms, true)]);
    }

    #[test]
    fn a_payment_receipt_goes_out_even_with_every_channel_off() {
        let mut user = customer(Some("asha@example.in"));
        user.preferences = prefs(&user, false, false, false);
        assert!(channels(&user, NoticeKind::OrderConfirmation, true).is_empty());
        assert_eq!(
            channels(&user, NoticeKind::PaymentReceipt, true),
            [(Channel::Email, true)],
            "a verified email first"
        );

        user.email_verified = false;
        assert_eq!(
            channels(&user, NoticeKind::PaymentReceipt, true),
            [(Channel::Sms, true)],
            "else the phone"
        );

        user.preferences = prefs(&user, false, true, false);
        assert_eq!(
            channels(&user, NoticeKind::PaymentReceipt, true),
            [(Channel::Email, false), (Channel::Sms, true)],
            "an allowed but unverified channel does not count"
        );
    }
}
