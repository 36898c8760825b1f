//! The one error every adapter returns, in terms the service can act on: try again later,
//! slow down, fix our credentials, or fix the request. Provider-specific failures are mapped
//! here by each adapter, so the service never matches on a provider's status codes or bodies.

use std::time::Duration;

/// Why a call to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// Network failure, timeout, or a 5xx after retries: the provider may work later.
    #[error("{provider} is unavailable: {message}")]
    Unavailable {
        /// The provider's name, e.g. `"msg91"`.
        provider: &'static str,
        /// What went wrong; never contains a credential, an OTP code or a request URL.
        message: String,
    },
    /// 429 after retries.
    #[error("{provider} is rate limiting us")]
    RateLimited {
        /// The provider's name.
        provider: &'static str,
        /// How long the provider asked us to wait on its last answer, when it said.
        retry_after: Option<Duration>,
    },
    /// 401/403: our credentials are wrong. Never include the key in the message.
    #[error("{provider} refused our credentials")]
    Unauthorized {
        /// The provider's name.
        provider: &'static str,
    },
    /// The provider rejected the request (4xx, or MSG91's type=error with HTTP 200).
    #[error("{provider} rejected the request: {message}")]
    Rejected {
        /// The provider's name.
        provider: &'static str,
        /// The HTTP status of the provider's answer (200 for MSG91's in-body errors).
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
}
