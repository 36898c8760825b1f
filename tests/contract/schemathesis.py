"""Schemathesis against the live server: every operation of openapi/openapi.yaml, signed in.

Phases: examples (the contract's own examples), coverage (boundary and invalid values of
every parameter and field), fuzzing (generated requests, valid and invalid) and stateful
(sequences that follow the contract's OpenAPI links, e.g. createProduct -> getProduct).
Checks: Schemathesis' default set, i.e. every check it has (no 5xx, documented statuses,
Content-Types, bodies and headers; schema-violating requests refused and schema-valid ones
accepted; 405 with `Allow` for undeclared methods; a missing required header refused; auth
not ignored; deleted resources gone and created ones available). The one narrowing is
schemathesis_hooks.py (values no schema can describe), named in docs/contract-testing.md.

Seeded and bounded (SEEDS, MAX_EXAMPLES, WORKERS) so that a run is reproducible. Each seed runs
the whole suite; reports per seed and pass: <output>/schemathesis/<seed>-<pass>.junit.xml and
the full NDJSON event stream beside it (every request and answer), to replay a failure.

Run alone with `python3 tests/contract/run.py schemathesis`.
"""

import json
import os
import subprocess
import sys
import time

from run import SuiteFailed, log, request, sign_in_admin

# Pinned: a new release may add checks or change generation; bump it deliberately.
SCHEMATHESIS = "schemathesis==4.32.5"
# Two seeds: each explores different generated values; both must pass. The production profile
# (what is shipped) runs both; the development profile runs the first only, which keeps
# `make test` well inside CI's 90 minutes (docs/testing.md).
SEEDS = [20261127, 7]
SEEDS_BY_PROFILE = {"production": SEEDS, "development": SEEDS[:1]}
MAX_EXAMPLES = 100
# One worker: with two threads, Hypothesis' parsing of lambda sources hits CPython 3.11's
# "AST constructor recursion depth mismatch" race now and then, a crash of the tool rather
# than a finding, which would make CI red at random.
WORKERS = 1
PHASES = "examples,coverage,fuzzing,stateful"

# Operations that end sessions run in passes of their own, each with a throwaway admin's token instead
# of the suite's: logout ends the session it is called with, logoutAll every session of its
# user, deleteMySession a session of the caller (Schemathesis takes the ids from
# listMySessions), setUserRoles, disableUser and endUserSessions end the sessions of the
# user they change (ids from getMe and listUsers, i.e. the caller), and eraseMe erases the
# caller's account and ends its sessions. With the suite's admin token they would
# sign the rest of the run, and the suites after this one, out. They are still tested with
# every check; once the throwaway session has ended their answers are 401, which the
# contract documents. The throwaway user is an admin so that the admin-only ones get past
# authorisation.
SESSION_ENDING_OPERATIONS = [  # each runs alone, with its own throwaway admin
    "logout",
    "logoutAll",
    "deleteMySession",
    "setUserRoles",
    "disableUser",
    "endUserSessions",
    # Erases the caller's account (DPDP erasure), which ends all its sessions too.
    "eraseMe",
    # Ends the caller's other sessions; and its wrong `current_password`s count towards
    # the caller's lockout, which must not lock the admin the other runs sign in as.
    "setMyPassword",
]


def ensure_schemathesis(root):
    """`.venv/bin/st` at the pinned version: installed into the project's git-ignored
    virtualenv if missing, and an older or newer install replaced by the pin."""
    sys.path.insert(0, os.path.join(root, "tests", "support"))
    import pins  # tests/support/pins.py

    distribution, version = SCHEMATHESIS.split("==")
    return pins.ensure(distribution, version, "st", os.path.join(root, ".venv"))


def throwaway_admin_token(ctx):
    """Registers a new user, verifies its phone, makes it an admin, and signs it in: its sessions
    are ours to end."""
    phone = f"+9191{int(time.time() * 1000) % 100_000_000:08d}"
    password = "schemathesis-throwaway-1"
    status, body = request(
        "POST",
        f"{ctx.base_url}/api/v1/auth/register",
        {"phone": phone, "name": "Schemathesis", "password": password},
    )
    if status != 201:
        raise SuiteFailed(f"could not register a throwaway user: {status} {body[:300]!r}")
    user_id = json.loads(body)["id"]
    # Password sign-in needs a verified phone: the code is where the profile's SMS goes (the
    # development messages, or the MSG91 stand-in).
    code = ctx.code_sent_to(phone)
    if not code:
        raise SuiteFailed(f"no code was sent to the throwaway user at {ctx.messages_url}")
    status, body = request(
        "POST",
        f"{ctx.base_url}/api/v1/auth/otp/verify",
        {"phone": phone, "purpose": "verify_phone", "code": code},
    )
    if status != 200:
        raise SuiteFailed(f"could not verify the throwaway user's phone: {status} {body[:300]!r}")
    status, body = request(
        "PUT",
        f"{ctx.base_url}/api/v1/users/{user_id}/roles",
        {"roles": ["admin"]},
        token=sign_in_admin(ctx.base_url),
    )
    if status != 200:
        raise SuiteFailed(f"could not make the throwaway user an admin: {status} {body[:300]!r}")
    status, body = request(
        "POST",
        f"{ctx.base_url}/api/v1/auth/login",
        {"identifier": phone, "password": password},
    )
    if status != 200:
        raise SuiteFailed(f"the throwaway user could not sign in: {status} {body[:300]!r}")
    return json.loads(body)["access_token"]


def st_run(ctx, st, seed, name, token, filters, phases=PHASES):
    name = f"{seed}-{name}"
    out = os.path.join(ctx.output_dir, "schemathesis")
    os.makedirs(out, exist_ok=True)
    command = [
        st,
        "--config-file",
        os.path.join(ctx.root, "tests", "contract", "schemathesis.toml"),
        "run",
        os.path.join(ctx.root, "openapi", "openapi.yaml"),
        "--url",
        ctx.base_url,
        "-H",
        f"Authorization: Bearer {token}",
        "--phases",
        phases,
        "--seed",
        str(seed),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        str(WORKERS),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit,ndjson",
        "--report-junit-path",
        os.path.join(out, f"{name}.junit.xml"),
        "--report-ndjson-path",
        os.path.join(out, f"{name}.ndjson"),
        *filters,
    ]
    log(f"schemathesis ({name}): {' '.join(c for c in command[1:] if 'Bearer' not in c)}")
    started = time.time()
    result = subprocess.run(command, cwd=ctx.root, capture_output=True, text=True)
    with open(os.path.join(out, f"{name}.log"), "w") as f:
        f.write(result.stdout)
        f.write(result.stderr)
    log(f"schemathesis ({name}): exit {result.returncode} in {time.time() - started:.0f} s")
    if result.returncode != 0:
        # The summary is at the end of the output; the whole of it is in the log file.
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        print(tail, flush=True)
        return f"{name}: exit {result.returncode}; see {out}/{name}.log"
    return None


def run(ctx):
    st = ensure_schemathesis(ctx.root)
    excluded = []
    for operation in SESSION_ENDING_OPERATIONS:
        excluded += ["--exclude-operation-id", operation]
    failures = []
    for seed in SEEDS_BY_PROFILE.get(ctx.profile, SEEDS):
        # A fresh admin token per pass: a pass can outlast an access token on a busy machine.
        failures.append(st_run(ctx, st, seed, "admin", sign_in_admin(ctx.base_url), excluded))
        # One throwaway admin per session-ending operation, so that one ending the session
        # does not leave the others only 401s to answer. No links join them: no stateful phase.
        for operation in SESSION_ENDING_OPERATIONS:
            failures.append(
                st_run(
                    ctx,
                    st,
                    seed,
                    operation,
                    throwaway_admin_token(ctx),
                    ["--include-operation-id", operation],
                    phases="examples,coverage,fuzzing",
                )
            )
    failures = [f for f in failures if f]
    if failures:
        raise SuiteFailed("Schemathesis found failures: " + "; ".join(failures))
