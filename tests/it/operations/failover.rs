//! A Redis Cluster primary killed under load: three primaries with a replica
//! each, `bazaar serve` pointed at them with production settings, a steady
//! mix of sign-ins, authenticated reads, orders with `Idempotency-Key` and
//! rate-limited calls, then `kill -9` of a primary. The replica is promoted
//! and Bazaar recovers without a restart: no request hangs, what fails meanwhile
//! is a 503 problem with `Retry-After`, everything succeeds afterwards. Then
//! the accounting of what was acknowledged before the kill: sessions,
//! idempotency records, the rate-limit window.
//!
//! The key-value test below measures, without HTTP in the way, which
//! acknowledged writes a replica holds at the moment they are acknowledged,
//! with and without `WAIT` (`BAZAAR_REDIS_REPLICA_ACKS`), and which survive
//! the kill.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bazaar::kv::redis::RedisKv;
use bazaar::kv::KeyValueStore;
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::kit::process::{eventually, Bazaar, RedisCluster};
use crate::kit::{
    bearer_client, login, mongodb_url, product_json, unique, ADMIN_PASSWORD, ADMIN_PHONE,
};

/// Longer than any answer may take: past it a request hung.
const HANG: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    SignIn,
    /// `GET /users/me` with a token from before the load.
    Me,
    /// Product reads, counted against the default group's rate limit.
    Read,
    Order,
    /// An order sent again with an earlier 201's `Idempotency-Key`.
    Replay,
}

#[derive(Debug, Clone)]
struct Outcome {
    kind: Kind,
    sent: Duration,
    latency: Duration,
    /// `None`: no HTTP answer (connection error or hung).
    status: Option<u16>,
    retry_after: bool,
    problem: bool,
    code: Option<String>,
    /// `RateLimit-Remaining`, where the answer had one.
    remaining: Option<u64>,
    body: Value,
}

impl Outcome {
    fn ended(&self) -> Duration {
        self.sent + self.latency
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// 503 with `Retry-After`, or (for a replay) 409 `idempotency_in_flight`
    /// while the first answer waits to be kept.
    fn told_to_retry(&self) -> bool {
        self.problem
            && self.retry_after
            && (self.status == Some(503)
                || (self.kind == Kind::Replay
                    && self.status == Some(409)
                    && self.code.as_deref() == Some("idempotency_in_flight")))
    }
}

/// An order answered 201: its key, body and id.
#[derive(Debug, Clone)]
struct Placed {
    key: String,
    body: Value,
    id: String,
    ended: Duration,
}

#[derive(Clone)]
struct Driver {
    base: String,
    token: String,
    product: String,
    began: Instant,
    stopping: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    placed: Arc<Mutex<Vec<Placed>>>,
    client: reqwest::Client,
}

impl Driver {
    async fn send(&self, kind: Kind, request: reqwest::RequestBuilder) -> Outcome {
        let sent = self.began.elapsed();
        let started = Instant::now();
        let mut outcome = Outcome {
            kind,
            sent,
            latency: Duration::ZERO,
            status: None,
            retry_after: false,
            problem: false,
            code: None,
            remaining: None,
            body: Value::Null,
        };
        if let Ok(response) = request.timeout(HANG).send().await {
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            outcome.status = Some(response.status().as_u16());
            outcome.retry_after = header("retry-after").is_some();
            outcome.problem =
                header("content-type").is_some_and(|t| t.starts_with("application/problem+json"));
            outcome.remaining = header("ratelimit-remaining").and_then(|r| r.parse().ok());
            match response.json::<Value>().await {
                Ok(body) => {
                    outcome.code = body["code"].as_str().map(str::to_owned);
                    outcome.body = body;
                }
                Err(_) => outcome.status = None,
            }
        }
        outcome.latency = started.elapsed();
        self.outcomes.lock().push(outcome.clone());
        outcome
    }

    fn running(&self) -> bool {
        !self.stopping.load(Ordering::Relaxed)
    }

    async fn sign_ins(self) {
        while self.running() {
            let request = self
                .client
                .post(format!("{}/api/v1/auth/login", self.base))
                .json(&json!({ "identifier": ADMIN_PHONE, "password": ADMIN_PASSWORD }));
            self.send(Kind::SignIn, request).await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    async fn reads(self) {
        let mut n = 0u32;
        while self.running() {
            n += 1;
            let request = if n.is_multiple_of(2) {
                let url = format!("{}/api/v1/users/me", self.base);
                (Kind::Me, self.client.get(url).bearer_auth(&self.token))
            } else {
                let url = format!("{}/api/v1/products/{}", self.base, self.product);
                (Kind::Read, self.client.get(url))
            };
            self.send(request.0, request.1).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn orders(self, worker: usize) {
        let mut n = 0usize;
        let mut last: Option<Placed> = None;
        while self.running() {
            n += 1;
            let replay = n.is_multiple_of(4) && last.is_some();
            let (kind, key, body) = match (&last, replay) {
                (Some(placed), true) => (Kind::Replay, placed.key.clone(), placed.body.clone()),
                _ => {
                    let body =
                        json!({ "items": [{ "product_id": self.product, "quantity": n % 3 + 1 }] });
                    (Kind::Order, unique(&format!("fo-{worker}-{n}")), body)
                }
            };
            let request = self
                .client
                .post(format!("{}/api/v1/orders", self.base))
                .bearer_auth(&self.token)
                .header("Idempotency-Key", &key)
                .json(&body);
            let outcome = self.send(kind, request).await;
            if outcome.succeeded() && kind == Kind::Order {
                let placed = Placed {
                    key,
                    body,
                    id: outcome.body["id"].as_str().unwrap_or_default().to_owned(),
                    ended: outcome.ended(),
                };
                self.placed.lock().push(placed.clone());
                last = Some(placed);
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

/// Which of `nodes` owns `key`: the one that answers `EXISTS` instead of `MOVED`.
async fn owner_of(cluster: &RedisCluster, nodes: &[usize], key: &str) -> usize {
    for &node in nodes {
        let client = redis::Client::open(cluster.seed(node)).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let exists: redis::RedisResult<i64> = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut connection)
            .await;
        if exists.is_ok() {
            return node;
        }
    }
    panic!("no primary owns {key}");
}

/// When every kind of request had succeeded once more after `killed`.
fn recovered_at(outcomes: &[Outcome], killed: Duration) -> Option<Duration> {
    let mut last = Duration::ZERO;
    for kind in [
        Kind::SignIn,
        Kind::Me,
        Kind::Read,
        Kind::Order,
        Kind::Replay,
    ] {
        let first = outcomes
            .iter()
            .filter(|o| o.kind == kind && o.sent > killed && o.succeeded())
            .map(Outcome::ended)
            .min()?;
        last = last.max(first);
    }
    Some(last)
}

/// Counts per kind of answer, for failure messages and the report.
fn summary<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        let what = match o.status {
            Some(status) => format!("{:?} {status} {}", o.kind, o.code.as_deref().unwrap_or("")),
            None if o.latency >= HANG => format!("{:?} hung", o.kind),
            None => format!("{:?} no answer", o.kind),
        };
        *counts.entry(what).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_primary_killed_under_load_fails_over_and_bazaar_recovers_without_restart() {
    let mut cluster = RedisCluster::start_with_replicas(3).await;
    let prefix = format!("{}:", unique("failover"));
    let mongodb_url = mongodb_url();
    let database = unique("failover");
    let bazaar = Bazaar::start(
        "redis-failover",
        &[
            ("BAZAAR_REDIS_URL", &cluster.url()),
            ("BAZAAR_REDIS_KEY_PREFIX", &prefix),
            ("BAZAAR_MONGODB_URL", &mongodb_url),
            ("BAZAAR_MONGODB_DATABASE", &database),
            // What operations.md recommends for a cluster with replicas.
            ("BAZAAR_REDIS_REPLICA_ACKS", "1"),
            ("BAZAAR_REDIS_REPLICA_ACK_TIMEOUT_MS", "100"),
            ("BAZAAR_BACKEND_TIMEOUT_MS", "1000"),
            ("BAZAAR_REQUEST_TIMEOUT_MS", "5000"),
            // Budgets the load stays inside, so that each answer carries the
            // counter (`RateLimit-Remaining`) without being refused by it.
            ("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "100000"),
            ("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "100000"),
        ],
    )
    .await;
    assert!(
        bazaar
            .log()
            .contains("session and idempotency writes wait for replicas"),
        "{}",
        bazaar.log()
    );
    let base = bazaar.url("");
    let anonymous = reqwest::Client::new();
    let token = login(&anonymous, &base, ADMIN_PHONE, ADMIN_PASSWORD)
        .await
        .access_token;
    let created = bearer_client(&token)
        .post(format!("{base}/api/v1/products"))
        .json(&product_json(&unique("FO")))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let product = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The primary to kill owns the sign-in rate-limit window, so its fate is seen.
    let primaries = cluster.primaries().await;
    assert_eq!(primaries.len(), 3);
    let window_key = format!("{prefix}rl:{{auth:ip:127.0.0.1}}:count");
    let victim = owner_of(&cluster, &primaries, &window_key).await;
    let heir = cluster.replica_of(victim).await;

    let driver = Driver {
        base: base.clone(),
        token: token.clone(),
        product,
        began: Instant::now(),
        stopping: Arc::new(AtomicBool::new(false)),
        outcomes: Arc::default(),
        placed: Arc::default(),
        client: reqwest::Client::new(),
    };
    let tasks = vec![
        tokio::spawn(driver.clone().sign_ins()),
        tokio::spawn(driver.clone().reads()),
        tokio::spawn(driver.clone().orders(0)),
        tokio::spawn(driver.clone().orders(1)),
    ];
    // The accounting below needs at least ten of each acknowledged before the kill: wait
    // for them (a loaded machine serves fewer per second), and at least two seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    eventually("ten sign-ins and ten orders acknowledged", || async {
        let sign_ins = driver
            .outcomes
            .lock()
            .iter()
            .filter(|o| o.kind == Kind::SignIn && o.succeeded())
            .count();
        sign_ins >= 10 && driver.placed.lock().len() >= 10
    })
    .await;
    let killed = driver.began.elapsed();
    cluster.stop_node(victim);
    eventually("the replica promoted", || async {
        cluster.role(heir).await.as_deref() == Some("master")
    })
    .await;
    let promoted = driver.began.elapsed();
    eventually("the cluster ok again", || cluster.is_ok()).await;
    let cluster_ok = driver.began.elapsed();
    eventually("every kind of request succeeding again", || async {
        recovered_at(&driver.outcomes.lock(), killed).is_some()
    })
    .await;
    let recovered = recovered_at(&driver.outcomes.lock(), killed).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    driver.stopping.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let outcomes = driver.outcomes.lock().clone();
    eprintln!("load answers: {:#?}", summary(&outcomes));

    // Answers: nothing hung; before the kill everything succeeded; meanwhile
    // success or "retry later"; a second after recovery, success again.
    let slowest = outcomes.iter().map(|o| o.latency).max().unwrap();
    assert!(slowest < HANG, "a request hung: {slowest:?}");
    let failed_before = outcomes
        .iter()
        .filter(|o| o.ended() < killed && !o.succeeded());
    assert_eq!(summary(failed_before), BTreeMap::new(), "before the kill");
    let neither = outcomes
        .iter()
        .filter(|o| !o.succeeded() && !o.told_to_retry() && o.ended() >= killed);
    assert_eq!(
        summary(neither),
        BTreeMap::new(),
        "answers neither success nor a problem with Retry-After"
    );
    let settled = recovered + Duration::from_secs(1);
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.sent >= settled).collect();
    assert!(!after.is_empty(), "the load ran on after recovery");
    let failed_after = after.iter().copied().filter(|o| !o.succeeded());
    assert_eq!(summary(failed_after), BTreeMap::new(), "after recovery");
    let refused: Vec<&Outcome> = outcomes.iter().filter(|o| o.told_to_retry()).collect();
    let first_refusal = refused.iter().map(|o| o.sent).min();
    let last_refusal = refused.iter().map(|o| o.ended()).max();
    let slowest_refusal = refused.iter().map(|o| o.latency).max();
    eprintln!(
        "killed node {victim} at {killed:?}; node {heir} promoted {:?} later, cluster ok {:?} \
         later; every kind of request succeeded again {:?} after the kill; {} answers told to \
         retry, from {first_refusal:?} to {last_refusal:?}, slowest {slowest_refusal:?}; \
         slowest answer overall {slowest:?}",
        promoted - killed,
        cluster_ok - killed,
        recovered - killed,
        refused.len(),
    );

    // Sessions: every token issued before the kill still signs its holder in.
    let issued: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.kind == Kind::SignIn && o.succeeded() && o.ended() < killed)
        .collect();
    let mut sessions_lost = 0;
    for sign_in in &issued {
        let access = sign_in.body["access_token"].as_str().unwrap();
        let me = bearer_client(access)
            .get(format!("{base}/api/v1/users/me"))
            .send()
            .await
            .unwrap();
        match me.status().as_u16() {
            200 => {}
            401 => sessions_lost += 1,
            other => panic!("a token from before the kill answered {other}"),
        }
    }
    // Idempotency records: a replay of every order placed before the kill is
    // answered from its record, never run again.
    let placed = driver.placed.lock().clone();
    let before: Vec<&Placed> = placed.iter().filter(|p| p.ended < killed).collect();
    let mut reran = Vec::new();
    for order in &before {
        let replay = bearer_client(&token)
            .post(format!("{base}/api/v1/orders"))
            .header("Idempotency-Key", &order.key)
            .json(&order.body)
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 201);
        let replayed = replay.headers().contains_key("idempotent-replayed");
        let id = replay.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if !replayed || id != order.id {
            reran.push(format!("{}: {} then {id}", order.key, order.id));
        }
    }
    // The sign-in rate-limit window lived on the killed primary: kept if the
    // counter went on from where it was, reset if it started again. Reported,
    // not asserted: windows are not waited for, so a failover may reset one.
    let remaining = |range: std::ops::Range<Duration>| {
        outcomes
            .iter()
            .filter(|o| o.kind == Kind::SignIn && o.succeeded() && range.contains(&o.ended()))
            .filter_map(|o| o.remaining.map(|r| (o.ended(), r)))
            .collect::<Vec<_>>()
    };
    let last_before = remaining(Duration::ZERO..killed)
        .into_iter()
        .max()
        .unwrap()
        .1;
    let first_after = remaining(killed..Duration::MAX)
        .into_iter()
        .min()
        .unwrap()
        .1;
    eprintln!(
        "accounting: {} of {} sessions from before the kill lost; {} of {} orders from before \
         the kill re-ran on replay; sign-in window: {last_before} left before the kill, \
         {first_after} after ({})",
        sessions_lost,
        issued.len(),
        reran.len(),
        before.len(),
        if first_after < last_before {
            "kept"
        } else {
            "reset"
        },
    );
    assert!(issued.len() >= 10 && before.len() >= 10, "the load ran");
    assert_eq!(
        sessions_lost, 0,
        "sessions acknowledged by a replica are kept"
    );
    assert!(reran.is_empty(), "orders run twice: {reran:?}");
}

/// Writes `keys` from several tasks at once, checking each acknowledged key on
/// the replica of its primary at once; kills `victim` midway. Answers the keys
/// acknowledged before the kill and how many of them the replica did not yet
/// hold when they were acknowledged.
async fn burst_then_kill(
    cluster: &mut RedisCluster,
    store: Arc<dyn KeyValueStore>,
    replica: &str,
    prefix: &str,
    victim: usize,
) -> (Vec<String>, usize) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let not_on_replica = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let replica_client = redis::Client::open(replica).unwrap();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (store, acknowledged, not_on_replica, killed) = (
            store.clone(),
            acknowledged.clone(),
            not_on_replica.clone(),
            killed.clone(),
        );
        let mut on_replica = replica_client
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: () = redis::cmd("READONLY")
            .query_async(&mut on_replica)
            .await
            .unwrap();
        let prefix = prefix.to_owned();
        writers.push(tokio::spawn(async move {
            for n in 0..100_000 {
                if killed.load(Ordering::SeqCst) {
                    break;
                }
                // Tagged to the victim's slots by the caller's hash tag.
                let key = format!("{{{prefix}}}w{writer}-{n}");
                if store
                    .set(&key, b"acknowledged", Some(Duration::from_secs(600)))
                    .await
                    .is_ok()
                    && !killed.load(Ordering::SeqCst)
                {
                    acknowledged.lock().push(key.clone());
                    let held: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(format!("kv-burst:{key}"))
                        .query_async(&mut on_replica)
                        .await
                        .unwrap_or(None);
                    if held.is_none() {
                        not_on_replica.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    killed.store(true, Ordering::SeqCst);
    cluster.stop_node(victim);
    for writer in writers {
        writer.await.unwrap();
    }
    let keys = acknowledged.lock().clone();
    (keys, not_on_replica.load(Ordering::Relaxed))
}

/// A hash tag whose slot `primary` owns.
async fn tag_on(cluster: &RedisCluster, primary: usize, primaries: &[usize]) -> String {
    for i in 0.. {
        let tag = format!("t{i}");
        if owner_of(cluster, primaries, &format!("kv-burst:{{{tag}}}x")).await == primary {
            return tag;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn writes_acknowledged_after_a_replica_wait_survive_a_killed_primary() {
    let mut cluster = RedisCluster::start_with_replicas(3).await;
    let mut report = Vec::new();
    for replica_acks in [0, 1] {
        let primaries = cluster.primaries().await;
        let victim = primaries[0];
        let heir = cluster.replica_of(victim).await;
        let tag = tag_on(&cluster, victim, &primaries).await;
        let kv = RedisKv::connect(&cluster.url(), "kv-burst:", Duration::from_secs(1))
            .await
            .unwrap()
            .with_replica_acks(replica_acks, Duration::from_millis(100));
        let store = Arc::new(kv).replicated();

        let replica = cluster.seed(heir);
        let (keys, not_on_replica) =
            burst_then_kill(&mut cluster, store.clone(), &replica, &tag, victim).await;
        eventually("the replica promoted", || async {
            cluster.role(heir).await.as_deref() == Some("master")
        })
        .await;
        eventually("the cluster ok again", || cluster.is_ok()).await;
        let mut lost = 0;
        for key in &keys {
            let value = loop {
                // Until the client has found the new primary.
                if let Ok(value) = store.get(key).await {
                    break value;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            if value.is_none() {
                lost += 1;
            }
        }
        report.push(format!(
            "replica acks {replica_acks}: {} writes acknowledged before the kill, {not_on_replica} \
             not yet on the replica when acknowledged, {lost} lost",
            keys.len()
        ));
        if replica_acks > 0 {
            assert_eq!(not_on_replica, 0, "a waited write is on the replica");
            assert_eq!(lost, 0, "a waited write survives the failover");
        }
        // The killed node returns as the replica of its heir, for the next round.
        cluster.restart_node(victim).await;
        eventually("the old primary replicating its heir", || async {
            let role = cluster.role(victim).await.unwrap_or_default();
            role == format!("slave {} connected", cluster.port(heir))
        })
        .await;
        cluster.wait_until_ok().await;
    }
    eprintln!("{report:#?}");
}

/// Without a replica a wait comes back short: the write stands (as it would
/// without waiting) and is readable, rather than failing the request.
#[tokio::test]
async fn a_waited_write_with_no_replica_to_wait_for_stands_after_the_timeout() {
    let prefix = format!("{}:", unique("no-replica"));
    let kv = RedisKv::connect(&crate::kit::redis_url(), &prefix, Duration::from_secs(2))
        .await
        .unwrap()
        .with_replica_acks(1, Duration::from_millis(200));
    let store = Arc::new(kv).replicated();

    let started = Instant::now();
    store.set("session", b"kept", None).await.unwrap();
    let waited = started.elapsed();

    assert!(
        waited >= Duration::from_millis(200),
        "the write waited for the replica ({waited:?})"
    );
    assert_eq!(store.get("session").await.unwrap(), Some(b"kept".to_vec()));
    // Waits are paused now, so the next writes do not each pay the timeout.
    store.set("session", b"again", None).await.unwrap();
    assert_eq!(store.get("session").await.unwrap(), Some(b"again".to_vec()));
}
