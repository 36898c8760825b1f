#!/usr/bin/env python3
"""Run a command with the services the tests need: a MongoDB-wire server and Redis.

Reuses BAZAAR_TEST_MONGODB_URL (or MONGODB_URL) and BAZAAR_TEST_REDIS_URL when they
answer. Otherwise it installs what is missing and starts it on a free port:
SecantusDB (PyPI `secantusdb`, run as `secantusd-py --storage-path :memory:`) in the
project-local, git-ignored virtualenv `.venv`, and `redis-server` (from Debian's
package if absent). Whatever it started is stopped when the command ends, even on
failure or interruption. The command's exit code is passed through.

Usage: tests/support/services.py -- cargo test --workspace
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, ".venv")
SECANTUS_VERSION = "0.7.0b3"
started = []


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


def wait_until(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"[services] {what} did not come up within {timeout}s")


def run(cmd, **kw):
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_secantus():
    exe = os.path.join(VENV, "bin", "secantusd-py")
    if os.path.exists(exe):
        return exe
    run([sys.executable, "-m", "venv", VENV])
    run([os.path.join(VENV, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
         f"secantusdb=={SECANTUS_VERSION}"])
    return exe


def ensure_redis_server():
    exe = shutil.which("redis-server")
    if exe:
        return exe
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(apt + ["update", "-qq"], env=env)
    run(apt + ["install", "-y", "-qq", "redis-server"], env=env)
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    return exe


def start(cmd, name):
    log(f"starting {name}: {' '.join(cmd)}")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    started.append((name, proc))
    return proc


def stop_all():
    for name, proc in reversed(started):
        if proc.poll() is None:
            # Quietly: the test runner's summary should stay the last line of output.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    started.clear()


def main():
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    env = dict(os.environ)

    # Both resilience tests and the fallback need these binaries anyway.
    secantus = ensure_secantus()
    redis_server = ensure_redis_server()
    env["BAZAAR_TEST_SECANTUSD"] = secantus
    env["BAZAAR_TEST_REDIS_SERVER"] = redis_server

    mongo_url = env.get("BAZAAR_TEST_MONGODB_URL") or env.get("MONGODB_URL")
    if mongo_url and mongo_answers(mongo_url):
        log("reusing the MongoDB server named by the environment")
    else:
        port = free_port()
        start([secantus, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
               "--log-level", "WARNING"], f"secantusd-py on port {port}")
        mongo_url = f"mongodb://127.0.0.1:{port}"
        wait_until(lambda: mongo_answers(mongo_url), "secantusd-py")
    env["BAZAAR_TEST_MONGODB_URL"] = mongo_url

    redis_url = env.get("BAZAAR_TEST_REDIS_URL")
    if redis_url and redis_answers(redis_url):
        log("reusing the Redis server named by the environment")
    else:
        port = free_port()
        start([redis_server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
               "--appendonly", "no"], f"redis-server on port {port}")
        redis_url = f"redis://127.0.0.1:{port}"
        wait_until(lambda: redis_answers(redis_url), "redis-server")
    env["BAZAAR_TEST_REDIS_URL"] = redis_url

    child = None

    def forward(signum, _frame):
        if child and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        log(f"running: {' '.join(args)}")
        child = subprocess.Popen(args, env=env)
        return child.wait()
    finally:
        stop_all()


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
