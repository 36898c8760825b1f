//! The query string's first check, before any route reads it: bounded, unambiguous and
//! UTF-8.

use std::collections::HashSet;

use poem::Request;

use crate::app::errors::{AppError, ErrorCode};

/// The most `name=value` pairs a query string may have. The widest operation
/// (the product list) takes about a dozen parameters and each may appear once,
/// so more than this is never a real client; refusing it first keeps the work a
/// query costs bounded before anything else runs.
pub const MAX_QUERY_PAIRS: usize = 100;

/// Refuses query strings that would be read ambiguously, lossily or at length:
/// more than [`MAX_QUERY_PAIRS`] pairs (counted before anything is decoded), a
/// key that appears twice (which one wins differs between frameworks), or
/// percent-encoded bytes that are not UTF-8 (they would silently become U+FFFD).
/// Linear in the query's length.
pub(super) fn check_query(req: &Request) -> Result<(), AppError> {
    let Some(query) = req.uri().query() else {
        return Ok(());
    };
    let pairs = || query.split('&').filter(|p| !p.is_empty());
    if pairs().nth(MAX_QUERY_PAIRS).is_some() {
        return Err(AppError::new(
            ErrorCode::TooManyQueryParameters,
            format!("the query string has more than {MAX_QUERY_PAIRS} parameters"),
        ));
    }
    let decode = |raw: &str| {
        let raw = if raw.contains('+') {
            std::borrow::Cow::Owned(raw.replace('+', " "))
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
        percent_encoding::percent_decode_str(&raw)
            .decode_utf8()
            .map(|s| s.into_owned())
    };
    let mut seen: HashSet<String> = HashSet::new();
    for pair in pairs() {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key).map_err(|_| {
            AppError::new(
                ErrorCode::BadRequest,
                "a query parameter name is not valid UTF-8",
            )
        })?;
        if decode(raw_value).is_err() {
            return Err(AppError::invalid_parameter(&key, "is not valid UTF-8"));
        }
        if seen.contains(&key) {
            return Err(AppError {
                errors: vec![crate::domain::validation::FieldError::new(
                    key.as_str(),
                    "duplicate",
                    "appears more than once",
                )],
                ..AppError::new(
                    ErrorCode::DuplicateQueryParameter,
                    format!("query parameter `{key}` appears more than once; send it once"),
                )
            });
        }
        seen.insert(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Result<(), AppError> {
        check_query(&Request::builder().uri_str(format!("/x?{q}")).finish())
    }

    fn keys(n: usize) -> String {
        (0..n)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn a_query_of_many_pairs_is_refused_before_it_is_decoded() {
        assert!(query(&keys(MAX_QUERY_PAIRS)).is_ok());
        let e = query(&keys(MAX_QUERY_PAIRS + 1)).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyQueryParameters);
        // Even when one of them is not UTF-8: counting comes first.
        let e = query(&format!("{}&bad=%ff", keys(5_000))).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooManyQueryParameters);
    }

    #[test]
    fn a_duplicate_key_is_found_wherever_it_is_and_however_it_is_spelled() {
        let e = query(&format!("{}&k0=again", keys(MAX_QUERY_PAIRS - 1))).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateQueryParameter);
        assert_eq!(e.errors[0].field, "k0");
        let e = query("a+b=1&a%20b=2").unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateQueryParameter);
        assert!(query("a=1&&b=2&").is_ok(), "empty pairs are not parameters");
    }
}
