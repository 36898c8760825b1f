//! MongoDB elections and transient errors, simulated the way MongoDB's own drivers test them:
//! a private MongoDB-wire server with test commands on, whose `failCommand` failpoint answers
//! chosen commands of Bazaar's client (`appName: bazaar`) with `NotWritablePrimary`,
//! `PrimarySteppedDown`, `ShutdownInProgress`, a closed connection or a write-concern error,
//! with or without the `RetryableWriteError` / `TransientTransactionError` labels, while the
//! fault tests' steady load runs against `bazaar serve`. Afterwards the fault tests' checks
//! hold (every 201 order stored once with its totals, stock adds up, each acknowledged payment
//! applied once), and the client saw a 503 with `Retry-After` only where the labels allow no
//! retry or the retries ran out. The figures printed here are in docs/operations.md.

use std::time::Duration;

use bson::{doc, Document};
use mongodb::options::ClientOptions;

use crate::faults::restarts::{
    assert_durable, fault_env, prepare, summary, Kind, Load, Outcome, Record, Target, PAUSE,
};
use crate::kit::process::{free_port, mongo_server_with, wait_for_port, Bazaar, Server};
use crate::kit::{redis_url, unique};

/// A MongoDB-wire server whose failpoints the test arms, and a client of its own to arm them.
struct FailpointServer {
    _server: Server,
    url: String,
    admin: mongodb::Client,
}

impl FailpointServer {
    async fn start() -> Self {
        let port = free_port();
        let server = mongo_server_with(port, ":memory:", &["--enable-test-commands"]);
        wait_for_port(port).await;
        let url = format!("mongodb://127.0.0.1:{port}");
        let mut options = ClientOptions::parse(&url).await.unwrap();
        options.app_name = Some("elections-test".into());
        let admin = mongodb::Client::with_options(options).unwrap();
        Self {
            _server: server,
            url,
            admin,
        }
    }

    /// Arms `failCommand` for the next `times` matching commands of Bazaar's client.
    async fn arm(&self, fault: &Fault, times: i64) {
        let mut data = fault.data.clone();
        data.insert("appName", "bazaar");
        self.admin
            .database("admin")
            .run_command(doc! {
                "configureFailPoint": "failCommand",
                "mode": { "times": times },
                "data": data,
            })
            .await
            .expect("configureFailPoint (is --enable-test-commands on?)");
    }

    async fn disarm(&self) {
        self.admin
            .database("admin")
            .run_command(doc! { "configureFailPoint": "failCommand", "mode": "off" })
            .await
            .unwrap();
    }

    /// Whether Bazaar's commands met the armed fault: a command of the same name sent now as
    /// `bazaar`, without retries, passes only if the failpoint was used up.
    async fn used_up(&self, fault: &Fault) -> bool {
        let mut options = ClientOptions::parse(&self.url).await.unwrap();
        options.app_name = Some("bazaar".into());
        options.retry_reads = Some(false);
        options.retry_writes = Some(false);
        let probe = mongodb::Client::with_options(options).unwrap();
        let scratch = probe.database("probe").collection::<Document>("probe");
        match fault.command {
            "insert" => scratch.insert_one(doc! { "probe": 1 }).await.is_ok(),
            "update" => scratch
                .update_one(doc! {}, doc! { "$set": { "probe": 2 } })
                .await
                .is_ok(),
            "find" => scratch.find_one(doc! {}).await.is_ok(),
            "findAndModify" => scratch
                .find_one_and_update(doc! {}, doc! { "$set": { "probe": 3 } })
                .await
                .is_ok(),
            "commitTransaction" => {
                let mut session = probe.start_session().await.unwrap();
                session.start_transaction().await.unwrap();
                scratch
                    .insert_one(doc! { "probe": 4 })
                    .session(&mut session)
                    .await
                    .unwrap();
                session.commit_transaction().await.is_ok()
            }
            other => panic!("no probe for {other}"),
        }
    }
}

/// One `failCommand` setting: which command fails and how.
struct Fault {
    name: &'static str,
    command: &'static str,
    data: Document,
}

const RETRYABLE_WRITE: &str = "RetryableWriteError";
const TRANSIENT_TRANSACTION: &str = "TransientTransactionError";

/// The command fails with `code` and exactly `labels` (none: no label at all).
fn error(name: &'static str, command: &'static str, code: i32, labels: &[&str]) -> Fault {
    Fault {
        name,
        command,
        data: doc! { "failCommands": [command], "errorCode": code, "errorLabels": labels },
    }
}

const NOT_WRITABLE_PRIMARY: i32 = 10107;
const PRIMARY_STEPPED_DOWN: i32 = 189;
const SHUTDOWN_IN_PROGRESS: i32 = 91;
const NO_SUCH_TRANSACTION: i32 = 251;

/// The outbox worker idle for the test's length, so that its claims (`findAndModify`) cannot
/// meet a fault meant for a request's stock reservation. (The sweeps stay on: they settle the
/// holds of orders whose insert failed, and send no `insert`, `findAndModify` or commit.)
const QUIET_OUTBOX: [(&str, &str); 1] = [("BAZAAR_OUTBOX_POLL_MS", "60000")];

/// Starts `bazaar serve` on `mongo`, with `url_options` appended to its connection string
/// and `extra` settings.
async fn bazaar_on(
    name: &str,
    mongo: &FailpointServer,
    url_options: &str,
    extra: &[(&str, &str)],
) -> (Bazaar, Target) {
    let url = format!("{}/{url_options}", mongo.url);
    let redis_url = redis_url();
    let prefix = format!("{}:", unique(name));
    let mut env = vec![
        ("BAZAAR_REDIS_URL", redis_url.as_str()),
        ("BAZAAR_REDIS_KEY_PREFIX", prefix.as_str()),
        ("BAZAAR_MONGODB_URL", url.as_str()),
    ];
    env.extend_from_slice(extra);
    let bazaar = Bazaar::start(name, &fault_env(&env)).await;
    let target = prepare(&bazaar.url(""), "EL").await;
    (bazaar, target)
}

/// What one armed fault did to the load.
struct Met {
    name: &'static str,
    armed: Duration,
    used_up: bool,
}

/// Runs the load, arms each of `faults` in turn for `times` commands, `gap` apart, and
/// answers what the load saw.
async fn under_load(
    mongo: &FailpointServer,
    target: &Target,
    faults: &[Fault],
    times: i64,
    gap: Duration,
) -> (Record, Vec<Met>) {
    let load = Load::start(target, PAUSE);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut met = Vec::new();
    for fault in faults {
        let armed = load.now();
        mongo.arm(fault, times).await;
        tokio::time::sleep(gap).await;
        let used_up = mongo.used_up(fault).await;
        mongo.disarm().await;
        met.push(Met {
            name: fault.name,
            armed,
            used_up,
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    (load.stop().await, met)
}

/// The answers between `from` and `to` (by when they were sent) that were not 2xx.
fn failures_between(record: &Record, from: Duration, to: Duration) -> Vec<&Outcome> {
    record
        .outcomes
        .iter()
        .filter(|o| o.sent >= from && o.sent < to && !o.succeeded())
        .collect()
}

/// Nothing failed before the first fault; every failure is a 503 problem with `Retry-After`
/// (no 500, no hang, no broken connection).
fn assert_only_retry_later(record: &Record, first_fault: Duration) {
    let all: Vec<&Outcome> = record.outcomes.iter().collect();
    eprintln!("load answers: {:#?}", summary(&all));
    let early: Vec<&Outcome> = all
        .iter()
        .copied()
        .filter(|o| o.ended() < first_fault && !o.succeeded())
        .collect();
    assert!(early.is_empty(), "failures before the faults: {early:#?}");
    let bad: Vec<&&Outcome> = all
        .iter()
        .filter(|o| !o.succeeded() && !o.is_retry_later())
        .collect();
    assert!(
        bad.is_empty(),
        "answers that were neither success nor a 503 problem with Retry-After: {:#?}",
        bad.iter().take(10).collect::<Vec<_>>()
    );
}

fn report(record: &Record, met: &[Met], gap: Duration) -> Vec<usize> {
    met.iter()
        .map(|m| {
            let failed = failures_between(record, m.armed, m.armed + gap);
            let slowest = record
                .outcomes
                .iter()
                .filter(|o| o.sent >= m.armed && o.sent < m.armed + gap)
                .map(|o| o.latency)
                .max()
                .unwrap_or_default();
            eprintln!(
                "{}: met by the load: {}; 503s: {}; slowest answer meanwhile: {slowest:?}",
                m.name,
                m.used_up,
                failed.len()
            );
            failed.len()
        })
        .collect()
}

/// Each fault once, labelled as mongod labels it: the driver retries the write or read, and
/// the transaction runs again; the client notices nothing but a slower answer.
#[tokio::test]
async fn labelled_elections_and_transient_errors_under_load_are_retried_and_nothing_is_lost() {
    let mongo = FailpointServer::start().await;
    let (_bazaar, target) = bazaar_on("elections-labelled", &mongo, "", &[]).await;
    let faults = [
        // First, while the load's webhooks still pay orders (an order and its notices are
        // written in one transaction).
        error(
            "commitTransaction NoSuchTransaction, TransientTransactionError",
            "commitTransaction",
            NO_SUCH_TRANSACTION,
            &[TRANSIENT_TRANSACTION],
        ),
        error(
            "update PrimarySteppedDown, RetryableWriteError + TransientTransactionError",
            "update",
            PRIMARY_STEPPED_DOWN,
            &[RETRYABLE_WRITE, TRANSIENT_TRANSACTION],
        ),
        error(
            "insert NotWritablePrimary, RetryableWriteError",
            "insert",
            NOT_WRITABLE_PRIMARY,
            &[RETRYABLE_WRITE],
        ),
        error(
            "findAndModify (stock) ShutdownInProgress, RetryableWriteError",
            "findAndModify",
            SHUTDOWN_IN_PROGRESS,
            &[RETRYABLE_WRITE],
        ),
        // Reads are retried by their code; mongod puts no label on a read.
        error(
            "find ShutdownInProgress, no label",
            "find",
            SHUTDOWN_IN_PROGRESS,
            &[],
        ),
        Fault {
            name: "insert network error (closeConnection)",
            command: "insert",
            data: doc! { "failCommands": ["insert"], "closeConnection": true },
        },
        Fault {
            name: "findAndModify writeConcernError ShutdownInProgress, RetryableWriteError",
            command: "findAndModify",
            data: doc! {
                "failCommands": ["findAndModify"],
                "writeConcernError": { "code": SHUTDOWN_IN_PROGRESS, "errmsg": "shutting down" },
                "errorLabels": [RETRYABLE_WRITE],
            },
        },
    ];
    let gap = Duration::from_millis(1500);

    let (record, met) = under_load(&mongo, &target, &faults, 1, gap).await;

    let failures = report(&record, &met, gap);
    let missed: Vec<&str> = met.iter().filter(|m| !m.used_up).map(|m| m.name).collect();
    assert!(missed.is_empty(), "the load never met: {missed:?}");
    assert_only_retry_later(&record, met[0].armed);
    assert_durable(&target, &record).await;
    // One retry covers one fault: what reaches the client is only what waits out the
    // driver's rediscovery of the node, bounded by Bazaar's heartbeat.
    let total: usize = failures.iter().sum();
    eprintln!("503s over all labelled faults: {total}");
    assert!(
        total <= 2,
        "a labelled fault met once reached clients as {total} 503s"
    );
}

/// The same errors without their labels: nothing may run again, so the request that met
/// the fault is answered 503 with `Retry-After` (never 500), and nothing is lost or doubled.
#[tokio::test]
async fn unlabelled_errors_reach_the_client_as_503_with_retry_after_and_lose_nothing() {
    let mongo = FailpointServer::start().await;
    let (_bazaar, target) = bazaar_on("elections-unlabelled", &mongo, "", &QUIET_OUTBOX).await;
    let faults = [
        error(
            "commitTransaction NotWritablePrimary, no label",
            "commitTransaction",
            NOT_WRITABLE_PRIMARY,
            &[],
        ),
        error(
            "update PrimarySteppedDown, no label",
            "update",
            PRIMARY_STEPPED_DOWN,
            &[],
        ),
        error(
            "insert NotWritablePrimary, no label",
            "insert",
            NOT_WRITABLE_PRIMARY,
            &[],
        ),
        error(
            "findAndModify ShutdownInProgress, no label",
            "findAndModify",
            SHUTDOWN_IN_PROGRESS,
            &[],
        ),
    ];
    let gap = Duration::from_millis(1500);

    let (record, met) = under_load(&mongo, &target, &faults, 1, gap).await;

    let failures = report(&record, &met, gap);
    let missed: Vec<&str> = met.iter().filter(|m| !m.used_up).map(|m| m.name).collect();
    assert!(missed.is_empty(), "the load never met: {missed:?}");
    assert_only_retry_later(&record, met[0].armed);
    // An insert, a stock reservation or a commit that fails fails its request. An update
    // may be a request's best-effort step (dropping a stock hold once the order is stored,
    // which the sweep settles later) and need not reach a client.
    eprintln!("503s by window: {failures:?}");
    let told = record.outcomes.iter().filter(|o| !o.succeeded()).count();
    eprintln!("503s over all unlabelled faults: {told}");
    assert!(
        told >= 3,
        "the insert, stock and commit faults were met, yet {told} clients were told"
    );
    assert_durable(&target, &record).await;
}

/// A failpoint armed for every order insert (a primary that keeps refusing): the driver's one
/// retry runs out, each order is answered 503 with `Retry-After` within the backend timeout,
/// reads go on, and orders succeed again as soon as it is off.
#[tokio::test]
async fn retries_exhausted_answer_503_with_retry_after_and_recover_when_the_fault_ends() {
    let mongo = FailpointServer::start().await;
    let (_bazaar, target) = bazaar_on("elections-exhausted", &mongo, "", &[]).await;
    let fault = error(
        "insert NotWritablePrimary, RetryableWriteError, every time",
        "insert",
        NOT_WRITABLE_PRIMARY,
        &[RETRYABLE_WRITE],
    );
    // Long enough that creates sent well inside it also end inside it: each takes up to
    // about 2 s to be refused (a wait for the node before its retry, on a loaded machine).
    let outage = Duration::from_secs(6);

    // Each create is a new request (a refused one is not sent again), so the
    // refusals through the outage are counted.
    let load = Load::start_with(&target, PAUSE, false);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let armed = load.now();
    mongo.arm(&fault, 1_000_000).await;
    tokio::time::sleep(outage).await;
    mongo.disarm().await;
    let off = load.now();
    let recovered = load.recovered_after(off).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let record = load.stop().await;

    assert_only_retry_later(&record, armed);
    // Orders sent well inside the outage (after the ones already on their way).
    let settled = armed + Duration::from_millis(500);
    let refused: Vec<&Outcome> = record
        .outcomes
        .iter()
        .filter(|o| o.kind == Kind::Create && o.sent >= settled && o.ended() < off)
        .collect();
    assert!(
        !refused.is_empty(),
        "the load sent orders during the outage"
    );
    assert!(
        refused.iter().all(|o| o.is_retry_later()),
        "orders during the outage: {:#?}",
        summary(&refused)
    );
    let slowest = refused.iter().map(|o| o.latency).max().unwrap();
    let reads_ok = record
        .outcomes
        .iter()
        .filter(|o| o.kind == Kind::Read && o.sent >= settled && o.ended() < off)
        .all(Outcome::succeeded);
    eprintln!(
        "{} orders refused with 503 during a {outage:?} outage, slowest refusal {slowest:?}; \
         reads all succeeded: {reads_ok}; first order after the fault ended {:?} later",
        refused.len(),
        recovered.saturating_sub(off)
    );
    // Within the backend timeout (1 s here) for each of the two attempts, with room for a
    // busy machine; not the driver's 120 s transaction retry.
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
    assert_durable(&target, &record).await;
}

/// What an election costs a client: a state-change error (`NotWritablePrimary`,
/// `PrimarySteppedDown`, `ShutdownInProgress`, each labelled `RetryableWriteError` as mongod
/// labels them) makes the driver take the node for unknown until its monitor checks it again;
/// the write's one retry, and every other command meanwhile, wait for that check. Measured
/// with the driver's default heartbeat (10 s) and with Bazaar's (500 ms): per election, the
/// 503s answered and the slowest answer in the two seconds after it.
#[tokio::test]
async fn an_election_costs_a_client_what_the_heartbeat_allows() {
    let mongo = FailpointServer::start().await;
    let elections = [
        error(
            "insert NotWritablePrimary",
            "insert",
            NOT_WRITABLE_PRIMARY,
            &[RETRYABLE_WRITE],
        ),
        error(
            "findAndModify PrimarySteppedDown",
            "findAndModify",
            PRIMARY_STEPPED_DOWN,
            &[RETRYABLE_WRITE],
        ),
        error(
            "insert ShutdownInProgress",
            "insert",
            SHUTDOWN_IN_PROGRESS,
            &[RETRYABLE_WRITE],
        ),
    ];
    // With the driver's default heartbeat: one election, watched for longer than a heartbeat.
    let (default_503s, default_window) = {
        let database = unique("elections_cost");
        let (_bazaar, target) = bazaar_on(
            "elections-cost-driver-default",
            &mongo,
            "?heartbeatFrequencyMS=10000",
            &[("BAZAAR_MONGODB_DATABASE", &database)],
        )
        .await;
        let (record, met) =
            under_load(&mongo, &target, &elections[..1], 1, Duration::from_secs(12)).await;
        assert!(met[0].used_up, "the election was not met");
        assert_only_retry_later(&record, met[0].armed);
        assert_durable(&target, &record).await;
        let refused: Vec<&Outcome> = record.outcomes.iter().filter(|o| !o.succeeded()).collect();
        let window = refused
            .iter()
            .map(|o| o.ended())
            .max()
            .map_or(Duration::ZERO, |end| end.saturating_sub(met[0].armed));
        (refused.len(), window)
    };
    // With Bazaar's: three elections, two seconds apart.
    let gap = Duration::from_secs(2);
    let database = unique("elections_cost");
    let (_bazaar, target) = bazaar_on(
        "elections-cost-bazaar",
        &mongo,
        "",
        &[("BAZAAR_MONGODB_DATABASE", &database)],
    )
    .await;
    let (record, met) = under_load(&mongo, &target, &elections, 1, gap).await;
    let failures = report(&record, &met, gap);
    assert!(met.iter().all(|m| m.used_up), "an election was not met");
    assert_only_retry_later(&record, met[0].armed);
    assert_durable(&target, &record).await;
    let slowest = record
        .outcomes
        .iter()
        .filter(|o| o.sent >= met[0].armed)
        .map(|o| o.latency)
        .max()
        .unwrap_or_default();
    let ours_503s: usize = failures.iter().sum();
    eprintln!(
        "one election with the driver's default heartbeat: {default_503s} 503s over \
         {default_window:?}; three with Bazaar's: {ours_503s} 503s, slowest answer {slowest:?}"
    );
    // Bazaar's heartbeat lets the write's retry find the node again within the backend
    // timeout: an election costs a slower answer, not an error.
    assert_eq!(
        ours_503s, 0,
        "with Bazaar's heartbeat an election reached clients"
    );
}

/// A standalone server cannot run transactions: `bazaar serve` refuses to start on one,
/// naming it, with a non-zero exit.
#[tokio::test]
async fn startup_refuses_a_standalone_mongodb_naming_it() {
    let port = free_port();
    let _server = mongo_server_with(port, ":memory:", &["--standalone"]);
    wait_for_port(port).await;
    let url = format!("mongodb://127.0.0.1:{port}");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BAZAAR_ADDR", "127.0.0.1:0")
        .env("BAZAAR_MONGODB_URL", &url)
        .env("BAZAAR_BACKEND_TIMEOUT_MS", "3000")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("bazaar serve neither started nor exited")
        .unwrap();

    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "MongoDB at 127.0.0.1:{port} is a standalone server"
        )) && text.contains("cannot run transactions"),
        "{text}"
    );
}

/// The bound of the other tests is only meaningful if a replica set is accepted: the same
/// server without `--standalone` (a single-node replica set) lets `bazaar serve` start.
#[tokio::test]
async fn startup_accepts_a_single_node_replica_set() {
    let mongo = FailpointServer::start().await;
    let (bazaar, _) = bazaar_on("elections-replica-set", &mongo, "", &[]).await;
    assert!(bazaar.log().contains("mongodb: a replica set"));
}
