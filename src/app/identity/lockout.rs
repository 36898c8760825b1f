//! Sign-in budgets: how many wrong passwords an account takes before sign-in
//! stops, counted on the account (never on the spelling of its identifier) in
//! the key-value store, so every replica enforces one budget.
//!
//! Two tiers, so that an attacker at one address cannot lock the owner out:
//!
//! - **per address**: each client address (an IPv6 client's /64) has
//!   [`ADDRESS_LIMIT`] failures per account per hour; the attempt that reaches
//!   it locks that address out of that account for 1 minute, and each later
//!   failure in the hour doubles the lock (2, 4, … at most an hour);
//! - **per account**: all addresses together have [`ACCOUNT_LIMIT`] failures per
//!   hour; then the account is locked for everyone, on every sign-in path, on
//!   the same schedule.
//!
//! One address cannot reach the account's limit: its own lock lets at most 10
//! failures through in any hour (five, then one after each lock of 1, 2, 4, 8
//! and 16 minutes; the next lock, 32 minutes, outlasts the hour). The unit
//! tests below replay that schedule.
//!
//! An attempt is counted *before* the password is checked, and the one that
//! reaches a limit holds that lock in reserve (set-if-absent) while it is
//! checked, so a burst of concurrent attempts cannot slip more guesses past
//! the limit than a sequence could; a right password clears the counters and
//! lifts the lock it held.
//!
//! Staff can lift every lock on an account ([`Lockout::lift`]): each failure also
//! notes its address (digested) in a set per account that lives as long as a
//! window, so the address locks can be found without scanning the store.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::time::SharedClock;
use crate::kv::{KeyValueStore, KvError};

/// Failures per account from one address in an hour before that address is locked out.
pub const ADDRESS_LIMIT: i64 = 5;
/// Failures per account from all addresses in an hour before the account is locked.
pub const ACCOUNT_LIMIT: i64 = 20;
/// Counters are fixed windows of this length, from the first failure.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// No lock lasts longer.
pub const MAX_LOCK: Duration = Duration::from_secs(3600);

/// How long the `failures`-th failure in a window locks for, given the tier's
/// `limit`: nothing below it, then 1, 2, 4… minutes, at most [`MAX_LOCK`].
pub fn lock_for(failures: i64, limit: i64) -> Option<Duration> {
    if failures < limit {
        return None;
    }
    let minutes = 1u64 << (failures - limit).clamp(0, 6);
    Some(Duration::from_secs(minutes * 60).min(MAX_LOCK))
}

/// Sign-in was refused: the account, or this address's attempts on it, are locked.
#[derive(Debug)]
pub enum LockoutError {
    /// Wait this long.
    Locked(Duration),
    Store(KvError),
}

impl From<KvError> for LockoutError {
    fn from(e: KvError) -> Self {
        Self::Store(e)
    }
}

/// Whose budget an attempt spends: the account (a user id, or for an unknown
/// identifier its canonical form) and the client's address.
#[derive(Debug, Clone)]
pub struct Subject {
    account: String,
    address: String,
}

impl Subject {
    /// `account` is already canonical (`user:<id>`, `phone:<E.164>`, `email:<lower-case>`);
    /// `ip` is the client address as the pipeline resolved it.
    pub fn new(account: &str, ip: &str) -> Self {
        Self {
            account: digest(account),
            address: digest(&client_address(ip)),
        }
    }

    fn account_lock(&self) -> String {
        format!("signin_lock:{}", self.account)
    }

    fn account_failures(&self) -> String {
        format!("signin_failures:{}", self.account)
    }

    fn address_lock(&self) -> String {
        format!("signin_lock:{}:{}", self.account, self.address)
    }

    fn address_failures(&self) -> String {
        format!("signin_failures:{}:{}", self.account, self.address)
    }

    fn failed_addresses(&self) -> String {
        format!("signin_addresses:{}", self.account)
    }

    /// The same account from another (already digested) address.
    fn at(&self, address: &str) -> Self {
        Self {
            account: self.account.clone(),
            address: address.to_owned(),
        }
    }
}

/// The client address budgets count by: an IPv6 client usually holds a whole
/// /64, so that is one address; anything unparsable is one shared "address".
pub fn client_address(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => "unknown".to_owned(),
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A password check in progress, already counted against both budgets.
#[must_use = "report how the attempt ended with `failed` or `succeeded`"]
#[derive(Debug)]
pub struct Attempt {
    subject: Subject,
    /// The locks this attempt reached and holds in reserve: made real if it
    /// fails, lifted if it succeeds.
    address_lock: Option<Duration>,
    account_lock: Option<Duration>,
}

/// How an attempt fared at one tier's budget.
enum Gate {
    Through,
    /// It reached the limit and holds the lock in reserve.
    Reserved(Duration),
    /// A concurrent attempt holds the lock in reserve; wait for its outcome.
    Busy,
}

/// A lock's value: its kind and its end in Unix milliseconds.
const RESERVED: char = 'R';
const LOCKED: char = 'L';
/// How long an attempt waits for a concurrent one that holds the lock it
/// would need (a right password lifts it, a wrong one makes it real).
const WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(25);
/// How long a reserved lock lives unless its attempt reports: the wait plus
/// ample time to hash. A sign-in dropped in between (client gone, request timed
/// out) must not leave the lock, and a 3 s wait for every later attempt, for
/// the whole lock time; [`Lockout::failed`] makes it the real lock.
const RESERVE: Duration = Duration::from_secs(10);

fn stamp(kind: char, lock: Duration, now: DateTime<Utc>) -> Vec<u8> {
    let until = now.timestamp_millis() + lock.as_millis() as i64;
    format!("{kind}{until}").into_bytes()
}

/// The time left on a real lock; `None` for one held in reserve.
fn locked(value: &[u8], now: DateTime<Utc>) -> Option<Duration> {
    match value.split_first() {
        Some((&kind, _)) if kind == RESERVED as u8 => None,
        Some((_, until)) => Some(remaining(until, now)),
        None => Some(Duration::from_secs(1)),
    }
}

pub struct Lockout {
    kv: Arc<dyn KeyValueStore>,
    clock: SharedClock,
}

impl Lockout {
    pub fn new(kv: Arc<dyn KeyValueStore>, clock: SharedClock) -> Self {
        Self { kv, clock }
    }

    /// The time left on the lock at `key`, if a real one is there.
    async fn lock_left(&self, key: &str) -> Result<Option<Duration>, KvError> {
        let value = self.kv.get(key).await?;
        Ok(value.and_then(|v| locked(&v, self.clock.now())))
    }

    /// Refuses while the account, or this address's attempts on it, are locked.
    /// Every sign-in path (password and code) asks this first.
    pub async fn check(&self, subject: &Subject) -> Result<(), LockoutError> {
        for key in [subject.account_lock(), subject.address_lock()] {
            if let Some(left) = self.lock_left(&key).await? {
                return Err(LockoutError::Locked(left));
            }
        }
        Ok(())
    }

    /// Checks the locks and counts a password attempt (as a failure until
    /// [`Lockout::succeeded`] says otherwise). The attempt that reaches a
    /// limit holds that lock in reserve while its password is checked; others
    /// over the limit meanwhile wait for its outcome, so that a burst of right
    /// passwords (one account signing in on several devices at once) is
    /// served, and a burst of guesses gets no more checks than a sequence.
    pub async fn begin(&self, subject: &Subject) -> Result<Attempt, LockoutError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(attempt) = self.try_begin(subject).await? {
                return Ok(attempt);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LockoutError::Locked(Duration::from_secs(1)));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn try_begin(&self, subject: &Subject) -> Result<Option<Attempt>, LockoutError> {
        self.check(subject).await?;
        // The address's budget first: attempts it holds back never reach the
        // account's counter, so one address cannot spend the account's budget.
        let address_lock = match self
            .gate(
                &subject.address_failures(),
                &subject.address_lock(),
                ADDRESS_LIMIT,
            )
            .await?
        {
            Gate::Busy => return Ok(None),
            Gate::Through => None,
            Gate::Reserved(lock) => Some(lock),
        };
        let gate = self
            .gate(
                &subject.account_failures(),
                &subject.account_lock(),
                ACCOUNT_LIMIT,
            )
            .await;
        let account_lock = match gate {
            Ok(Gate::Through) => None,
            Ok(Gate::Reserved(lock)) => Some(lock),
            Ok(Gate::Busy) | Err(_) => {
                // Not checked after all: give the address's place back.
                if address_lock.is_some() {
                    self.kv.delete(&subject.address_lock()).await?;
                }
                self.kv
                    .increment(&subject.address_failures(), -1, WINDOW)
                    .await?;
                return gate.map(|_| None);
            }
        };
        Ok(Some(Attempt {
            subject: subject.clone(),
            address_lock,
            account_lock,
        }))
    }

    /// Counts one attempt on `counter`; the attempt that reaches `limit` must
    /// hold the lock it would earn in reserve before its password is checked.
    async fn gate(&self, counter: &str, lock_key: &str, limit: i64) -> Result<Gate, LockoutError> {
        let n = self.kv.increment(counter, 1, WINDOW).await?.value;
        let Some(lock) = lock_for(n, limit) else {
            return Ok(Gate::Through);
        };
        if self
            .kv
            .set_if_absent(
                lock_key,
                &stamp(RESERVED, lock, self.clock.now()),
                RESERVE.min(lock),
            )
            .await?
        {
            return Ok(Gate::Reserved(lock));
        }
        // Not counted after all: this attempt is not checked now.
        self.kv.increment(counter, -1, WINDOW).await?;
        match self.lock_left(lock_key).await? {
            Some(left) => Err(LockoutError::Locked(left)),
            None => Ok(Gate::Busy),
        }
    }

    /// The password was wrong: the attempt stays counted and the locks it
    /// reached take effect. Returns the account's lock if this attempt set it.
    pub async fn failed(&self, attempt: Attempt) -> Result<Option<Duration>, KvError> {
        let subject = &attempt.subject;
        self.kv
            .add_to_set(&subject.failed_addresses(), &subject.address, WINDOW)
            .await?;
        for (key, lock) in [
            (subject.address_lock(), attempt.address_lock),
            (subject.account_lock(), attempt.account_lock),
        ] {
            if let Some(lock) = lock {
                let value = stamp(LOCKED, lock, self.clock.now());
                self.kv.set(&key, &value, Some(lock)).await?;
            }
        }
        Ok(attempt.account_lock)
    }

    /// The password was right: the counters start again and any lock this
    /// attempt held in reserve is lifted.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), KvError> {
        let subject = &attempt.subject;
        if attempt.address_lock.is_some() {
            self.kv.delete(&subject.address_lock()).await?;
        }
        if attempt.account_lock.is_some() {
            self.kv.delete(&subject.account_lock()).await?;
        }
        self.signed_in(subject).await
    }

    /// Someone proved they hold the account (a right code): its failure
    /// counters start again.
    pub async fn signed_in(&self, subject: &Subject) -> Result<(), KvError> {
        self.kv.delete(&subject.address_failures()).await?;
        self.kv.delete(&subject.account_failures()).await?;
        Ok(())
    }

    /// The password was reset with a code sent to the phone: the guesses so far
    /// were against a password that no longer exists, so the account's lock and
    /// this address's lock end.
    pub async fn reset(&self, subject: &Subject) -> Result<(), KvError> {
        self.kv.delete(&subject.account_lock()).await?;
        self.kv.delete(&subject.address_lock()).await?;
        self.signed_in(subject).await
    }
}

impl Lockout {
    /// Staff lift the account's lockout: its own lock and counter, and the lock
    /// and counter of every address that failed on it in the last window. The
    /// account named as in [`Subject::new`] (`user:<id>`). Returns how many
    /// addresses had failures on record.
    pub async fn lift(&self, account: &str) -> Result<usize, KvError> {
        let subject = Subject::new(account, "");
        let addresses = self.kv.set_members(&subject.failed_addresses()).await?;
        for address in &addresses {
            let at = subject.at(address);
            self.kv.delete(&at.address_lock()).await?;
            self.kv.delete(&at.address_failures()).await?;
            self.kv
                .remove_from_set(&subject.failed_addresses(), address)
                .await?;
        }
        self.kv.delete(&subject.account_lock()).await?;
        self.kv.delete(&subject.account_failures()).await?;
        Ok(addresses.len())
    }
}

/// Time left at `now` until `until` (Unix milliseconds as text); at least a second.
fn remaining(until: &[u8], now: DateTime<Utc>) -> Duration {
    let until_ms: i64 = std::str::from_utf8(until)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let left_ms = (until_ms - now.timestamp_millis()).max(0) as u64;
    Duration::from_millis(left_ms).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_from_one_minute_to_at_most_an_hour() {
        let minutes: Vec<Option<u64>> = (1..=13)
            .map(|n| lock_for(n, ADDRESS_LIMIT).map(|d| d.as_secs() / 60))
            .collect();
        assert_eq!(
            minutes,
            [
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60),
                Some(60)
            ]
        );
    }

    /// Replays an attacker at one address who fails again the moment each lock
    /// ends, over ten hours, with the store's semantics (fixed windows from the
    /// first failure, locks that end by themselves); counts the failures in
    /// every hour-long stretch.
    #[test]
    fn one_address_cannot_reach_the_account_limit_in_any_hour() {
        let mut failures_at = Vec::new();
        let (mut window_start, mut count, mut locked_until) = (0u64, 0i64, 0u64);
        for second in 0..10 * 3600u64 {
            if second >= window_start + WINDOW.as_secs() {
                count = 0;
            }
            if second < locked_until {
                continue;
            }
            // As many attempts as the lock allows within this second.
            loop {
                if count == 0 {
                    window_start = second;
                }
                count += 1;
                failures_at.push(second);
                if let Some(lock) = lock_for(count, ADDRESS_LIMIT) {
                    locked_until = second + lock.as_secs();
                    break;
                }
            }
        }
        let most_in_an_hour = failures_at
            .iter()
            .map(|&start| {
                failures_at
                    .iter()
                    .filter(|&&t| t >= start && t < start + 3600)
                    .count()
            })
            .max()
            .unwrap();
        assert_eq!(most_in_an_hour, 10);
        assert!((most_in_an_hour as i64) < ACCOUNT_LIMIT);
    }

    #[tokio::test]
    async fn a_dropped_attempt_does_not_hold_its_lock() {
        let kv = Arc::new(crate::kv::memory::MemoryKv::new());
        let lockout = Lockout::new(kv.clone(), crate::domain::time::SystemClock::shared());
        let subject = Subject::new("user:dropped", "192.0.2.9");
        for _ in 1..ADDRESS_LIMIT {
            let attempt = lockout.begin(&subject).await.unwrap();
            lockout.failed(attempt).await.unwrap();
        }
        // The attempt that reaches the limit holds its lock, and is never reported.
        let dropped = lockout.begin(&subject).await.unwrap();
        assert!(dropped.address_lock.is_some());
        drop(dropped);
        assert!(
            lockout.try_begin(&subject).await.unwrap().is_none(),
            "while the reservation lives, the next attempt waits for its outcome"
        );
        kv.fast_forward(RESERVE).await.unwrap();
        let attempt = lockout
            .try_begin(&subject)
            .await
            .unwrap()
            .expect("no wait once the reservation has run out");
        // It is counted and its own failure locks.
        lockout.failed(attempt).await.unwrap();
        assert!(matches!(
            lockout.check(&subject).await,
            Err(LockoutError::Locked(_))
        ));
    }

    #[tokio::test]
    async fn lifting_ends_the_account_lock_and_every_address_lock() {
        let kv = Arc::new(crate::kv::memory::MemoryKv::new());
        let lockout = Lockout::new(kv.clone(), crate::domain::time::SystemClock::shared());
        let one = Subject::new("user:locked", "192.0.2.1");
        let two = Subject::new("user:locked", "192.0.2.2");
        let bystander = Subject::new("user:other", "192.0.2.1");
        for subject in [&one, &two, &bystander] {
            for _ in 0..ADDRESS_LIMIT {
                let attempt = lockout.begin(subject).await.unwrap();
                lockout.failed(attempt).await.unwrap();
            }
            assert!(lockout.check(subject).await.is_err());
        }
        assert_eq!(lockout.lift("user:locked").await.unwrap(), 2);
        lockout.check(&one).await.unwrap();
        lockout.check(&two).await.unwrap();
        assert!(
            lockout.check(&bystander).await.is_err(),
            "another account's lock stays"
        );
        // The budgets start again: four more failures do not lock.
        for _ in 1..ADDRESS_LIMIT {
            let attempt = lockout.begin(&one).await.unwrap();
            lockout.failed(attempt).await.unwrap();
        }
        lockout.check(&one).await.unwrap();
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_prefix() {
        assert_eq!(
            client_address("2001:db8:1:2:aaaa::1"),
            client_address("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(
            client_address("2001:db8:1:2::1"),
            client_address("2001:db8:1:3::1")
        );
        assert_eq!(client_address("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(client_address("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_address("unknown"), "unknown");
    }
}
