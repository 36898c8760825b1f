//! Request bodies as handlers get them: decoded from their content coding and
//! never longer than the body limit, whatever the wire said.
//!
//! The limit is counted on the *decoded* bytes, as they are produced: a 300 KB
//! gzip of 300 MB of zeros is refused after the limit's worth of zeros, and a
//! body without `Content-Length` (HTTP/1.1 chunked, HTTP/2) is read the same way.
//! Decoders only run as far as they are pulled, so neither memory nor CPU grows
//! with what a bomb claims to hold.

use std::pin::Pin;

use async_compression::tokio::bufread::{
    BrotliDecoder, DeflateDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder,
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use poem::http::{header, HeaderMap};
use poem::Body;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

use crate::app::errors::{AppError, ErrorCode};

/// The content codings Bazaar decodes (RFC 9110 §8.4.1, RFC 7932, RFC 8878).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    /// `deflate`: zlib (RFC 1950) as HTTP defines it, or the raw deflate some
    /// clients send under that name; told apart by the zlib header.
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }

    /// The body's coding from `Content-Encoding`: absent or `identity` is none;
    /// one of gzip, deflate, br or zstd is decoded; anything else, or more than
    /// one coding stacked, is refused with 415.
    pub fn of(headers: &HeaderMap) -> Result<Self, AppError> {
        let mut found = Self::Identity;
        let values = headers.get_all(header::CONTENT_ENCODING);
        for value in values.iter() {
            let text = value.to_str().map_err(|_| unsupported("?"))?;
            for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let coding = match token.to_ascii_lowercase().as_str() {
                    "identity" => continue,
                    "gzip" | "x-gzip" => Self::Gzip,
                    "deflate" => Self::Deflate,
                    "br" => Self::Brotli,
                    "zstd" => Self::Zstd,
                    _ => return Err(unsupported(token)),
                };
                // Stacked codings would decode one bomb out of another; no
                // client needs them.
                if found != Self::Identity {
                    return Err(AppError::new(
                        ErrorCode::UnsupportedMediaType,
                        "the body has more than one content coding; send at most one of gzip, deflate, br or zstd",
                    ));
                }
                found = coding;
            }
        }
        Ok(found)
    }
}

fn unsupported(token: &str) -> AppError {
    let shown: String = token.chars().take(40).collect();
    AppError::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "content coding `{shown}` is not supported; send the body as is or in gzip, deflate, br or zstd"
        ),
    )
}

pub(in crate::http) fn too_large(limit: usize) -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// The largest zstd window accepted: 8 MiB, the most an HTTP recipient has to
/// support (RFC 9659); larger windows are memory a client could make us reserve.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Reads the whole body, decoded, and refuses it (413) as soon as it passes
/// `limit` bytes. `declared` is the `Content-Length`, already known to be within
/// the limit, used to size the buffer of an unencoded body.
pub async fn read(
    body: Body,
    coding: Coding,
    limit: usize,
    declared: Option<usize>,
) -> Result<Bytes, AppError> {
    if coding == Coding::Identity {
        return read_plain(body, limit, declared).await;
    }
    let wire = BufReader::new(body.into_async_read());
    let decoded: Pin<Box<dyn AsyncRead + Send>> = match coding {
        Coding::Identity => unreachable!("handled above"),
        // Concatenated gzip members and zstd frames are one body (RFC 1952
        // §2.2, RFC 8878 §3): all of it is decoded and counted, none ignored.
        Coding::Gzip => {
            let mut decoder = GzipDecoder::new(wire);
            decoder.multiple_members(true);
            Box::pin(decoder)
        }
        Coding::Brotli => Box::pin(BrotliDecoder::new(wire)),
        Coding::Zstd => {
            let mut decoder = ZstdDecoder::with_params(
                wire,
                &[async_compression::zstd::DParameter::window_log_max(
                    ZSTD_WINDOW_LOG_MAX,
                )],
            );
            decoder.multiple_members(true);
            Box::pin(decoder)
        }
        Coding::Deflate => deflate(wire).await.map_err(|_| unreadable(coding))?,
    };
    read_decoded(decoded, coding, limit).await
}

/// zlib if the body starts with a zlib header (RFC 1950 §2.2), raw deflate otherwise.
async fn deflate(
    mut wire: BufReader<impl AsyncRead + Send + Unpin + 'static>,
) -> std::io::Result<Pin<Box<dyn AsyncRead + Send>>> {
    let mut head = [0u8; 2];
    let mut filled = 0;
    while filled < head.len() {
        let n = wire.read(&mut head[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let zlib = filled == 2
        && head[0] & 0x0f == 8
        && head[0] >> 4 <= 7
        && u16::from_be_bytes(head) % 31 == 0;
    let input = BufReader::new(std::io::Cursor::new(head[..filled].to_vec()).chain(wire));
    Ok(if zlib {
        Box::pin(ZlibDecoder::new(input))
    } else {
        Box::pin(DeflateDecoder::new(input))
    })
}

/// An unencoded body: its chunks as they come, refused once past the limit.
async fn read_plain(body: Body, limit: usize, declared: Option<usize>) -> Result<Bytes, AppError> {
    let mut chunks = body.into_bytes_stream();
    // A body that arrives in one chunk (most sized ones) is kept without a copy.
    let mut single: Option<Bytes> = None;
    let mut data = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| unreadable(Coding::Identity))?;
        let so_far = data.len() + single.as_ref().map_or(0, Bytes::len);
        if so_far + chunk.len() > limit {
            return Err(too_large(limit));
        }
        if so_far == 0 && single.is_none() {
            single = Some(chunk);
            continue;
        }
        if let Some(first) = single.take() {
            data.reserve(
                declared
                    .unwrap_or(64 * 1024)
                    .clamp(so_far + chunk.len(), limit),
            );
            data.extend_from_slice(&first);
        }
        data.extend_from_slice(&chunk);
    }
    Ok(single.unwrap_or_else(|| data.freeze()))
}

/// Pulls decoded bytes into a buffer that never grows past `limit + 1`: one
/// byte more than allowed is how a body is known to be too large.
async fn read_decoded(
    mut decoded: Pin<Box<dyn AsyncRead + Send>>,
    coding: Coding,
    limit: usize,
) -> Result<Bytes, AppError> {
    let cap = limit.saturating_add(1);
    let mut data = BytesMut::with_capacity((16 * 1024).min(cap));
    loop {
        if data.len() == data.capacity() {
            if data.len() >= cap {
                return Err(too_large(limit));
            }
            let more = data.len().max(16 * 1024).min(cap - data.len());
            data.reserve(more);
        }
        let room = cap - data.len();
        let n = (&mut decoded)
            .take(room as u64)
            .read_buf(&mut data)
            .await
            .map_err(|_| unreadable(coding))?;
        if n == 0 {
            break;
        }
    }
    if data.len() > limit {
        return Err(too_large(limit));
    }
    Ok(data.freeze())
}

fn unreadable(coding: Coding) -> AppError {
    let detail = match coding {
        Coding::Identity => "the request body could not be read".to_owned(),
        other => format!(
            "the request body could not be read as {}: it is truncated or not in that coding",
            other.name()
        ),
    };
    AppError::new(ErrorCode::MalformedBody, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::CONTENT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn codings_are_read_case_insensitively_and_identity_is_none() {
        assert_eq!(Coding::of(&headers(&[])).unwrap(), Coding::Identity);
        assert_eq!(
            Coding::of(&headers(&["identity"])).unwrap(),
            Coding::Identity
        );
        assert_eq!(Coding::of(&headers(&["GZip"])).unwrap(), Coding::Gzip);
        assert_eq!(Coding::of(&headers(&["x-gzip"])).unwrap(), Coding::Gzip);
        assert_eq!(Coding::of(&headers(&["br"])).unwrap(), Coding::Brotli);
        assert_eq!(Coding::of(&headers(&[" zstd "])).unwrap(), Coding::Zstd);
        assert_eq!(
            Coding::of(&headers(&["deflate, identity"])).unwrap(),
            Coding::Deflate
        );
    }

    #[test]
    fn unknown_and_stacked_codings_are_415() {
        for value in [&["compress"][..], &["gzip, br"], &["gzip", "gzip"], &["xz"]] {
            let e = Coding::of(&headers(value)).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsupportedMediaType, "{value:?}");
        }
    }

    async fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
        use async_compression::tokio::bufread::{
            BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder,
        };
        let mut out = Vec::new();
        match coding {
            Coding::Identity => out.extend_from_slice(data),
            Coding::Gzip => GzipEncoder::new(data)
                .read_to_end(&mut out)
                .await
                .map(drop)
                .unwrap(),
            Coding::Deflate => ZlibEncoder::new(data)
                .read_to_end(&mut out)
                .await
                .map(drop)
                .unwrap(),
            Coding::Brotli => BrotliEncoder::new(data)
                .read_to_end(&mut out)
                .await
                .map(drop)
                .unwrap(),
            Coding::Zstd => ZstdEncoder::new(data)
                .read_to_end(&mut out)
                .await
                .map(drop)
                .unwrap(),
        }
        out
    }

    #[tokio::test]
    async fn each_coding_decodes_a_body_within_the_limit() {
        let json = br#"{"identifier":"+919812345678","password":"secret"}"#.repeat(20);
        for coding in [
            Coding::Identity,
            Coding::Gzip,
            Coding::Deflate,
            Coding::Brotli,
            Coding::Zstd,
        ] {
            let wire = encode(coding, &json).await;
            let body = read(Body::from_vec(wire), coding, json.len(), None)
                .await
                .unwrap_or_else(|e| panic!("{coding:?}: {e}"));
            assert_eq!(&body[..], &json[..], "{coding:?}");
        }
    }

    #[tokio::test]
    async fn raw_deflate_is_accepted_as_deflate() {
        use async_compression::tokio::bufread::DeflateEncoder;
        let json = br#"{"a":1}"#;
        let mut wire = Vec::new();
        DeflateEncoder::new(&json[..])
            .read_to_end(&mut wire)
            .await
            .unwrap();
        let body = read(Body::from_vec(wire), Coding::Deflate, 1024, None)
            .await
            .unwrap();
        assert_eq!(&body[..], json);
    }

    #[tokio::test]
    async fn a_decoded_body_one_byte_over_the_limit_is_413_and_at_the_limit_is_kept() {
        let data = vec![b'x'; 4096];
        for coding in [Coding::Identity, Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            let wire = encode(coding, &data).await;
            let over = read(Body::from_vec(wire.clone()), coding, 4095, None).await;
            assert_eq!(
                over.unwrap_err().code,
                ErrorCode::PayloadTooLarge,
                "{coding:?}"
            );
            let exact = read(Body::from_vec(wire), coding, 4096, None).await;
            assert_eq!(exact.unwrap().len(), 4096, "{coding:?}");
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_in_its_coding_or_cut_short_is_malformed() {
        // Raw deflate has no header or checksum to tell text from it, so only a
        // cut-short stream shows; the others say what they are.
        let plain = b"{\"plain\": true, \"but\": \"labelled\"}".to_vec();
        for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
            let e = read(Body::from_vec(plain.clone()), coding, 1024, None)
                .await
                .expect_err(&format!("{coding:?}"));
            assert_eq!(e.code, ErrorCode::MalformedBody, "{coding:?}");
        }
        let data = vec![b'x'; 4096];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let mut wire = encode(coding, &data).await;
            wire.truncate(wire.len() / 2);
            let e = read(Body::from_vec(wire), coding, 8192, None)
                .await
                .expect_err(&format!("{coding:?}"));
            assert_eq!(e.code, ErrorCode::MalformedBody, "{coding:?}");
        }
    }

    #[tokio::test]
    async fn concatenated_gzip_members_and_zstd_frames_all_count_against_the_limit() {
        let part = vec![b' '; 3000];
        for coding in [Coding::Gzip, Coding::Zstd] {
            let one = encode(coding, &part).await;
            let wire = [one.clone(), one.clone(), one].concat();
            let whole = read(Body::from_vec(wire.clone()), coding, 9000, None)
                .await
                .unwrap();
            assert_eq!(whole.len(), 9000, "{coding:?}");
            let e = read(Body::from_vec(wire), coding, 8999, None)
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::PayloadTooLarge, "{coding:?}");
        }
    }
}
