//! Retrying provider calls: which failures are worth another attempt, how long to wait
//! between attempts, and what error to give up with. Both HTTP clients send every request
//! through `RetryPolicy::send`, so they retry the same way. A call whose retry must do more
//! than resend its request (Razorpay's order creation looks its receipt up again first) is
//! retried as a whole with `RetryPolicy::run`, its requests sent once each.
//!
//! Retried: connection errors and timeouts, 5xx and 429. Everything else (2xx, 3xx, other
//! 4xx) is handed back to the adapter, which knows how its provider reports success and
//! rejection.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::error::AdapterError;

/// How often and how patiently to retry a failed provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` sends each request once.
    pub max_retries: u32,
    /// Delay before the first retry; it doubles for each retry after that.
    pub base_delay: Duration,
    /// Upper bound on any one delay, including one a provider asks for with `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, starting at 200 ms, never waiting more than 5 s at a time.
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Why an attempt deserves another try.
enum TransientFailure {
    Network(String),
    ServerError(StatusCode),
    TooManyRequests,
}

impl RetryPolicy {
    /// Sends the request that `build` makes, again after a delay for as long as the failure is
    /// transient and retries remain. A closure rather than a `RequestBuilder` because a request
    /// cannot in general be cloned once built.
    ///
    /// Returns the response for any status that is not retried; the caller interprets it.
    pub(crate) async fn send(
        &self,
        provider: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, AdapterError> {
        let mut retries_done = 0;
        loop {
            let (failure, provider_hint) = match build().send().await {
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        (
                            TransientFailure::TooManyRequests,
                            provider_wait_hint(response.headers()),
                        )
                    } else if status.is_server_error() {
                        (
                            TransientFailure::ServerError(status),
                            provider_wait_hint(response.headers()),
                        )
                    } else {
                        return Ok(response);
                    }
                }
                // A request that could not even be built will not build next time either.
                Err(error) if error.is_builder() => {
                    return Err(AdapterError::Unavailable {
                        provider,
                        message: describe(error),
                    });
                }
                Err(error) => (TransientFailure::Network(describe(error)), None),
            };

            if retries_done >= self.max_retries {
                return Err(match failure {
                    TransientFailure::Network(message) => {
                        AdapterError::Unavailable { provider, message }
                    }
                    TransientFailure::ServerError(status) => AdapterError::Unavailable {
                        provider,
                        message: format!("HTTP {status}"),
                    },
                    TransientFailure::TooManyRequests => AdapterError::RateLimited {
                        provider,
                        retry_after: provider_hint,
                    },
                });
            }

            let delay =
                self.announce_retry(provider, retries_done, provider_hint, &failure.describe());
            tokio::time::sleep(delay).await;
            retries_done += 1;
        }
    }

    /// Runs `attempt` again after a delay for as long as it fails transiently (`Unavailable`,
    /// `RateLimited`) and retries remain: for a call whose retry must do more than send the
    /// same request again. Its requests should be sent with [`Self::single_attempt`], or each
    /// retry here would multiply theirs.
    pub(crate) async fn run<T, Fut>(
        &self,
        provider: &'static str,
        mut attempt: impl FnMut() -> Fut,
    ) -> Result<T, AdapterError>
    where
        Fut: Future<Output = Result<T, AdapterError>>,
    {
        let mut retries_done = 0;
        loop {
            let failure = match attempt().await {
                Ok(done) => return Ok(done),
                Err(failure) => failure,
            };
            let provider_hint = match &failure {
                AdapterError::Unavailable { .. } => None,
                AdapterError::RateLimited { retry_after, .. } => *retry_after,
                AdapterError::Unauthorized { .. } | AdapterError::Rejected { .. } => {
                    return Err(failure)
                }
            };
            if retries_done >= self.max_retries {
                return Err(failure);
            }
            let delay = self.announce_retry(provider, retries_done, provider_hint, &failure);
            tokio::time::sleep(delay).await;
            retries_done += 1;
        }
    }

    /// The wait before retry number `retries_done + 1`, logged with why.
    fn announce_retry(
        &self,
        provider: &'static str,
        retries_done: u32,
        provider_hint: Option<Duration>,
        reason: &dyn std::fmt::Display,
    ) -> Duration {
        let delay = self.delay_before_retry(retries_done, provider_hint, rand::thread_rng().gen());
        tracing::warn!(
            provider,
            retry = retries_done + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            reason = %reason,
            "retrying provider call"
        );
        delay
    }

    /// This policy without its retries: each request is sent once.
    pub(crate) fn single_attempt(&self) -> Self {
        Self {
            max_retries: 0,
            ..self.clone()
        }
    }

    /// The wait before retry number `retries_done + 1`: what the provider asked for when it
    /// said, otherwise exponential backoff; never more than `max_delay`.
    ///
    /// `jitter` in `[0, 1]` spreads the backoff over its upper half ("equal jitter"), so that
    /// callers failing together do not retry together yet each still waits a while.
    fn delay_before_retry(
        &self,
        retries_done: u32,
        provider_hint: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        if let Some(wait) = provider_hint {
            return wait.min(self.max_delay);
        }
        let exponential = self
            .base_delay
            .saturating_mul(2_u32.saturating_pow(retries_done))
            .min(self.max_delay);
        exponential.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

impl TransientFailure {
    fn describe(&self) -> String {
        match self {
            Self::Network(message) => message.clone(),
            Self::ServerError(status) => format!("HTTP {status}"),
            Self::TooManyRequests => "HTTP 429 Too Many Requests".to_owned(),
        }
    }
}

/// How long the provider asked us to wait: `Retry-After` in seconds, else SendGrid's
/// `X-RateLimit-Reset` (a Unix time). The HTTP-date form of `Retry-After` is not used by
/// either provider and is ignored, which falls back to backoff.
fn provider_wait_hint(headers: &HeaderMap) -> Option<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    wait_hint_at(headers, now)
}

fn wait_hint_at(headers: &HeaderMap, now_unix_seconds: u64) -> Option<Duration> {
    let seconds = |name| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let Some(after) = seconds(RETRY_AFTER.as_str()) {
        return Some(Duration::from_secs(after));
    }
    let reset = seconds("x-ratelimit-reset")?;
    (reset > now_unix_seconds).then(|| Duration::from_secs(reset - now_unix_seconds))
}

/// The error and its causes, without the request URL: MSG91 carries the OTP code in the query.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_default_policy_retries_twice_from_200ms_up_to_5s() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_retries, 2);
        assert_eq!(policy.base_delay, Duration::from_millis(200));
        assert_eq!(policy.max_delay, Duration::from_secs(5));
    }

    #[test]
    fn backoff_doubles_with_each_retry_at_full_jitter() {
        let policy = policy();
        let delays: Vec<_> = (0..4)
            .map(|n| policy.delay_before_retry(n, None, 1.0))
            .collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800].map(Duration::from_millis).to_vec()
        );
    }

    #[test]
    fn jitter_keeps_the_delay_within_the_upper_half_of_the_backoff() {
        let policy = policy();
        assert_eq!(
            policy.delay_before_retry(2, None, 0.0),
            Duration::from_millis(200)
        );
        assert_eq!(
            policy.delay_before_retry(2, None, 0.5),
            Duration::from_millis(300)
        );
        assert_eq!(
            policy.delay_before_retry(2, None, 7.0),
            Duration::from_millis(400)
        );
    }

    #[test]
    fn backoff_never_exceeds_max_delay_even_after_many_retries() {
        let policy = policy();
        assert_eq!(
            policy.delay_before_retry(4, None, 1.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            policy.delay_before_retry(64, None, 1.0),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_provider_hint_replaces_backoff_but_is_capped_at_max_delay() {
        let policy = policy();
        let short = Some(Duration::from_millis(700));
        let long = Some(Duration::from_secs(60));
        assert_eq!(
            policy.delay_before_retry(0, short, 0.0),
            Duration::from_millis(700)
        );
        assert_eq!(
            policy.delay_before_retry(0, long, 0.0),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_wins_over_rate_limit_reset() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(wait_hint_at(&headers, 900), Some(Duration::from_secs(3)));
    }

    #[test]
    fn rate_limit_reset_is_a_unix_time_and_only_counts_when_in_the_future() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(wait_hint_at(&headers, 990), Some(Duration::from_secs(10)));
        assert_eq!(wait_hint_at(&headers, 1000), None);
    }

    #[test]
    fn an_unparseable_retry_after_gives_no_hint() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(wait_hint_at(&headers, 0), None);
        assert_eq!(wait_hint_at(&HeaderMap::new(), 0), None);
    }
}
