//! Real processes for tests that stop, kill or multiply them: private Redis
//! servers and clusters, MongoDB-wire servers, and the `bazaar` binary itself
//! (`bazaar serve`).
//!
//! A `bazaar` process logs to `tests/output/processes/<name>.log` (git-ignored), so a
//! failing test leaves the server's side of the story behind.

use std::fs::{self, File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::kit::{env_url, ADMIN_PASSWORD, ADMIN_PHONE};

const BIN: &str = env!("CARGO_BIN_EXE_bazaar");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process that is killed when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    pub fn start(program: &str, args: &[String]) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        Self { child }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn redis_server(port: u16) -> Server {
    let program = env_url("BAZAAR_TEST_REDIS_SERVER");
    let args = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .map(String::from);
    Server::start(&program, &args)
}

/// A private Redis Cluster: primaries only ([`RedisCluster::start`]), so that
/// stopping one node takes its slots away (and, after the node timeout, the
/// whole cluster down), or primaries with a replica each
/// ([`RedisCluster::start_with_replicas`]), so that a replica takes over.
pub struct RedisCluster {
    // Fields drop in order: the servers stop before their directory goes.
    nodes: Vec<Server>,
    /// Each node's client port and cluster bus port.
    ports: Vec<(u16, u16)>,
    dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts `size` cluster-enabled servers, joins them with `redis-cli
    /// --cluster create` and waits until every node says the cluster is ok.
    pub async fn start(size: usize) -> Self {
        Self::create(size, 0).await
    }

    /// `primaries` primaries with one replica each (`--cluster-replicas 1`);
    /// which node is which is for [`RedisCluster::primaries`] and
    /// [`RedisCluster::replica_of`] to say.
    pub async fn start_with_replicas(primaries: usize) -> Self {
        let cluster = Self::create(primaries * 2, 1).await;
        // A replica that has not finished its first sync cannot take over.
        for primary in cluster.primaries().await {
            let replica = cluster.replica_of(primary).await;
            eventually(&format!("node {replica} in sync"), || async {
                cluster
                    .role(replica)
                    .await
                    .is_some_and(|role| role.ends_with("connected"))
            })
            .await;
        }
        cluster
    }

    async fn create(size: usize, replicas: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let nodes = ports
            .iter()
            .map(|&ports| redis_cluster_node(ports, dir.path()))
            .collect();
        let cluster = Self { nodes, ports, dir };
        for &(port, _) in &cluster.ports {
            wait_for_port(port).await;
        }
        let create = tokio::process::Command::new(env_url("BAZAAR_TEST_REDIS_CLI"))
            .arg("--cluster")
            .arg("create")
            .args(cluster.ports.iter().map(|(p, _)| format!("127.0.0.1:{p}")))
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .await
            .unwrap();
        assert!(
            create.status.success(),
            "redis-cli --cluster create: {create:?}"
        );
        cluster.wait_until_ok().await;
        cluster
    }

    /// Every node's URL, comma-separated, as `BAZAAR_REDIS_URL` names a cluster.
    pub fn url(&self) -> String {
        (0..self.ports.len())
            .map(|i| self.seed(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn seed(&self, node: usize) -> String {
        format!("redis://127.0.0.1:{}", self.port(node))
    }

    pub fn port(&self, node: usize) -> u16 {
        self.ports[node].0
    }

    /// Kills one node (its slots are unserved until it returns).
    pub fn stop_node(&mut self, node: usize) {
        self.nodes[node].stop();
    }

    /// Starts a stopped node again on its port with its cluster config file,
    /// so it rejoins as the owner of its slots (empty: nothing is persisted).
    pub async fn restart_node(&mut self, node: usize) {
        self.nodes[node] = redis_cluster_node(self.ports[node], self.dir.path());
        wait_for_port(self.ports[node].0).await;
    }

    /// `ROLE` of a node, as `master` or `slave <primary port> <link state>`;
    /// `None` if it does not answer.
    pub async fn role(&self, node: usize) -> Option<String> {
        let client = redis::Client::open(self.seed(node)).ok()?;
        let mut connection = client.get_multiplexed_async_connection().await.ok()?;
        let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut connection).await.ok()?;
        let text = |v: &redis::Value| match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            redis::Value::SimpleString(s) => s.clone(),
            redis::Value::Int(i) => i.to_string(),
            _ => String::new(),
        };
        match text(role.first()?).as_str() {
            "master" => Some("master".to_owned()),
            "slave" => Some(format!(
                "slave {} {}",
                text(role.get(2)?),
                text(role.get(3)?)
            )),
            other => Some(other.to_owned()),
        }
    }

    /// The nodes that are primaries now.
    pub async fn primaries(&self) -> Vec<usize> {
        let mut primaries = Vec::new();
        for node in 0..self.ports.len() {
            if self.role(node).await.as_deref() == Some("master") {
                primaries.push(node);
            }
        }
        primaries
    }

    /// The node replicating `primary`.
    pub async fn replica_of(&self, primary: usize) -> usize {
        let port = self.port(primary).to_string();
        for node in 0..self.ports.len() {
            let role = self.role(node).await.unwrap_or_default();
            if role.split(' ').nth(1) == Some(port.as_str()) {
                return node;
            }
        }
        panic!("node {primary} has no replica");
    }

    /// Whether every node that answers says `cluster_state:ok`, and one answers.
    pub async fn is_ok(&self) -> bool {
        let mut answered = false;
        for node in 0..self.ports.len() {
            if let Some(info) = cluster_info(&self.seed(node)).await {
                answered = true;
                if !info.contains("cluster_state:ok") {
                    return false;
                }
            }
        }
        answered
    }

    pub async fn wait_until_ok(&self) {
        for node in 0..self.ports.len() {
            let seed = self.seed(node);
            eventually(&format!("cluster_state:ok on {seed}"), || {
                let seed = seed.clone();
                async move {
                    cluster_info(&seed)
                        .await
                        .is_some_and(|info| info.contains("cluster_state:ok"))
                }
            })
            .await;
        }
    }
}

fn redis_cluster_node((port, bus_port): (u16, u16), dir: &std::path::Path) -> Server {
    let program = env_url("BAZAAR_TEST_REDIS_SERVER");
    let config = dir.join(format!("nodes-{port}.conf"));
    let args = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        // Not the default port + 10000, which may not exist.
        "--cluster-port",
        &bus_port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir.display().to_string(),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        &config.display().to_string(),
        // Short, so that losing a node turns the cluster down (and back) quickly.
        "--cluster-node-timeout",
        "1000",
    ]
    .map(String::from);
    Server::start(&program, &args)
}

/// `CLUSTER INFO` of one node, or `None` if it does not answer.
pub async fn cluster_info(seed: &str) -> Option<String> {
    let client = redis::Client::open(seed).ok()?;
    let mut connection = client.get_multiplexed_async_connection().await.ok()?;
    redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut connection)
        .await
        .ok()
}

/// Redis that keeps its data in `dir` across a kill, as production's should:
/// every write is in the append-only file before it is acknowledged.
pub fn durable_redis_server(port: u16, dir: &str) -> Server {
    let program = env_url("BAZAAR_TEST_REDIS_SERVER");
    let args = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]
    .map(String::from);
    Server::start(&program, &args)
}

pub fn mongo_server(port: u16) -> Server {
    mongo_server_at(port, ":memory:")
}

/// A MongoDB-wire server storing in `path` (`:memory:` forgets everything when
/// stopped; a directory keeps it across a kill).
pub fn mongo_server_at(port: u16, path: &str) -> Server {
    mongo_server_with(port, path, &[])
}

/// A MongoDB-wire server as [`mongo_server_at`], with extra command-line `flags`
/// (`--enable-test-commands` for `configureFailPoint`, `--standalone`).
pub fn mongo_server_with(port: u16, path: &str, flags: &[&str]) -> Server {
    let program = env_url("BAZAAR_TEST_SECANTUSD");
    let mut args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--storage-path",
        path,
        "--log-level",
        "ERROR",
    ]
    .map(String::from)
    .into();
    if path != ":memory:" {
        args.push("--sync-on-commit".into());
    }
    args.extend(flags.iter().map(|f| (*f).to_owned()));
    Server::start(&program, &args)
}

pub async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` until it holds; the bound is generous because recovery waits
/// on reconnect back-off, and the test is about *whether* it recovers.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `bazaar serve` as a child process on a fixed port, so that it can be killed
/// and started again where clients expect it.
///
/// The first start binds port 0 and reads the port from the process's own "listening" log
/// line: a port picked free by the test and bound later by the child can be taken in
/// between by another test's server, which would then answer this one's readiness probe.
/// The settings of a real MSG91 client at `base_url` (the flow ids are any
/// value: the wiremock stand-ins accept every flow).
pub fn msg91_env(base_url: &str) -> Vec<(&'static str, String)> {
    [
        ("BAZAAR_MSG91_AUTHKEY", "test-authkey"),
        ("BAZAAR_MSG91_BASE_URL", base_url),
        ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
        (
            "BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION",
            "flow-order-confirmation",
        ),
        ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "flow-payment-receipt"),
        ("BAZAAR_MSG91_FLOW_REFUND", "flow-refund"),
        ("BAZAAR_MSG91_FLOW_CANCELLATION", "flow-cancellation"),
        ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "flow-order-packed"),
        ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "flow-order-shipped"),
        ("BAZAAR_MSG91_FLOW_ORDER_DELIVERED", "flow-order-delivered"),
        (
            "BAZAAR_MSG91_FLOW_RETURN_REQUESTED",
            "flow-return-requested",
        ),
        ("BAZAAR_MSG91_FLOW_RETURN_RECEIVED", "flow-return-received"),
    ]
    .map(|(k, v)| (k, v.to_owned()))
    .into()
}

pub struct Bazaar {
    name: String,
    /// 0 until the first start has said where it listens.
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// Where this start's output begins in the log file.
    log_offset: usize,
}

impl Bazaar {
    /// Starts `bazaar serve` with the test defaults (a known admin, cheap password
    /// hashing, no shutdown delay) plus `env`, and waits until it is ready.
    pub async fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let mut all: Vec<(String, String)> = [
            ("BAZAAR_ADMIN_PHONE", ADMIN_PHONE),
            ("BAZAAR_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("BAZAAR_ARGON2_MEMORY_KIB", "64"),
            ("BAZAAR_ARGON2_ITERATIONS", "1"),
            ("BAZAAR_SHUTDOWN_DELAY_MS", "0"),
            ("BAZAAR_LOG_FORMAT", "json"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let mut process = Self {
            name: name.to_owned(),
            port: 0,
            env: all,
            child: None,
            log_offset: 0,
        };
        process.spawn();
        process.wait_ready().await;
        process
    }

    fn log_path(&self) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/output/processes");
        fs::create_dir_all(&dir).unwrap();
        dir.join(format!("{}.log", self.name))
    }

    fn spawn(&mut self) {
        let path = self.log_path();
        let log = if self.child.is_none() && !path.exists() {
            File::create(&path)
        } else {
            OpenOptions::new().append(true).create(true).open(&path)
        }
        .unwrap();
        self.log_offset = log.metadata().map_or(0, |m| m.len() as usize);
        let mut cmd = Command::new(BIN);
        // Only what this test sets: nothing from the environment that runs the tests.
        for (name, _) in std::env::vars() {
            if name.starts_with("BAZAAR_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("serve")
            .env("BAZAAR_ADDR", format!("127.0.0.1:{}", self.port))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("starting bazaar serve"));
    }

    pub fn url(&self, path: &str) -> String {
        assert_ne!(
            self.port, 0,
            "{} has not said where it listens yet",
            self.name
        );
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The port this start's "Bazaar is listening" log line names, once it is written.
    fn listening_port(&self) -> Option<u16> {
        let log = fs::read(self.log_path()).ok()?;
        let output = String::from_utf8_lossy(log.get(self.log_offset..)?).into_owned();
        output
            .lines()
            .filter(|line| line.contains("Bazaar is listening"))
            .find_map(|line| {
                let (_, rest) = line.split_once("http://127.0.0.1:")?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
    }

    /// What the process has logged so far (earlier runs of the test included).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the process runs").id()
    }

    /// Waits until `/health/ready` answers 200.
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(exit) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "{} exited with {exit:?} before it was ready; see {}",
                    self.name,
                    self.log_path().display()
                );
            }
            if self.port == 0 {
                match self.listening_port() {
                    Some(port) => self.port = port,
                    None => {
                        assert!(
                            Instant::now() < deadline,
                            "{} did not say where it listens within 60 s; see {}",
                            self.name,
                            self.log_path().display()
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
            let ready = client
                .get(self.url("/health/ready"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready within 60 s; see {}",
                self.name,
                self.log_path().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and returns at once; [`Bazaar::wait_exit`] collects the exit.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit and returns whether it exited
    /// successfully.
    pub async fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut().expect("the process runs");
        loop {
            if let Some(exit) = child.try_wait().unwrap() {
                self.child = None;
                return exit.success();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {limit:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process again on the same port with the same settings.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready().await;
    }
}

impl Drop for Bazaar {
    fn drop(&mut self) {
        self.kill();
    }
}
