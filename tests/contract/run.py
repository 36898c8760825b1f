#!/usr/bin/env python3
"""The contract suite: the paths frontend teams use, each run against a live server, once per
profile.

`development`: `bazaar serve` (the debug build) in `BAZAAR_ENV=development` on its in-memory
backends, with the fake providers; OTPs are read from `GET /api/v1/dev/messages` and a
checkout is paid through `POST /api/v1/dev/payments/{razorpay_order_id}/capture`.

`production`: the same binary in `BAZAAR_ENV=production` on the MongoDB-wire server, Redis and
S3 named by BAZAAR_TEST_* (tests/support/services.py provides them; run.py runs itself under
it when they are missing), with fresh random secrets, and Razorpay, MSG91 and SendGrid pointed
through their base-URL settings at the stand-ins of providers.py, so the real adapters run end
to end. OTPs are read from the MSG91 stand-in; a checkout is paid at the Razorpay stand-in,
which delivers the signed webhooks.

Both: Google is the Google stand-in of providers.py (BAZAAR_OIDC_GOOGLE_*), whose
`POST /_stub/id-token` mints the ID tokens the suites sign in with (ctx.id_token_url); rate
limits off, a one-second OTP cooldown, cheap password hashes and a known admin, who is signed
in before the suites run. Each suite in SUITES is a module in this directory
with `run(ctx)`, which raises SuiteFailed (or any exception) when what it guards is broken.
Every suite runs in every profile even if an earlier one failed; the exit code is non-zero if
any failed. Outputs go to tests/output/contract/<profile>/.

Usage: tests/contract/run.py [--profile development|production] [suite ...]
       (default: both profiles, development first, and all of SUITES)
Environment: CARGO (cargo command), CARGO_TARGET_DIR (honoured).

The script runs under the project's virtualenv `.venv`: started by another Python, it first
installs PACKAGES there (tests/support/pins.py) and runs itself again with `.venv/bin/python`.
"""

import argparse
import importlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from dataclasses import dataclass
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "tests", "output", "contract")
ADMIN_PHONE = "+919000000042"
ADMIN_PASSWORD = "contract-admin-password-1"
PROFILES = ["development", "production"]
# What the production profile needs from tests/support/services.py.
SERVICES = ["BAZAAR_TEST_MONGODB_URL", "BAZAAR_TEST_REDIS_URL", "BAZAAR_TEST_S3_URL",
            "BAZAAR_TEST_S3_BUCKET", "BAZAAR_TEST_S3_ACCESS_KEY", "BAZAAR_TEST_S3_SECRET_KEY"]
# The browser origin the production server allows (production refuses `*`).
ORIGIN = "https://shop.example.in"

# The Python packages this script imports (the Google stand-in signs ID tokens with PyJWT, RSA
# by `cryptography`), pinned; installed into .venv by tests/support/pins.py.
PACKAGES = [("cryptography", "50.0.2"), ("PyJWT", "2.15.1")]

# Suites in the order they run; each is tests/contract/<name>.py.
SUITES = ["typescript", "python_client", "postman", "browser", "schemathesis"]


class SuiteFailed(Exception):
    """What a suite guards is broken; the message says what."""


@dataclass
class Context:
    profile: str
    base_url: str
    admin_token: str
    admin_phone: str
    admin_password: str
    output_dir: str
    root: str
    # GET it: every SMS (and, in development, email) sent so far, as a JSON list of
    # {channel, to, purpose, code?, data?}: the dev messages, or the MSG91 stand-in's record.
    messages_url: str
    # What messages_url answers, parsed (in production the SendGrid stand-in's emails too).
    messages: Callable[[], list]
    # POST it, with {razorpay_order_id} filled in: the customer pays that Razorpay order in
    # full and its signed webhooks reach the server.
    pay_url: str
    # POST it {email, name?, email_verified?, sub?, nonce?}: `{id_token}`, an ID token of the
    # server's Google (the stand-in) for that Google account.
    id_token_url: str

    def code_sent_to(self, phone):
        """The last OTP sent to `phone` (E.164), or None."""
        codes = [m["code"] for m in self.messages() if m.get("to") == phone and m.get("code")]
        return codes[-1] if codes else None


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


def common_settings(port):
    return {
        "BAZAAR_ADDR": f"127.0.0.1:{port}",
        "BAZAAR_LOG_LEVEL": "warn",
        "BAZAAR_ADMIN_PHONE": ADMIN_PHONE,
        "BAZAAR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # The suites send many requests from one address; production allows 0 (off) too.
        "BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE": "0",
        "BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE": "0",
        "BAZAAR_RATE_LIMIT_OTP_PER_HOUR": "0",
        "BAZAAR_OTP_COOLDOWN_SECS": "1",
        # Cheap hashes: suites sign in many times.
        "BAZAAR_ARGON2_MEMORY_KIB": "1024",
        "BAZAAR_ARGON2_ITERATIONS": "1",
    }


def development_settings(port, output):
    return dict(
        common_settings(port),
        BAZAAR_ENV="development",
        BAZAAR_FILES_DIR=os.path.join(output, "uploads"),
    )


def production_settings(port, output, providers):
    """What production needs (cf. production_env() in tests/it/security/prod.rs): the test
    services, a database and key prefix of this run's own, and strong random secrets, which
    production requires (it refuses the development ones)."""
    run = f"contract_{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"
    env = os.environ
    return dict(
        common_settings(port),
        **providers.settings(),
        BAZAAR_ENV="production",
        BAZAAR_MONGODB_URL=env["BAZAAR_TEST_MONGODB_URL"],
        BAZAAR_MONGODB_DATABASE=f"bazaar_{run}",
        BAZAAR_REDIS_URL=env["BAZAAR_TEST_REDIS_URL"],
        BAZAAR_REDIS_KEY_PREFIX=f"{run}:",
        BAZAAR_S3_ENDPOINT=env["BAZAAR_TEST_S3_URL"],
        BAZAAR_S3_REGION=env.get("BAZAAR_TEST_S3_REGION", "us-east-1"),
        BAZAAR_S3_BUCKET=env["BAZAAR_TEST_S3_BUCKET"],
        BAZAAR_S3_ACCESS_KEY_ID=env["BAZAAR_TEST_S3_ACCESS_KEY"],
        BAZAAR_S3_SECRET_ACCESS_KEY=env["BAZAAR_TEST_S3_SECRET_KEY"],
        BAZAAR_S3_PATH_STYLE="true",
        BAZAAR_JWT_KEYS=f"contract:{secrets.token_hex(32)}",
        BAZAAR_OTP_SECRET=secrets.token_hex(32),
        BAZAAR_CORS_ORIGINS=ORIGIN,
        BAZAAR_PUBLIC_URL=ORIGIN,
        # Production requires the seller tax invoices name; GSTN's example GSTIN checks out.
        BAZAAR_GST_SELLER_LEGAL_NAME="Contract Suite Traders",
        BAZAAR_GST_SELLER_GSTIN="27AAPFU0939F1ZV",
        BAZAAR_GST_SELLER_ADDRESS="Andheri East|Mumbai, Maharashtra 400069",
    )


def start_server(settings, output):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAZAAR_")}
    env.update(settings)
    log_file = open(os.path.join(output, "server.log"), "w")
    return subprocess.Popen(
        [binary(), "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT
    )


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


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


def wait_ready(base, server, output):
    deadline = time.time() + 120
    while time.time() < deadline:
        if server.poll() is not None:
            raise SuiteFailed(f"the server exited with {server.returncode}; see {output}/server.log")
        try:
            if request("GET", f"{base}/health/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SuiteFailed(f"the server did not become ready in 120 s; see {output}/server.log")


def sign_in_admin(base):
    status, body = request(
        "POST",
        f"{base}/api/v1/auth/login",
        {"identifier": ADMIN_PHONE, "password": ADMIN_PASSWORD},
    )
    if status != 200:
        raise SuiteFailed(f"the admin could not sign in: {status} {body[:300]!r}")
    return json.loads(body)["access_token"]


def run_profile(profile, names):
    """Starts the server of `profile` (with the Google stand-in and, in production, the other
    provider stand-ins), runs the suites `names` against it and answers the names of those
    that failed."""
    output = os.path.join(OUTPUT, profile)
    os.makedirs(output, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    providers = None
    from providers import Google

    # Google in both profiles: no development route mints ID tokens its server trusts.
    google_log = open(os.path.join(output, "google.log"), "w")  # noqa: SIM115 - closed in the finally below

    def log_google(line):
        google_log.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        google_log.flush()

    google = Google(log_google).start()
    if profile == "production":
        from providers import Providers

        providers = Providers(f"{base}/api/v1/webhooks/razorpay", os.path.join(output, "providers.log"))
        settings = production_settings(port, output, providers)
        messages_url = providers.messages_url()
        messages = providers.messages
        pay_url = providers.razorpay.pay_url()
    else:
        settings = development_settings(port, output)
        messages_url = f"{base}/api/v1/dev/messages"
        messages = lambda: get_json(messages_url)  # noqa: E731
        pay_url = f"{base}/api/v1/dev/payments/{{razorpay_order_id}}/capture"
    settings.update(google.settings())
    log(f"{profile}: starting bazaar serve on {base}")
    server = start_server(settings, output)
    failed = []
    try:
        wait_ready(base, server, output)
        ctx = Context(
            profile=profile,
            base_url=base,
            admin_token=sign_in_admin(base),
            admin_phone=ADMIN_PHONE,
            admin_password=ADMIN_PASSWORD,
            output_dir=output,
            root=ROOT,
            messages_url=messages_url,
            messages=messages,
            pay_url=pay_url,
            id_token_url=google.id_token_url(),
        )
        for name in names:
            log(f"{profile}: suite {name}: running")
            started = time.time()
            try:
                importlib.import_module(name).run(ctx)
                log(f"{profile}: suite {name}: passed in {time.time() - started:.1f} s")
            except Exception as e:  # noqa: BLE001 - every suite runs; all failures are reported
                traceback.print_exc()
                log(f"{profile}: suite {name}: FAILED after {time.time() - started:.1f} s: {e}")
                failed.append(f"{profile}/{name}")
    except Exception as e:  # noqa: BLE001 - the other profile still runs
        traceback.print_exc()
        log(f"{profile}: FAILED before the suites ran: {e}")
        failed.append(f"{profile} (server)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if providers:
            providers.stop()
        google.stop()
        google_log.close()
    return failed


def in_venv():
    """Installs PACKAGES into .venv and, unless this script already runs under .venv's Python,
    runs it again there (never returns then)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
    import pins

    for distribution, version in PACKAGES:
        python = pins.ensure(distribution, version, "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(pins.VENV):
        return
    if os.environ.get("BAZAAR_CONTRACT_IN_VENV"):
        raise SystemExit(f"[contract] {python} does not run in {pins.VENV} (sys.prefix {sys.prefix})")
    env = dict(os.environ, BAZAAR_CONTRACT_IN_VENV="1")
    os.execve(python, [python, os.path.abspath(__file__), *sys.argv[1:]], env)


def under_services(profiles):
    """Runs this script again under tests/support/services.py when the production profile
    needs test services the environment does not name; None when they are named."""
    if "production" not in profiles or all(os.environ.get(k) for k in SERVICES):
        return None
    if os.environ.get("BAZAAR_CONTRACT_UNDER_SERVICES"):
        raise SystemExit(f"[contract] services.py did not provide {', '.join(SERVICES)}")
    log("the production profile needs MongoDB-wire, Redis and S3: running under tests/support/services.py")
    command = [sys.executable, os.path.join(ROOT, "tests", "support", "services.py"), "--",
               sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    env = dict(os.environ, BAZAAR_CONTRACT_UNDER_SERVICES="1")
    return subprocess.run(command, env=env).returncode


def main(argv):
    parser = argparse.ArgumentParser(description="Run the contract suites once per profile.")
    parser.add_argument("--profile", choices=PROFILES, action="append",
                        help="run only this profile (repeatable); default: both")
    parser.add_argument("suites", nargs="*", metavar="suite",
                        help=f"default: all of {', '.join(SUITES)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; the suites are {', '.join(SUITES)}")
    profiles = args.profile or PROFILES
    names = args.suites or SUITES
    in_venv()
    wrapped = under_services(profiles)
    if wrapped is not None:
        return wrapped
    started = time.time()
    failed = []
    for profile in profiles:
        began = time.time()
        failed += run_profile(profile, names)
        log(f"{profile}: done in {time.time() - began:.0f} s")
    log(f"total {time.time() - started:.0f} s")
    if failed:
        log(f"failed: {', '.join(failed)} (outputs in {OUTPUT}/<profile>)")
        return 1
    log(f"all {len(names)} suites passed in {', '.join(profiles)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main(sys.argv[1:]))
