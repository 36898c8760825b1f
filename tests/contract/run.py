#!/usr/bin/env python3
"""The contract suite: the paths frontend teams use, each run against a live server.

Starts `bazaar serve` (the debug build, in-memory backends, development mode, rate limits
off, a known admin) on a free port, signs the admin in, and runs each suite in SUITES with
a Context (base URL, admin token, output directory). A suite is a module in this directory
with `run(ctx)`, which raises SuiteFailed (or any exception) when what it guards is broken.
Every suite runs even if an earlier one failed; the exit code is non-zero if any failed.

Usage: tests/contract/run.py [suite ...]    (default: all of SUITES)
Environment: CARGO (cargo command), CARGO_TARGET_DIR (honoured).
"""

import importlib
import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "tests", "output", "contract")
ADMIN_PHONE = "+919000000042"
ADMIN_PASSWORD = "contract-admin-password-1"

# Suites in the order they run; each is tests/contract/<name>.py.
SUITES = ["typescript", "postman", "browser", "schemathesis"]


class SuiteFailed(Exception):
    """What a suite guards is broken; the message says what."""


@dataclass
class Context:
    base_url: str
    admin_token: str
    admin_phone: str
    admin_password: str
    output_dir: str
    root: str


def log(message):
    print(f"[contract] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run([cargo, "build", "--quiet", "--bin", "bazaar"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "debug", "bazaar")


def start_server(port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAZAAR_")}
    env.update(
        {
            "BAZAAR_ENV": "development",
            "BAZAAR_ADDR": f"127.0.0.1:{port}",
            "BAZAAR_LOG_LEVEL": "warn",
            "BAZAAR_ADMIN_PHONE": ADMIN_PHONE,
            "BAZAAR_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE": "0",
            "BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE": "0",
            "BAZAAR_RATE_LIMIT_OTP_PER_HOUR": "0",
            "BAZAAR_OTP_COOLDOWN_SECS": "1",
            # Cheap hashes: suites sign in many times.
            "BAZAAR_ARGON2_MEMORY_KIB": "1024",
            "BAZAAR_ARGON2_ITERATIONS": "1",
            "BAZAAR_FILES_DIR": os.path.join(OUTPUT, "uploads"),
        }
    )
    log_file = open(os.path.join(OUTPUT, "server.log"), "w")
    return subprocess.Popen(
        [binary(), "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT
    )


def request(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(base, server):
    deadline = time.time() + 120
    while time.time() < deadline:
        if server.poll() is not None:
            raise SuiteFailed(f"the server exited with {server.returncode}; see {OUTPUT}/server.log")
        try:
            if request("GET", f"{base}/health/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SuiteFailed("the server did not become ready in 120 s")


def main(names):
    os.makedirs(OUTPUT, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port)
    failed = []
    try:
        wait_ready(base, server)
        status, body = request(
            "POST",
            f"{base}/api/v1/auth/login",
            {"identifier": ADMIN_PHONE, "password": ADMIN_PASSWORD},
        )
        if status != 200:
            raise SuiteFailed(f"the admin could not sign in: {status} {body[:300]!r}")
        ctx = Context(
            base_url=base,
            admin_token=json.loads(body)["access_token"],
            admin_phone=ADMIN_PHONE,
            admin_password=ADMIN_PASSWORD,
            output_dir=OUTPUT,
            root=ROOT,
        )
        for name in names:
            log(f"suite {name}: running")
            started = time.time()
            try:
                importlib.import_module(name).run(ctx)
                log(f"suite {name}: passed in {time.time() - started:.1f} s")
            except Exception as e:  # noqa: BLE001 - every suite runs; all failures are reported
                traceback.print_exc()
                log(f"suite {name}: FAILED: {e}")
                failed.append(name)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    if failed:
        log(f"failed: {', '.join(failed)} (outputs in {OUTPUT})")
        return 1
    log(f"all {len(names)} suites passed")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main(sys.argv[1:] or SUITES))
