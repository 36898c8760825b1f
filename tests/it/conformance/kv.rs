//! The key-value store contract, held against memory, Redis and a Redis Cluster
//! alike.

use std::sync::Arc;
use std::time::Duration;

use bazaar::kv::memory::MemoryKv;
use bazaar::kv::{KeyValueStore, KvError};

use super::conformance;
use crate::kit::{redis_cluster_kv, redis_kv};

pub async fn values_can_be_set_read_and_deleted(kv: &dyn KeyValueStore) {
    assert_eq!(kv.get("a").await.unwrap(), None);
    kv.set("a", b"one", None).await.unwrap();
    assert_eq!(kv.get("a").await.unwrap(), Some(b"one".to_vec()));
    kv.set("a", b"two", None).await.unwrap();
    assert_eq!(kv.get("a").await.unwrap(), Some(b"two".to_vec()));
    assert!(kv.delete("a").await.unwrap());
    assert!(!kv.delete("a").await.unwrap());
    assert_eq!(kv.get("a").await.unwrap(), None);
}

pub async fn binary_values_survive(kv: &dyn KeyValueStore) {
    let bytes: Vec<u8> = (0..=255).collect();
    kv.set("bin", &bytes, None).await.unwrap();
    assert_eq!(kv.get("bin").await.unwrap(), Some(bytes));
}

pub async fn values_expire_after_their_ttl(kv: &dyn KeyValueStore) {
    kv.set("short", b"x", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    kv.set("long", b"y", Some(Duration::from_secs(120)))
        .await
        .unwrap();
    kv.set("kept", b"z", None).await.unwrap();
    kv.fast_forward(Duration::from_secs(50)).await.unwrap();
    assert!(kv.get("short").await.unwrap().is_some(), "10 s left");
    kv.fast_forward(Duration::from_secs(11)).await.unwrap();
    assert_eq!(kv.get("short").await.unwrap(), None);
    assert!(kv.get("long").await.unwrap().is_some());
    kv.fast_forward(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(kv.get("long").await.unwrap(), None);
    assert!(
        kv.get("kept").await.unwrap().is_some(),
        "a value without a TTL never expires"
    );
}

pub async fn set_if_absent_lets_only_the_first_writer_in(kv: &dyn KeyValueStore) {
    assert!(kv
        .set_if_absent("lock", b"first", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!kv
        .set_if_absent("lock", b"second", Duration::from_secs(60))
        .await
        .unwrap());
    assert_eq!(kv.get("lock").await.unwrap(), Some(b"first".to_vec()));

    assert!(kv
        .set_if_absent("brief", b"1", Duration::from_secs(10))
        .await
        .unwrap());
    kv.fast_forward(Duration::from_secs(11)).await.unwrap();
    assert!(
        kv.set_if_absent("brief", b"2", Duration::from_secs(60))
            .await
            .unwrap(),
        "an expired key is absent"
    );
}

pub async fn concurrent_set_if_absent_has_one_winner(kv: &dyn KeyValueStore) {
    let tries = (0..20).map(|i| async move {
        kv.set_if_absent("race", format!("{i}").as_bytes(), Duration::from_secs(60))
            .await
    });
    let results = futures::future::join_all(tries).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
}

pub async fn counters_count_and_keep_their_first_expiry(kv: &dyn KeyValueStore) {
    let ttl = Duration::from_secs(30);
    let first = kv.increment("hits", 1, ttl).await.unwrap();
    assert_eq!(first.value, 1);
    assert!(
        first.expires_in <= ttl && first.expires_in > Duration::from_secs(25),
        "{first:?}"
    );
    let second = kv
        .increment("hits", 4, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(second.value, 5);
    assert!(
        second.expires_in <= ttl,
        "incrementing must not extend the window: {second:?}"
    );
    kv.fast_forward(Duration::from_secs(10)).await.unwrap();
    let later = kv.increment("hits", 1, ttl).await.unwrap();
    assert_eq!(later.value, 6);
    assert!(
        later.expires_in <= Duration::from_secs(20) && later.expires_in > Duration::from_secs(15),
        "the window has 10 s less to run: {later:?}"
    );
}

pub async fn counters_expire_and_start_again(kv: &dyn KeyValueStore) {
    kv.increment("window", 3, Duration::from_secs(60))
        .await
        .unwrap();
    kv.fast_forward(Duration::from_secs(61)).await.unwrap();
    assert_eq!(
        kv.increment("window", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .value,
        1
    );
}

pub async fn concurrent_increments_are_all_counted(kv: &dyn KeyValueStore) {
    let adds = (0..50).map(|_| kv.increment("many", 1, Duration::from_secs(60)));
    for r in futures::future::join_all(adds).await {
        r.unwrap();
    }
    assert_eq!(
        kv.increment("many", 0, Duration::from_secs(60))
            .await
            .unwrap()
            .value,
        50
    );
}

pub async fn incrementing_a_non_number_fails(kv: &dyn KeyValueStore) {
    kv.set("text", b"hello", None).await.unwrap();
    assert!(matches!(
        kv.increment("text", 1, Duration::from_secs(1)).await,
        Err(KvError::Other(_))
    ));
}

pub async fn compare_and_swap_only_replaces_what_the_caller_read(kv: &dyn KeyValueStore) {
    let ttl = Some(Duration::from_secs(60));
    assert!(
        kv.compare_and_swap("cas", None, Some(b"v1"), ttl)
            .await
            .unwrap(),
        "absent as expected"
    );
    assert!(
        !kv.compare_and_swap("cas", None, Some(b"other"), ttl)
            .await
            .unwrap(),
        "no longer absent"
    );
    assert!(
        !kv.compare_and_swap("cas", Some(b"v0"), Some(b"v2"), ttl)
            .await
            .unwrap(),
        "stale read"
    );
    assert!(kv
        .compare_and_swap("cas", Some(b"v1"), Some(b"v2"), ttl)
        .await
        .unwrap());
    assert_eq!(kv.get("cas").await.unwrap(), Some(b"v2".to_vec()));
    assert!(
        kv.compare_and_swap("cas", Some(b"v2"), None, None)
            .await
            .unwrap(),
        "swap to nothing deletes"
    );
    assert_eq!(kv.get("cas").await.unwrap(), None);
}

pub async fn concurrent_compare_and_swap_has_one_winner(kv: &dyn KeyValueStore) {
    kv.set("cas-race", b"start", None).await.unwrap();
    let tries = (0..20).map(|i| async move {
        kv.compare_and_swap(
            "cas-race",
            Some(b"start"),
            Some(format!("{i}").as_bytes()),
            None,
        )
        .await
    });
    let results = futures::future::join_all(tries).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
}

pub async fn sets_hold_members_once_and_expire(kv: &dyn KeyValueStore) {
    kv.add_to_set("set", "a", Duration::from_secs(60))
        .await
        .unwrap();
    kv.add_to_set("set", "b", Duration::from_secs(60))
        .await
        .unwrap();
    kv.add_to_set("set", "a", Duration::from_secs(60))
        .await
        .unwrap();
    let mut members = kv.set_members("set").await.unwrap();
    members.sort();
    assert_eq!(members, ["a", "b"]);
    assert!(kv.remove_from_set("set", "a").await.unwrap());
    assert!(!kv.remove_from_set("set", "a").await.unwrap());
    assert_eq!(kv.set_members("set").await.unwrap(), ["b"]);
    assert!(kv.set_members("no-such-set").await.unwrap().is_empty());
    kv.add_to_set("brief-set", "x", Duration::from_secs(10))
        .await
        .unwrap();
    kv.fast_forward(Duration::from_secs(11)).await.unwrap();
    assert!(kv.set_members("brief-set").await.unwrap().is_empty());
}

pub async fn rate_limits_count_down_and_refuse_over_the_limit(kv: &dyn KeyValueStore) {
    let window = Duration::from_secs(60);
    let max = Duration::from_secs(3600);
    for expected_remaining in [2, 1, 0] {
        let state = kv.hit_rate_limit("client-a", 3, window, max).await.unwrap();
        assert!(state.allowed);
        assert_eq!(state.remaining, expected_remaining);
        assert!(state.reset_in <= window && state.reset_in > Duration::from_secs(55));
    }
    let refused = kv.hit_rate_limit("client-a", 3, window, max).await.unwrap();
    assert!(!refused.allowed && refused.remaining == 0);
    assert!(refused.reset_in <= window);
    assert!(
        kv.hit_rate_limit("client-b", 3, window, max)
            .await
            .unwrap()
            .allowed,
        "buckets are separate"
    );
}

pub async fn concurrent_hits_never_exceed_the_limit(kv: &dyn KeyValueStore) {
    let hits = (0..40).map(|_| {
        kv.hit_rate_limit(
            "burst",
            10,
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
    });
    let allowed = futures::future::join_all(hits)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().allowed)
        .count();
    assert_eq!(allowed, 10);
}

pub async fn repeated_violations_back_off_exponentially(kv: &dyn KeyValueStore) {
    let window = Duration::from_secs(10);
    let max = Duration::from_secs(300);
    // Window 1: over the limit once; refused until the window ends.
    assert!(
        kv.hit_rate_limit("noisy", 1, window, max)
            .await
            .unwrap()
            .allowed
    );
    let first = kv.hit_rate_limit("noisy", 1, window, max).await.unwrap();
    assert!(!first.allowed && first.reset_in <= window);
    kv.fast_forward(window).await.unwrap();
    // Window 2: over again; now blocked for two windows.
    assert!(
        kv.hit_rate_limit("noisy", 1, window, max)
            .await
            .unwrap()
            .allowed
    );
    let second = kv.hit_rate_limit("noisy", 1, window, max).await.unwrap();
    assert!(!second.allowed);
    assert!(
        second.reset_in > window && second.reset_in <= window * 2,
        "{second:?}"
    );
    let during = kv.hit_rate_limit("noisy", 1, window, max).await.unwrap();
    assert!(!during.allowed && during.reset_in > Duration::ZERO);
    kv.fast_forward(window).await.unwrap();
    let still = kv.hit_rate_limit("noisy", 1, window, max).await.unwrap();
    assert!(
        !still.allowed,
        "blocked for two windows, not one: {still:?}"
    );
    kv.fast_forward(window).await.unwrap();
    assert!(
        kv.hit_rate_limit("noisy", 1, window, max)
            .await
            .unwrap()
            .allowed,
        "the block is over"
    );
}

pub async fn ping_answers(kv: &dyn KeyValueStore) {
    kv.ping().await.unwrap();
}

macro_rules! kv_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::kv,
            [
                values_can_be_set_read_and_deleted,
                binary_values_survive,
                values_expire_after_their_ttl,
                set_if_absent_lets_only_the_first_writer_in,
                concurrent_set_if_absent_has_one_winner,
                counters_count_and_keep_their_first_expiry,
                counters_expire_and_start_again,
                concurrent_increments_are_all_counted,
                incrementing_a_non_number_fails,
                compare_and_swap_only_replaces_what_the_caller_read,
                concurrent_compare_and_swap_has_one_winner,
                sets_hold_members_once_and_expire,
                rate_limits_count_down_and_refuse_over_the_limit,
                concurrent_hits_never_exceed_the_limit,
                repeated_violations_back_off_exponentially,
                ping_answers,
            ]
        );
    };
}

fn memory() -> Arc<dyn KeyValueStore> {
    Arc::new(MemoryKv::new())
}

async fn redis() -> Arc<dyn KeyValueStore> {
    Arc::new(redis_kv().await)
}

async fn redis_cluster() -> Arc<dyn KeyValueStore> {
    Arc::new(redis_cluster_kv().await)
}

kv_suite!(memory_backend, memory());
kv_suite!(redis_backend, redis().await);
kv_suite!(redis_cluster_backend, redis_cluster().await);

/// Keys of one prefix are invisible under another, so deployments can share a Redis.
#[tokio::test]
async fn redis_prefixes_keep_deployments_apart() {
    let (a, b) = (redis_kv().await, redis_kv().await);
    a.set("shared", b"a", None).await.unwrap();
    assert_eq!(b.get("shared").await.unwrap(), None);
}

/// Fast-forwarding one store (a test's) leaves the TTLs of every other prefix alone.
#[tokio::test]
async fn fast_forwarding_redis_touches_only_its_own_prefix() {
    let (a, b) = (redis_kv().await, redis_kv().await);
    for kv in [&a, &b] {
        kv.set("brief", b"x", Some(Duration::from_secs(60)))
            .await
            .unwrap();
    }
    a.fast_forward(Duration::from_secs(61)).await.unwrap();
    assert_eq!(a.get("brief").await.unwrap(), None);
    assert!(b.get("brief").await.unwrap().is_some());
}
