//! Body bombs: a small request whose body decodes, or streams, to far more than the body
//! limit. The attack of issue 14: `Content-Encoding: gzip` over 300 MB of padding, 291 KB on
//! the wire, took a server from 2 MB to 1 GB resident. Each bomb here is a valid product
//! padded with JSON whitespace, so a server that read it whole would also *store* it.
//!
//! All against the real binary in production, whose body limit is the default 1 MiB.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
use async_compression::Level;
use bazaar_adapters::razorpay::webhook_signature;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::prod::{Production, RAZORPAY_WEBHOOK_SECRET};
use crate::kit::{bearer_client, get_json, problem};

const MIB: usize = 1 << 20;

/// What a bomb decodes to: gzip and zstd allow concatenated members (frames), so 300 MiB
/// costs little to build; brotli and deflate are one stream each, built at 32 MiB (still 32
/// times the limit) to keep the test quick in a debug build.
fn decoded_size(coding: &str) -> usize {
    match coding {
        "gzip" | "zstd" => 300 * MIB,
        _ => 32 * MIB,
    }
}

const CODINGS: [&str; 4] = ["gzip", "deflate", "br", "zstd"];

fn product(sku: &str) -> Vec<u8> {
    json!({
        "sku": sku, "name": format!("Bomb {sku}"), "description": "padded",
        "price": 49900, "currency": "INR", "category": "books", "tags": []
    })
    .to_string()
    .into_bytes()
}

/// `head` then `len` bytes of JSON whitespace, without holding them in memory.
fn padded(head: Vec<u8>, len: usize) -> impl AsyncRead + Unpin + Send {
    let pad = len.saturating_sub(head.len()) as u64;
    std::io::Cursor::new(head).chain(tokio::io::repeat(b' ').take(pad))
}

async fn encode(coding: &str, input: impl AsyncRead + Unpin + Send) -> Vec<u8> {
    let input = tokio::io::BufReader::new(input);
    let mut out = Vec::new();
    match coding {
        "gzip" => GzipEncoder::new(input).read_to_end(&mut out).await,
        // HTTP's `deflate` is zlib (RFC 9110 §8.4.1.2).
        "deflate" => ZlibEncoder::new(input).read_to_end(&mut out).await,
        // Brotli's default (11) is slow in a debug build; its fastest still packs 32 MiB
        // of spaces into tens of kilobytes.
        "br" => {
            BrotliEncoder::with_quality(input, Level::Fastest)
                .read_to_end(&mut out)
                .await
        }
        "zstd" => ZstdEncoder::new(input).read_to_end(&mut out).await,
        other => panic!("no encoder for {other}"),
    }
    .expect("encoding in memory cannot fail");
    out
}

/// A product padded with whitespace to [`decoded_size`], in `coding`.
async fn bomb(coding: &str, sku: &str) -> Vec<u8> {
    let size = decoded_size(coding);
    if matches!(coding, "gzip" | "zstd") {
        // One member with the product, then members of padding alone.
        let mut wire = encode(coding, padded(product(sku), MIB)).await;
        let padding = encode(coding, padded(Vec::new(), MIB)).await;
        for _ in 1..size / MIB {
            wire.extend_from_slice(&padding);
        }
        wire
    } else {
        encode(coding, padded(product(sku), size)).await
    }
}

/// The products stored, asked on a connection of its own: one that was refused while still
/// sending its body is closed by the server.
async fn stored_products(app: &Production, token: &str) -> Vec<Value> {
    let list: Value = bearer_client(token)
        .get(app.url("/api/v1/products?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn post_product(
    client: &reqwest::Client,
    app: &Production,
    coding: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = client
        .post(app.url("/api/v1/products"))
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(60));
    if let Some(coding) = coding {
        request = request.header("content-encoding", coding);
    }
    request.body(body).send().await.expect("request sent")
}

#[tokio::test]
async fn a_bomb_in_each_content_coding_is_refused_413_and_nothing_is_stored() {
    let app = Production::start("security-bomb-codings").await;
    let token = app.admin_token().await;
    for coding in CODINGS {
        let wire = bomb(coding, &format!("BOMB-{coding}")).await;
        assert!(
            wire.len() < MIB,
            "the {coding} bomb is {} bytes on the wire",
            wire.len()
        );
        // A connection each: one refused before its body was read is closed.
        let response = post_product(&bearer_client(&token), &app, Some(coding), wire).await;
        assert_eq!(response.status(), 413, "{coding}");
        let body = problem(response).await;
        assert_eq!(body["code"], "payload_too_large", "{coding}: {body}");
    }
    assert_eq!(stored_products(&app, &token).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_413_and_nothing_is_stored() {
    let app = Production::start("security-bomb-chunked").await;
    let token = app.admin_token().await;
    let admin = bearer_client(&token);
    let mut body = product("BOMB-CHUNKED");
    body.resize(2 * MIB, b' ');
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    // A streamed body has no Content-Length: HTTP/1.1 sends it chunked.
    let response = post_product(
        &admin,
        &app,
        None,
        reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["code"], "payload_too_large");
    assert_eq!(stored_products(&app, &token).await, Vec::<Value>::new());
}

/// poem's listener speaks HTTP/2 over cleartext to clients that start with it (h2c prior
/// knowledge); an HTTP/2 body need not declare its length either.
#[tokio::test]
async fn an_http2_body_over_the_limit_is_refused_413_and_nothing_is_stored() {
    let app = Production::start("security-bomb-http2").await;
    let token = app.admin_token().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut body = product("BOMB-H2");
    body.resize(2 * MIB, b' ');
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let response = h2
        .post(app.url("/api/v1/products"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["code"], "payload_too_large");

    // The same bomb in gzip over HTTP/2.
    let response = h2
        .post(app.url("/api/v1/products"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb("gzip", "BOMB-H2-GZIP").await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(stored_products(&app, &token).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_compressed_body_within_the_limit_is_decoded_and_stored() {
    let app = Production::start("security-bomb-normal").await;
    let token = app.admin_token().await;
    let admin = bearer_client(&token);
    for coding in CODINGS {
        let sku = format!("ZIP-{}", coding.to_uppercase());
        let wire = encode(coding, std::io::Cursor::new(product(&sku))).await;
        let response = post_product(&admin, &app, Some(coding), wire).await;
        let status = response.status();
        let created: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{coding}: {created}");
        assert_eq!(created["sku"], sku.as_str());
    }
    assert_eq!(stored_products(&app, &token).await.len(), CODINGS.len());
}

#[tokio::test]
async fn an_unknown_or_stacked_content_coding_is_refused_415_and_nothing_is_stored() {
    let app = Production::start("security-bomb-coding").await;
    let token = app.admin_token().await;
    for coding in ["compress", "gzip, gzip", "xz"] {
        let client = bearer_client(&token);
        let response = post_product(&client, &app, Some(coding), product("ODD-CODING")).await;
        assert_eq!(response.status(), 415, "{coding}");
        assert_eq!(problem(response).await["code"], "unsupported_media_type");
    }
    assert_eq!(stored_products(&app, &token).await, Vec::<Value>::new());
}

/// The webhook receiver checks Razorpay's signature over the body exactly as sent: reading it
/// through the capped reader must not change a byte, however it arrives.
#[tokio::test]
async fn a_signed_webhook_still_verifies_over_its_exact_bytes_sent_chunked_or_gzipped() {
    let app = Production::start("security-bomb-webhook").await;
    let admin = bearer_client(&app.admin_token().await);
    let client = reqwest::Client::new();
    let secret = SecretString::from(RAZORPAY_WEBHOOK_SECRET.to_owned());
    // Not pretty-printed on purpose: odd spacing must survive as is.
    let raw = br#"{"entity":"event",  "account_id":"acc_Bomb","event":"refund.created","contains":["refund"],"payload":{},"created_at":1767225600}"#;
    let sends: [(&str, Option<&str>); 2] =
        [("evt_bomb_chunked", None), ("evt_bomb_gzip", Some("gzip"))];
    for (event_id, coding) in sends {
        let body = match coding {
            None => reqwest::Body::wrap_stream(futures::stream::iter(
                raw.chunks(7)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            )),
            Some(coding) => reqwest::Body::from(encode(coding, &raw[..]).await),
        };
        let mut request = client
            .post(app.url("/api/v1/webhooks/razorpay"))
            .header("content-type", "application/json")
            .header("x-razorpay-event-id", event_id)
            .header("x-razorpay-signature", webhook_signature(&secret, raw));
        if let Some(coding) = coding {
            request = request.header("content-encoding", coding);
        }
        let response = request.body(body).send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "{event_id}: {:?}",
            response.text().await
        );
    }
    let events: Value = get_json(&admin, app.url("/api/v1/admin/webhooks")).await;
    let payloads: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["payload"].as_str())
        .collect();
    let raw_text = std::str::from_utf8(raw).unwrap();
    assert_eq!(payloads, [raw_text, raw_text]);
}

/// `VmRSS` or `VmHWM` of a process, in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kib * 1024
}

#[tokio::test]
async fn twenty_concurrent_bombs_keep_peak_memory_within_50_mib_of_idle() {
    let app = Production::start("security-bomb-memory").await;
    let token = app.admin_token().await;
    let pid = app.app.pid();
    // Five bombs in each coding, built before anything is measured.
    let mut bombs = Vec::new();
    for coding in CODINGS {
        let wire = bomb(coding, &format!("MEM-{coding}")).await;
        bombs.extend(std::iter::repeat_n((coding, wire), 5));
    }
    // Idle: after startup and a few ordinary requests, quiet for a moment.
    for _ in 0..5 {
        stored_products(&app, &token).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = memory(pid, "VmRSS");
    // From here `VmHWM` is the peak of the burst alone (Linux: "5" resets the high-water
    // mark to the current RSS). Sampling `VmRSS` meanwhile is the cross-check.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(memory(pid, "VmRSS"));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let requests = bombs.into_iter().map(|(coding, wire)| {
        // A client each: 20 connections, as 20 attackers would open.
        let client = bearer_client(&token);
        let app = &app;
        async move {
            (
                coding,
                post_product(&client, app, Some(coding), wire)
                    .await
                    .status(),
            )
        }
    });
    let statuses = futures::future::join_all(requests).await;
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let sampled_peak = sampler.join().unwrap().max(memory(pid, "VmRSS"));
    let hwm = memory(pid, "VmHWM");
    let peak = if reset {
        hwm.max(sampled_peak)
    } else {
        sampled_peak
    };

    for (coding, status) in &statuses {
        assert_eq!(status.as_u16(), 413, "a {coding} bomb was not refused");
    }
    let mib = |b: u64| b as f64 / MIB as f64;
    eprintln!(
        "idle {:.1} MiB, peak {:.1} MiB (VmHWM {:.1} MiB{}, sampled {:.1} MiB): +{:.1} MiB for 20 bombs",
        mib(idle),
        mib(peak),
        mib(hwm),
        if reset { ", reset before the burst" } else { ", not resettable" },
        mib(sampled_peak),
        mib(peak.saturating_sub(idle)),
    );
    assert!(
        peak.saturating_sub(idle) <= 50 * MIB as u64,
        "peak {:.1} MiB is more than 50 MiB above idle {:.1} MiB",
        mib(peak),
        mib(idle)
    );
    assert_eq!(stored_products(&app, &token).await, Vec::<Value>::new());
}
