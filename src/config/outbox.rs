//! How the outbox worker delivers notices: polling, leases, retries, and the hourly cap
//! per address (`BAZAAR_OUTBOX_*`).

use std::time::Duration;

use crate::domain::outbox::RetrySchedule;

use super::parser::Parser;
use super::spec::SettingSpec;

/// The default hourly cap of notices to one address: ten paid orders' confirmation and
/// receipt, far above what one customer is owed in an hour, and far below what a loop of
/// orders could make Bazaar pay MSG91 for.
pub const DEFAULT_CAP_PER_HOUR: u32 = 20;

/// How a worker polls, leases, retries and caps (`BAZAAR_OUTBOX_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// The wait between looks for due messages when there were none.
    pub poll_interval: Duration,
    /// How long a claimed message is the worker's alone; longer than one delivery can take.
    pub lease: Duration,
    /// Messages claimed, and delivered concurrently, at a time.
    pub batch_size: u32,
    pub schedule: RetrySchedule,
    /// Notices one phone number or email address is sent per hour; later ones in the hour
    /// are skipped. 0: no cap. Counted in the key-value store given to
    /// [`OutboxWorker::counting_on`], so replicas share it.
    pub cap_per_hour: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            batch_size: 10,
            schedule: RetrySchedule::default(),
            cap_per_hour: DEFAULT_CAP_PER_HOUR,
        }
    }
}

impl OutboxSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "outbox_poll_ms",
            default: Some("1000"),
            secret: false,
            help: "How often an idle outbox worker (one per replica) looks for due notices \
                (100–60000). See [outbox.md](outbox.md).",
        },
        SettingSpec {
            key: "outbox_lease_secs",
            default: Some("60"),
            secret: false,
            help: "How long a worker holds a notice it claimed before another replica may take it \
                (1–3600). Must exceed one delivery: 3 × `BAZAAR_PROVIDER_TIMEOUT_MS` + 10 s.",
        },
        SettingSpec {
            key: "outbox_batch_size",
            default: Some("10"),
            secret: false,
            help: "Notices a worker claims and delivers concurrently per round (1–100).",
        },
        SettingSpec {
            key: "outbox_max_attempts",
            default: Some("8"),
            secret: false,
            help: "Delivery attempts before a notice is dead and waits for an admin's retry \
                (1–100).",
        },
        SettingSpec {
            key: "outbox_backoff_base_ms",
            default: Some("30000"),
            secret: false,
            help: "Wait after a notice's first failed attempt; it doubles after each further \
                failure, with jitter (10–3600000).",
        },
        SettingSpec {
            key: "outbox_backoff_cap_secs",
            default: Some("3600"),
            secret: false,
            help: "Longest wait between two attempts (1–86400, not less than the base).",
        },
        SettingSpec {
            key: "outbox_cap_per_hour",
            default: Some("20"),
            secret: false,
            help: "Notices one phone number or email address is sent per hour (a fixed window \
                counted in Redis, so shared by replicas). Later ones in the hour are recorded as \
                `skipped`, not sent, so no loop of orders can flood a phone or run up the SMS \
                bill. `0` turns the cap off. See [outbox.md](outbox.md#who-gets-a-notice).",
        },
    ];

    /// The outbox worker's settings. One delivery (three attempts of the provider timeout, and
    /// the waits between them) must fit in a lease, or another replica could take the message
    /// while it is still being sent.
    pub(super) fn parse(p: &mut Parser, provider_timeout: Duration) -> Self {
        let poll_interval = p.millis("outbox_poll_ms", 100, 60_000);
        let lease_secs: u64 = p.parse("outbox_lease_secs", "a whole number of seconds", 60);
        let lease = Duration::from_secs(lease_secs);
        let longest_delivery = provider_timeout * 3 + Duration::from_secs(10);
        if !(1..=3600).contains(&lease_secs) {
            p.fail("outbox_lease_secs", "must be between 1 and 3600".into());
        } else if lease <= longest_delivery {
            p.fail(
                "outbox_lease_secs",
                format!(
                    "must be longer than one delivery can take ({} s: three provider timeouts and the waits between them)",
                    longest_delivery.as_secs()
                ),
            );
        }
        let batch_size: u32 = p.parse("outbox_batch_size", "a whole number", 10);
        if !(1..=100).contains(&batch_size) {
            p.fail("outbox_batch_size", "must be between 1 and 100".into());
        }
        let max_attempts: u32 = p.parse("outbox_max_attempts", "a whole number", 8);
        if !(1..=100).contains(&max_attempts) {
            p.fail("outbox_max_attempts", "must be between 1 and 100".into());
        }
        let base = p.millis("outbox_backoff_base_ms", 10, 3_600_000);
        let cap_secs: u64 = p.parse("outbox_backoff_cap_secs", "a whole number of seconds", 3600);
        let cap = Duration::from_secs(cap_secs);
        if !(1..=86_400).contains(&cap_secs) {
            p.fail(
                "outbox_backoff_cap_secs",
                "must be between 1 and 86400".into(),
            );
        } else if cap < base {
            p.fail(
                "outbox_backoff_cap_secs",
                "must not be shorter than BAZAAR_OUTBOX_BACKOFF_BASE_MS".into(),
            );
        }
        let cap_per_hour: u32 = p.parse(
            "outbox_cap_per_hour",
            "a whole number",
            DEFAULT_CAP_PER_HOUR,
        );
        Self {
            poll_interval,
            lease,
            batch_size,
            schedule: RetrySchedule {
                base,
                cap,
                max_attempts,
            },
            cap_per_hour,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::vars;
    use crate::config::Settings;
    use crate::domain::outbox::NoticeKind;

    #[test]
    fn outbox_settings_default_to_a_patient_schedule_and_are_checked() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!(s.outbox, OutboxSettings::default());
        assert_eq!(
            s.providers
                .sendgrid
                .notice_templates
                .get(NoticeKind::Refund)
                .unwrap()
                .get("hi"),
            ("en", "d-refund")
        );
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_OUTBOX_LEASE_SECS", "20"),
                ("BAZAAR_OUTBOX_MAX_ATTEMPTS", "0"),
                ("BAZAAR_OUTBOX_BACKOFF_BASE_MS", "120000"),
                ("BAZAAR_OUTBOX_BACKOFF_CAP_SECS", "60"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        for name in [
            "BAZAAR_OUTBOX_LEASE_SECS",
            "BAZAAR_OUTBOX_MAX_ATTEMPTS",
            "BAZAAR_OUTBOX_BACKOFF_CAP_SECS",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }
}
