//! Redis Cluster specifics, against the three-node cluster `make test` starts
//! (`BAZAAR_TEST_REDIS_CLUSTER_URL`) or a private one the test can take apart:
//! keys really spread over the nodes, related keys stay in one slot, any one
//! node is enough to find the cluster, invalidations reach every node, the
//! server says at startup that it runs on a cluster, and losing a node makes
//! operations unavailable (quickly; 503 to clients) until it returns.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bazaar::kv::broadcast::{Broadcast, Notice, RedisBroadcast};
use bazaar::kv::redis::RedisKv;
use bazaar::kv::redis_connection::{seed_urls, RedisMode};
use bazaar::kv::{KeyValueStore, KvError};

use crate::kit::process::{eventually, Bazaar, RedisCluster};
use crate::kit::{
    login, problem, product_json, redis_cluster_url, redis_kv_at, redis_url, unique, TestApp,
    ADMIN_PASSWORD, ADMIN_PHONE,
};

/// A plain (not cluster-aware) connection to one node.
async fn node(seed: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(seed)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The keys one node holds under `prefix`.
async fn keys_on_node(seed: &str, prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut node(seed).await)
        .await
        .unwrap()
}

async fn key_slot(seed: &str, key: &str) -> i64 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut node(seed).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_of_one_deployment_spread_over_every_node_of_the_cluster() {
    let url = redis_cluster_url();
    let prefix = format!("{}:", unique("spread"));
    let kv = RedisKv::connect(&url, &prefix, Duration::from_secs(2))
        .await
        .unwrap();

    for i in 0..30 {
        kv.set(&format!("key-{i}"), b"x", Some(Duration::from_secs(60)))
            .await
            .unwrap();
    }

    let seeds = seed_urls(&url);
    assert_eq!(seeds.len(), 3);
    let mut total = 0;
    for seed in &seeds {
        let held = keys_on_node(seed, &prefix).await.len();
        // 30 keys over three nodes: one holding none is a 1-in-60 000 chance.
        assert!(held > 0, "{seed} holds none of the keys");
        total += held;
    }
    assert_eq!(total, 30, "each key is on exactly one node");
}

#[tokio::test]
async fn the_keys_of_a_rate_limit_bucket_share_one_slot_and_buckets_spread() {
    let url = redis_cluster_url();
    let seed = &seed_urls(&url)[0];
    let prefix = format!("{}:", unique("rl"));
    let kv = RedisKv::connect(&url, &prefix, Duration::from_secs(2))
        .await
        .unwrap();

    let mut slots = std::collections::BTreeSet::new();
    for client in 0..20 {
        let bucket = format!("auth:203.0.113.{client}");
        kv.hit_rate_limit(&bucket, 5, Duration::from_secs(60), Duration::from_secs(60))
            .await
            .unwrap();
        let [block, count, strikes] =
            ["block", "count", "strikes"].map(|part| format!("rl:{{{bucket}}}:{part}"));
        assert_eq!(
            kv.get(&count).await.unwrap(),
            Some(b"1".to_vec()),
            "the counter is stored as {count}"
        );
        let mut bucket_slots = Vec::new();
        for name in [&block, &count, &strikes] {
            bucket_slots.push(key_slot(seed, &format!("{prefix}{name}")).await);
        }
        assert!(
            bucket_slots.windows(2).all(|w| w[0] == w[1]),
            "{bucket}: its keys are in slots {bucket_slots:?}"
        );
        slots.insert(bucket_slots[0]);
    }
    assert!(slots.len() > 1, "different clients hash to different slots");
}

/// Runs `command` with `args` on the node at `seed` (not through the cluster).
async fn on_node<T: redis::FromRedisValue>(seed: &str, command: &str, args: &[&str]) -> T {
    redis::cmd(command)
        .arg(args)
        .query_async(&mut node(seed).await)
        .await
        .unwrap_or_else(|e| panic!("{command} {args:?} on {seed}: {e}"))
}

#[tokio::test]
async fn keys_whose_slot_moves_to_another_node_are_followed_there_during_and_after_the_move() {
    let cluster = RedisCluster::start(3).await;
    let kv = RedisKv::connect(&cluster.url(), "moving:", Duration::from_secs(2))
        .await
        .unwrap();
    // Two keys of one slot: one moves first, as a resharding moves keys one by one.
    kv.set("{t}early", b"first", None).await.unwrap();
    kv.set("{t}late", b"second", None).await.unwrap();
    let seeds: Vec<String> = (0..3).map(|i| cluster.seed(i)).collect();
    let slot = key_slot(&seeds[0], "moving:{t}early").await.to_string();
    let mut from = 0;
    for (i, seed) in seeds.iter().enumerate() {
        if on_node::<i64>(seed, "CLUSTER", &["COUNTKEYSINSLOT", &slot]).await == 2 {
            from = i;
        }
    }
    let to = (from + 1) % 3;
    let from_id: String = on_node(&seeds[from], "CLUSTER", &["MYID"]).await;
    let to_id: String = on_node(&seeds[to], "CLUSTER", &["MYID"]).await;
    let to_port = cluster.port(to).to_string();
    let migrate = |key: &'static str| {
        let (seed, to_port) = (seeds[from].clone(), to_port.clone());
        async move {
            let _: () = on_node(&seed, "MIGRATE", &["127.0.0.1", &to_port, key, "0", "5000"]).await;
        }
    };

    let _: () = on_node(
        &seeds[to],
        "CLUSTER",
        &["SETSLOT", &slot, "IMPORTING", &from_id],
    )
    .await;
    let _: () = on_node(
        &seeds[from],
        "CLUSTER",
        &["SETSLOT", &slot, "MIGRATING", &to_id],
    )
    .await;
    migrate("moving:{t}early").await;

    // Mid-move the old owner answers ASK for the key that left.
    assert_eq!(kv.get("{t}early").await.unwrap(), Some(b"first".to_vec()));
    assert_eq!(kv.get("{t}late").await.unwrap(), Some(b"second".to_vec()));

    migrate("moving:{t}late").await;
    for seed in &seeds {
        let _: () = on_node(seed, "CLUSTER", &["SETSLOT", &slot, "NODE", &to_id]).await;
    }

    // Afterwards it answers MOVED, and the client follows to the new owner.
    assert_eq!(kv.get("{t}late").await.unwrap(), Some(b"second".to_vec()));
    kv.set("{t}new", b"third", None).await.unwrap();
    assert_eq!(
        on_node::<i64>(&seeds[to], "CLUSTER", &["COUNTKEYSINSLOT", &slot]).await,
        3,
        "all three keys live on the new owner"
    );
}

#[tokio::test]
async fn one_node_of_a_cluster_is_recognised_as_the_cluster_and_a_plain_server_is_not() {
    let url = redis_cluster_url();
    let seeds = seed_urls(&url);

    let listed = redis_kv_at(&url).await;
    let one_node = redis_kv_at(&seeds[1]).await;
    let plain = redis_kv_at(&redis_url()).await;

    assert_eq!(listed.mode(), RedisMode::Cluster { seeds: 3 });
    assert_eq!(one_node.mode(), RedisMode::Cluster { seeds: 1 });
    assert_eq!(plain.mode(), RedisMode::Single);
    // Through one seed, keys owned by the other nodes are reached too.
    for i in 0..20 {
        let key = format!("via-one-seed-{i}");
        one_node.set(&key, b"v", None).await.unwrap();
        assert_eq!(one_node.get(&key).await.unwrap(), Some(b"v".to_vec()));
    }
}

/// Publishes `topic` until `subscription` hears it: a subscription starts in
/// the background, so a notice sent before it began is (rightly) not heard.
async fn heard(
    publisher: &RedisBroadcast,
    subscription: &mut bazaar::kv::broadcast::Subscription,
    topic: &str,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        publisher.publish(topic).await.unwrap();
        let wait = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                notice = subscription.next() => match notice {
                    Some(Notice::Changed(t)) if &*t == topic => return true,
                    Some(_) => continue,
                    None => return false,
                },
                () = &mut wait => break,
            }
        }
    }
    false
}

#[tokio::test]
async fn an_invalidation_published_through_the_cluster_reaches_subscribers_on_every_node() {
    let url = redis_cluster_url();
    let prefix = format!("{}:", unique("broadcast"));
    let timeout = Duration::from_secs(2);
    let publisher = RedisBroadcast::connect(&url, &prefix, timeout)
        .await
        .unwrap();
    // One subscriber per node: the channel hashes to one node, so at least two
    // of them hear the notice only because the cluster forwards it.
    let mut subscribers = Vec::new();
    for seed in seed_urls(&url) {
        let replica = RedisBroadcast::connect(&seed, &prefix, timeout)
            .await
            .unwrap();
        let subscription = replica.subscribe();
        subscribers.push((seed, replica, subscription));
    }

    for (seed, _replica, subscription) in &mut subscribers {
        assert!(
            heard(&publisher, subscription, "product:42").await,
            "the subscriber on {seed} did not hear the notice"
        );
    }
}

/// Writes every key in `keys`, each within a bound; the first failure, if any.
async fn write_all(kv: &RedisKv, keys: &[String]) -> Result<(), KvError> {
    for key in keys {
        let started = Instant::now();
        let result = kv.set(key, b"v", Some(Duration::from_secs(60))).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a write took {:?}: no hang while a node is down",
            started.elapsed()
        );
        result?;
    }
    Ok(())
}

/// Whether `result` failed as `Unavailable`; any other failure fails the test.
fn unavailable(result: Result<(), KvError>) -> bool {
    match result {
        Ok(()) => false,
        Err(KvError::Unavailable(_)) => true,
        Err(other) => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn losing_a_cluster_node_makes_operations_unavailable_without_hanging_and_they_recover() {
    let mut cluster = RedisCluster::start(3).await;
    let kv = RedisKv::connect(&cluster.url(), "outage:", Duration::from_millis(500))
        .await
        .unwrap();
    let keys: Vec<String> = (0..20).map(|i| format!("key-{i}")).collect();
    write_all(&kv, &keys).await.unwrap();

    cluster.stop_node(0);

    // The node's keys fail at once; after the node timeout the cluster reports
    // itself down and every key does. Never anything but `Unavailable`.
    eventually("operations failing as unavailable", || async {
        unavailable(write_all(&kv, &keys).await)
    })
    .await;
    // Readiness: the other nodes still answer PING, but the cluster is down.
    eventually("the ping failing as unavailable", || async {
        let started = Instant::now();
        let ping = kv.ping().await;
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
        unavailable(ping)
    })
    .await;

    cluster.restart_node(0).await;
    cluster.wait_until_ok().await;
    eventually("every key writable again", || async {
        write_all(&kv, &keys).await.is_ok()
    })
    .await;
    kv.ping().await.unwrap();
}

#[tokio::test]
async fn while_a_cluster_node_is_down_clients_get_503_with_retry_after_never_500() {
    let mut cluster = RedisCluster::start(3).await;
    let app = TestApp::builder()
        .redis_kv(&cluster.url(), "outage-http:")
        .spawn()
        .await;
    app.create_product(product_json("CLU-1")).await;

    cluster.stop_node(0);

    // Writes need the session store: once the cluster is down, every one is 503.
    let attempt = std::sync::atomic::AtomicU32::new(2);
    eventually("writes answering 503", || async {
        let sku = format!("CLU-{}", attempt.fetch_add(1, Ordering::Relaxed));
        let started = Instant::now();
        let write = app.post_json("/api/v1/products", &product_json(&sku)).await;
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
        match write.status().as_u16() {
            201 => false,
            503 => {
                assert!(write.headers().contains_key("retry-after"));
                assert_eq!(problem(write).await["code"], "backend_unavailable");
                true
            }
            other => panic!("expected 201 or 503, got {other}"),
        }
    })
    .await;
    eventually("readiness answering 503", || async {
        app.get("/health/ready").await.status() == 503
    })
    .await;

    cluster.restart_node(0).await;
    eventually("readiness recovering", || async {
        app.get("/health/ready").await.status() == 200
    })
    .await;
}

#[tokio::test]
async fn the_server_on_a_cluster_says_so_at_startup_and_signs_in_through_it() {
    let prefix = format!("{}:", unique("serve"));
    let bazaar = Bazaar::start(
        "redis-cluster",
        &[
            ("BAZAAR_REDIS_URL", &redis_cluster_url()),
            ("BAZAAR_REDIS_KEY_PREFIX", &prefix),
        ],
    )
    .await;

    assert!(
        bazaar.log().contains("redis: cluster of 3 seeds"),
        "{}",
        bazaar.log()
    );
    // Signing in takes the auth rate limit and a session: both on the cluster.
    login(
        &reqwest::Client::new(),
        &bazaar.url(""),
        ADMIN_PHONE,
        ADMIN_PASSWORD,
    )
    .await;
    let mut stored = 0;
    for seed in seed_urls(&redis_cluster_url()) {
        stored += keys_on_node(&seed, &prefix).await.len();
    }
    assert!(stored > 0, "nothing was stored under {prefix}");
}

#[tokio::test]
async fn a_user_whose_acl_refuses_info_connects_as_a_single_node() {
    // Least-privilege users commonly lack @dangerous, which holds INFO: NOPERM.
    let user = crate::kit::unique("noinfo");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                user.as_str(),
                "on",
                ">noinfo-password",
                "~*",
                "&*",
                "+@all",
                "-@dangerous",
            ][..],
        )
        .query_async(&mut admin)
        .await
        .unwrap();
    let host = redis_url().trim_start_matches("redis://").to_owned();
    let as_user = format!("redis://{user}:noinfo-password@{host}");

    let kv = redis_kv_at(&as_user).await;

    assert_eq!(kv.mode(), RedisMode::Single);
    kv.set("acl-probe", b"v", None).await.unwrap();
    assert_eq!(kv.get("acl-probe").await.unwrap(), Some(b"v".to_vec()));
    let _: () = redis::cmd("ACL")
        .arg(&["DELUSER", user.as_str()][..])
        .query_async(&mut admin)
        .await
        .unwrap();
}
