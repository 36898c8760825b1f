//! Idempotency records over the key-value port, held against memory, Redis and
//! a Redis Cluster alike: claims, replays, mismatches, in-flight duplicates,
//! release, scopes and expiry.

use std::sync::Arc;
use std::time::Duration;

use bazaar::app::idempotency::{
    Begin, Fingerprint, IdempotencyKey, IdempotencySettings, IdempotencyStore, Scope,
    StoredResponse, Ticket,
};
use bazaar::kv::memory::MemoryKv;
use bazaar::kv::KeyValueStore;

use super::conformance;
use crate::kit::{redis_cluster_kv, redis_kv};

const LONG: IdempotencySettings = IdempotencySettings {
    ttl: Duration::from_secs(60),
    in_flight_ttl: Duration::from_secs(60),
};

fn store(kv: &Arc<dyn KeyValueStore>, settings: IdempotencySettings) -> IdempotencyStore {
    IdempotencyStore::new(kv.clone(), settings)
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).expect("a valid key")
}

fn scope() -> Scope {
    Scope::user("user-1", "createOrder")
}

fn fingerprint(body: &str) -> Fingerprint {
    Fingerprint::of("POST", "/api/v1/orders", body.as_bytes())
}

fn created(body: &[u8]) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: Some("application/json; charset=utf-8".into()),
        location: Some("/api/v1/orders/o1".into()),
        etag: Some("\"1\"".into()),
        body: body.to_vec(),
    }
}

async fn claim(store: &IdempotencyStore, scope: &Scope, k: &str, body: &str) -> Ticket {
    match store
        .begin(scope, &key(k), &fingerprint(body))
        .await
        .unwrap()
    {
        Begin::Proceed(ticket) => ticket,
        other => panic!("expected to proceed, got {other:?}"),
    }
}

async fn begin(store: &IdempotencyStore, scope: &Scope, k: &str, body: &str) -> Begin {
    store
        .begin(scope, &key(k), &fingerprint(body))
        .await
        .unwrap()
}

pub async fn a_finished_request_is_replayed_byte_for_byte(kv: &Arc<dyn KeyValueStore>) {
    let store = store(kv, LONG);
    let ticket = claim(&store, &scope(), "k1", "{}").await;
    // Every byte value, so nothing is lost between the body and the stored record.
    let answer = created(&(0..=255).collect::<Vec<u8>>());
    assert!(store.complete(ticket, &answer).await.unwrap());

    for _ in 0..2 {
        match begin(&store, &scope(), "k1", "{}").await {
            Begin::Replay(stored) => assert_eq!(stored, answer),
            other => panic!("expected a replay, got {other:?}"),
        }
    }
}

pub async fn a_key_used_for_another_request_is_a_mismatch(kv: &Arc<dyn KeyValueStore>) {
    let store = store(kv, LONG);
    let running = claim(&store, &scope(), "k1", r#"{"qty":1}"#).await;
    assert!(matches!(
        begin(&store, &scope(), "k1", r#"{"qty":2}"#).await,
        Begin::Mismatch
    ));
    assert!(store.complete(running, &created(b"{}")).await.unwrap());
    assert!(matches!(
        begin(&store, &scope(), "k1", r#"{"qty":2}"#).await,
        Begin::Mismatch
    ));
}

pub async fn a_duplicate_of_a_running_request_is_in_flight(kv: &Arc<dyn KeyValueStore>) {
    let store = store(kv, LONG);
    let ticket = claim(&store, &scope(), "k1", "{}").await;
    assert!(matches!(
        begin(&store, &scope(), "k1", "{}").await,
        Begin::InFlight
    ));
    assert!(store.complete(ticket, &created(b"done")).await.unwrap());
    assert!(matches!(
        begin(&store, &scope(), "k1", "{}").await,
        Begin::Replay(_)
    ));
}

pub async fn concurrent_duplicates_let_exactly_one_proceed(kv: &Arc<dyn KeyValueStore>) {
    let (store, scope) = (store(kv, LONG), scope());
    let attempts = (0..16).map(|_| begin(&store, &scope, "race", "{}"));
    let outcomes = futures::future::join_all(attempts).await;
    let proceeding = outcomes
        .iter()
        .filter(|b| matches!(b, Begin::Proceed(_)))
        .count();
    let in_flight = outcomes
        .iter()
        .filter(|b| matches!(b, Begin::InFlight))
        .count();
    assert_eq!((proceeding, in_flight), (1, 15));
}

pub async fn an_abandoned_key_can_run_again(kv: &Arc<dyn KeyValueStore>) {
    let store = store(kv, LONG);
    let failed = claim(&store, &scope(), "k1", "{}").await;
    assert!(store.abandon(failed).await.unwrap());
    let retry = claim(&store, &scope(), "k1", "{}").await;
    assert!(store.complete(retry, &created(b"second")).await.unwrap());
    match begin(&store, &scope(), "k1", "{}").await {
        Begin::Replay(stored) => assert_eq!(stored.body, b"second"),
        other => panic!("expected a replay, got {other:?}"),
    }
}

pub async fn scopes_keep_the_same_key_apart(kv: &Arc<dyn KeyValueStore>) {
    let store = store(kv, LONG);
    let scopes = [
        Scope::user("user-1", "createOrder"),
        Scope::user("user-2", "createOrder"),
        Scope::user("user-1", "refundOrder"),
        Scope::anonymous("createOrder"),
    ];
    for (i, scope) in scopes.iter().enumerate() {
        // A different body in each scope: none of them sees another's record.
        let ticket = claim(&store, scope, "shared", &i.to_string()).await;
        assert!(store
            .complete(ticket, &created(i.to_string().as_bytes()))
            .await
            .unwrap());
    }
    for (i, scope) in scopes.iter().enumerate() {
        match begin(&store, scope, "shared", &i.to_string()).await {
            Begin::Replay(stored) => assert_eq!(stored.body, i.to_string().as_bytes()),
            other => panic!("expected a replay in scope {i}, got {other:?}"),
        }
    }
}

pub async fn an_unfinished_claim_expires_and_cannot_overwrite_its_successor(
    kv: &Arc<dyn KeyValueStore>,
) {
    let store = store(
        kv,
        IdempotencySettings {
            ttl: Duration::from_secs(3600),
            in_flight_ttl: Duration::from_secs(60),
        },
    );
    let stale = claim(&store, &scope(), "k1", "{}").await;
    kv.fast_forward(Duration::from_secs(61)).await.unwrap();
    let successor = claim(&store, &scope(), "k1", "{}").await;

    assert!(
        !store.complete(stale, &created(b"stale")).await.unwrap(),
        "a claim that expired must not store its answer"
    );
    assert!(store.complete(successor, &created(b"fresh")).await.unwrap());
    match begin(&store, &scope(), "k1", "{}").await {
        Begin::Replay(stored) => assert_eq!(stored.body, b"fresh"),
        other => panic!("expected a replay, got {other:?}"),
    }
}

pub async fn a_kept_answer_expires_after_its_ttl(kv: &Arc<dyn KeyValueStore>) {
    let store = store(
        kv,
        IdempotencySettings {
            ttl: Duration::from_secs(3600),
            in_flight_ttl: Duration::from_secs(60),
        },
    );
    let ticket = claim(&store, &scope(), "k1", "{}").await;
    assert!(store.complete(ticket, &created(b"{}")).await.unwrap());
    kv.fast_forward(Duration::from_secs(3500)).await.unwrap();
    assert!(
        matches!(begin(&store, &scope(), "k1", "{}").await, Begin::Replay(_)),
        "kept for the whole hour"
    );
    kv.fast_forward(Duration::from_secs(101)).await.unwrap();
    let _again = claim(&store, &scope(), "k1", "{}").await;
}

macro_rules! idempotency_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::idempotency,
            [
                a_finished_request_is_replayed_byte_for_byte,
                a_key_used_for_another_request_is_a_mismatch,
                a_duplicate_of_a_running_request_is_in_flight,
                concurrent_duplicates_let_exactly_one_proceed,
                an_abandoned_key_can_run_again,
                scopes_keep_the_same_key_apart,
                an_unfinished_claim_expires_and_cannot_overwrite_its_successor,
                a_kept_answer_expires_after_its_ttl,
            ]
        );
    };
}

// The suite builds stores with its own lifetimes over the port, so it is
// handed the shared handle (`conformance!` passes `&*port`).
fn memory() -> Box<Arc<dyn KeyValueStore>> {
    Box::new(Arc::new(MemoryKv::new()))
}

async fn redis() -> Box<Arc<dyn KeyValueStore>> {
    Box::new(Arc::new(redis_kv().await))
}

async fn redis_cluster() -> Box<Arc<dyn KeyValueStore>> {
    Box::new(Arc::new(redis_cluster_kv().await))
}

idempotency_suite!(memory_backend, memory());
idempotency_suite!(redis_backend, redis().await);
idempotency_suite!(redis_cluster_backend, redis_cluster().await);
