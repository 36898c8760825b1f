"""A Python client generated from the contract signs in through it.

openapi-python-client (pinned below, installed into `.venv` by tests/support/pins.py) generates
a client from openapi/openapi.yaml; any warning fails the suite, because the generator answers
a schema it cannot take by leaving out the operations that use it (it once dropped `sendOtp`
and `verifyOtp`, the heart of sign-in, over an enum reference wrapped in `allOf`). Then the
generated client walks the sign-in by code against the live server: `sendOtp` for the admin's
phone, the code read where this profile's SMS goes (the dev messages, or the MSG91
stand-in), `verifyOtp` for tokens, and `getMe` with them. The generated client is kept in
tests/output/contract/<profile>/python-client/.
"""

import os
import shutil
import subprocess
import sys
import threading

from run import SuiteFailed, log

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import pins  # noqa: E402

GENERATOR = ("openapi-python-client", "0.29.1")

# The generator's own hooks run ruff over the output; nothing here needs it formatted.
CONFIG = "post_hooks: []\n"

FLOW = r'''
import json, os, sys, time
from bazaar_client import AuthenticatedClient, Client
from bazaar_client.api.auth import send_otp, verify_otp
from bazaar_client.api.users import get_me
from bazaar_client.models import (
    OtpPurposeBody, OtpSendRequest, OtpVerified, OtpVerifyPurpose, OtpVerifyRequest, User,
)

base, phone = os.environ["BAZAAR_URL"], os.environ["BAZAAR_PHONE"]
client = Client(base_url=base, raise_on_unexpected_status=True)
sent = send_otp.sync_detailed(
    client=client, body=OtpSendRequest(phone=phone, purpose=OtpPurposeBody.LOGIN))
assert 200 <= sent.status_code < 300, (sent.status_code, sent.content)
print(f"sendOtp: {sent.status_code}", flush=True)
# The suite reads the code where this profile's SMS goes and hands it over on stdin.
code = sys.stdin.readline().strip()
verified = verify_otp.sync(
    client=client,
    body=OtpVerifyRequest(phone=phone, purpose=OtpVerifyPurpose.LOGIN, code=code,
                          device="python client"))
assert isinstance(verified, OtpVerified), verified
assert verified.tokens, "a login code gives tokens"
print(f"verifyOtp: signed in as {verified.user.id}", flush=True)
authed = AuthenticatedClient(base_url=base, token=verified.tokens.access_token,
                             raise_on_unexpected_status=True)
me = get_me.sync(client=authed)
assert isinstance(me, User), me
assert me.id == verified.user.id and me.phone == phone, (me.id, me.phone)
print(f"getMe: {me.phone}", flush=True)
'''


def run(ctx):
    generator = pins.ensure(*GENERATOR, "openapi-python-client")
    python = os.path.join(os.path.dirname(generator), "python")
    out = os.path.join(ctx.output_dir, "python-client")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    config = os.path.join(out, "config.yaml")
    with open(config, "w") as f:
        f.write(CONFIG)
    generated = subprocess.run(
        [generator, "generate", "--path", os.path.join(ctx.root, "openapi", "openapi.yaml"),
         "--meta", "none", "--config", config, "--output-path", os.path.join(out, "bazaar_client")],
        capture_output=True, text=True,
    )
    report = (generated.stdout + generated.stderr).strip()
    with open(os.path.join(out, "generate.log"), "w") as f:
        f.write(report + "\n")
    if generated.returncode != 0 or "warning" in report.lower():
        raise SuiteFailed(f"openapi-python-client did not take the contract cleanly:\n{report[-4000:]}")
    log("python_client: generated without warnings")

    flow = subprocess.Popen(
        [python, "-c", FLOW], cwd=out, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=dict(os.environ, BAZAAR_URL=ctx.base_url, BAZAAR_PHONE=ctx.admin_phone,
                 PYTHONPATH=out),
    )
    # A server that never answers must fail the suite, not hold CI: the flow is killed
    # after two minutes, which ends the reads below.
    watchdog = threading.Timer(120, flow.kill)
    watchdog.start()
    try:
        return _finish(ctx, flow)
    finally:
        watchdog.cancel()


def _finish(ctx, flow):
    first = flow.stdout.readline()
    if not first.startswith("sendOtp:"):
        flow.kill()
        raise SuiteFailed(f"sendOtp through the Python client failed:\n{first}{flow.stdout.read()}")
    code = ctx.code_sent_to(ctx.admin_phone)
    if not code:
        flow.kill()
        raise SuiteFailed("no code was sent to the admin's phone")
    rest, _ = flow.communicate(code + "\n", timeout=60)
    output = first + rest
    if flow.returncode != 0:
        raise SuiteFailed(f"the sign-in through the Python client failed:\n{output[-4000:]}")
    for line in output.strip().splitlines():
        log(f"python_client: {line}")
