//! The reqwest client every real adapter is built on, and the checks on configuration that
//! every adapter makes the same way: a usable base URL and a credential that can travel in a
//! header without being logged.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{redirect, Client, Url};

use crate::error::AdapterError;

/// A client whose every request gives up after `timeout`, and which never follows redirects:
/// reqwest drops `Authorization` on a cross-site redirect but not a custom header such as
/// MSG91's `authkey`, and neither provider redirects its API calls.
pub(crate) fn client(provider: &'static str, timeout: Duration) -> Result<Client, AdapterError> {
    Client::builder()
        .timeout(timeout)
        .redirect(redirect::Policy::none())
        .build()
        .map_err(|error| AdapterError::Unavailable {
            provider,
            message: format!("cannot build an HTTP client: {error}"),
        })
}

/// `base_url` without a trailing slash, after checking it is an absolute http(s) URL, so a
/// typo in configuration fails at startup instead of on the first OTP.
pub(crate) fn base_url(provider: &'static str, base_url: &str) -> Result<String, AdapterError> {
    let invalid = |reason: &str| AdapterError::Unavailable {
        provider,
        message: format!("invalid base URL {base_url:?}: {reason}"),
    };
    let parsed = Url::parse(base_url).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

/// A header value holding a credential, marked sensitive so that reqwest and hyper never
/// print it. An empty or non-printable key cannot be right, so it counts as refused
/// credentials, and the error says nothing about the key itself.
pub(crate) fn secret_header(
    provider: &'static str,
    value: &str,
) -> Result<HeaderValue, AdapterError> {
    if value.trim().is_empty() {
        return Err(AdapterError::Unauthorized { provider });
    }
    let mut header =
        HeaderValue::from_str(value).map_err(|_| AdapterError::Unauthorized { provider })?;
    header.set_sensitive(true);
    Ok(header)
}

/// At most `limit` characters of `text`, for quoting an unexpected response in an error.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &trimmed[..end]),
        None => trimmed.to_owned(),
    }
}
