"""The Postman collection is what `make postman` makes of the contract, and every request in it
passes.

Regenerates postman/ into a temporary directory and compares it with the committed
collection and environment (any difference: run `make postman`), then runs the whole
collection (the Flows folder first, then one folder per tag with the contract's examples) with
newman against the live server, signed in as the admin, and fails on any failed assertion:
the Flows' own, and the collection's test that every request passes (no 5xx; an error is a
problem document with a code). The Flows read the OTP from ctx.messages_url and pay at
ctx.pay_url, so they run in both profiles; their "Sign in with Google" steps mint ID tokens at
ctx.id_token_url (the Google stand-in), and must have run: they skip themselves only when
`idTokenUrl` is empty, which here is a failure. The JUnit report goes to <output>/newman.xml.
"""

import filecmp
import os
import subprocess
import tempfile
from xml.etree import ElementTree

from run import SuiteFailed, log

FILES = ["bazaar.postman_collection.json", "local.postman_environment.json"]
# The Flows' Google steps (their names start "<n>. Google: "), each with its own assertions.
GOOGLE_STEPS = 6


def sh(args, cwd, what=None):
    env = dict(os.environ, npm_config_update_notifier="false")
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise SuiteFailed(f"{what or ' '.join(args)} failed ({result.returncode}):\n{output[-8000:]}")
    return result.stdout


def run(ctx):
    postman = os.path.join(ctx.root, "postman")
    sh(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], postman)

    with tempfile.TemporaryDirectory(prefix="bazaar-postman-") as fresh:
        sh(["node", "generate.js", "--out-dir", fresh], postman, "postman/generate.js")
        stale = [f for f in FILES if not filecmp.cmp(os.path.join(fresh, f), os.path.join(postman, f), shallow=False)]
    if stale:
        raise SuiteFailed(
            f"postman/{', postman/'.join(stale)} differ from what the contract generates: run make postman"
        )
    log("postman: the committed collection matches the contract")

    junit = os.path.join(ctx.output_dir, "newman.xml")
    output = sh(
        [
            "npx", "--no-install", "newman", "run", "bazaar.postman_collection.json",
            "-e", "local.postman_environment.json",
            "--env-var", f"baseUrl={ctx.base_url}",
            "--env-var", f"messagesUrl={ctx.messages_url}",
            "--env-var", "payUrl=" + ctx.pay_url.replace("{razorpay_order_id}", "{{razorpay_order_id}}"),
            "--env-var", f"idTokenUrl={ctx.id_token_url}",
            "--env-var", f"adminPhone={ctx.admin_phone}",
            "--env-var", f"adminPassword={ctx.admin_password}",
            # The suites' servers run with a one-second OTP cooldown.
            "--env-var", "otpCooldownMs=1100",
            "--reporters", "cli,junit",
            "--reporter-junit-export", junit,
            "--color", "off",
            "--disable-unicode",
        ],
        postman,
        "newman (see the failed assertions above)",
    )
    with open(os.path.join(ctx.output_dir, "newman.log"), "w") as f:
        f.write(output)
    google_steps_ran(junit)
    summary = [line for line in output.splitlines() if line.startswith(("│", "|", "┌", "├", "└", "+"))]
    for line in summary[-12:]:
        log(f"postman: {line}")


def google_steps_ran(junit):
    """Fails unless every Google step of the Flows ran its assertions (a skipped request has no
    test case in the JUnit report)."""
    suites = ElementTree.parse(junit).getroot().iter("testsuite")
    ran = {s.get("name") for s in suites if ". Google: " in (s.get("name") or "") and s.find("testcase") is not None}
    if len(ran) != GOOGLE_STEPS:
        raise SuiteFailed(f"{len(ran)} of the {GOOGLE_STEPS} Google steps of the Flows ran (not skipped): {sorted(ran)}")
    log(f"postman: the {GOOGLE_STEPS} Google steps of the Flows ran")
