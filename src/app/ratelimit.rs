//! Rate limits per route group and client, counted in the key-value store so
//! every replica enforces one shared budget (see `KeyValueStore::hit_rate_limit`
//! for the atomic counting and the exponential back-off of repeat offenders).

use std::sync::Arc;
use std::time::Duration;

use crate::kv::{KeyValueStore, KvError, RateLimitState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `/api/v1/auth/otp/send`, `/api/v1/auth/password/forgot` and
    /// `/api/v1/auth/register`: each sends an SMS.
    Otp,
    /// The rest of `/api/v1/auth` (sign-in, refresh, resets) and
    /// `/api/v1/users/me/password`, which checks a password too.
    Auth,
    /// Everything else under `/api/`.
    Default,
}

impl Group {
    pub fn for_path(path: &str) -> Option<Self> {
        const SENDS_SMS: [&str; 3] = [
            "/api/v1/auth/otp/send",
            "/api/v1/auth/password/forgot",
            "/api/v1/auth/register",
        ];
        if SENDS_SMS.contains(&path) {
            Some(Self::Otp)
        } else if path.starts_with("/api/v1/auth/") || path == "/api/v1/users/me/password" {
            Some(Self::Auth)
        } else if path.starts_with("/api/v1/webhooks/") {
            // Providers deliver from a few addresses in bursts, authenticated by
            // their signature; a 429 would only make them retry (and give up).
            None
        } else if path.starts_with("/api/") {
            Some(Self::Default)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Auth => "auth",
            Self::Default => "default",
        }
    }

    /// Whether a signed-in caller is counted as a user rather than by address.
    /// Only outside the auth routes: there the budget guards sign-in, OTP and
    /// resets against guessing, and a token (any account's, the attacker's own
    /// included) must not move a client to a fresh bucket.
    pub fn keys_on_user(self) -> bool {
        self == Self::Default
    }

    /// When the store is down, the default group lets requests through (reads
    /// should not fail for want of a counter) but the auth groups do not: an
    /// unlimited sign-in endpoint is an open door to password guessing.
    pub fn fails_open(self) -> bool {
        self == Self::Default
    }
}

/// One group's budget.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: u32,
    pub window: Duration,
}

pub struct RateLimits {
    kv: Arc<dyn KeyValueStore>,
    otp: Option<Budget>,
    auth: Option<Budget>,
    default: Option<Budget>,
}

/// Repeat offenders are blocked for at most this long.
const MAX_BLOCK: Duration = Duration::from_secs(3600);

impl RateLimits {
    /// Limits of 0 turn a group off.
    pub fn new(
        kv: Arc<dyn KeyValueStore>,
        otp_per_hour: u32,
        auth_per_minute: u32,
        default_per_minute: u32,
    ) -> Self {
        let budget = |limit: u32, secs: u64| {
            (limit > 0).then_some(Budget {
                limit,
                window: Duration::from_secs(secs),
            })
        };
        Self {
            kv,
            otp: budget(otp_per_hour, 3600),
            auth: budget(auth_per_minute, 60),
            default: budget(default_per_minute, 60),
        }
    }

    pub fn budget(&self, group: Group) -> Option<Budget> {
        match group {
            Group::Otp => self.otp,
            Group::Auth => self.auth,
            Group::Default => self.default,
        }
    }

    /// Counts one request by `client` (`user:<id>` or `ip:<address>`, see
    /// [`Group::keys_on_user`]) in `group`.
    pub async fn hit(
        &self,
        group: Group,
        client: &str,
    ) -> Result<Option<(Budget, RateLimitState)>, KvError> {
        let Some(budget) = self.budget(group) else {
            return Ok(None);
        };
        let bucket = format!("{}:{client}", group.name());
        let state = self
            .kv
            .hit_rate_limit(
                &bucket,
                budget.limit,
                budget.window,
                MAX_BLOCK.max(budget.window),
            )
            .await?;
        Ok(Some((budget, state)))
    }
}
