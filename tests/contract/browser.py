"""Swagger UI in a real browser: /docs in Debian's headless Chromium, driven by playwright-core.

Checks that every tag of the contract renders with its operations, that Authorize takes the
admin's real bearer token, and that "Try it out" on GET /api/v1/users/me answers 200 with that
token. Screenshots go to <output_dir>/browser/ (swagger-tags.png, swagger-try-it-out.png,
swagger-get-me.png; swagger-failure.png when a check fails).

Needs /usr/bin/chromium (Debian's `chromium`, installed here with apt-get when missing and
running as root) and Node.js with npm; `npm ci` installs the pinned playwright-core, which
never downloads a browser.
"""

import os
import shutil
import subprocess

from run import SuiteFailed, log

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser")
CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "apt-get update && apt-get install -y chromium"


def ensure_chromium():
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() != 0:
        raise SuiteFailed(f"{CHROMIUM} is missing; install Debian's chromium as root: {INSTALL_HINT}")
    log(f"installing Debian's chromium ({INSTALL_HINT})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SuiteFailed(
                f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()[-500:]}"
            )
    if not os.path.exists(CHROMIUM):
        raise SuiteFailed(f"apt-get installed chromium but {CHROMIUM} is still missing")


def npm_ci():
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SuiteFailed("node and npm are needed (Debian: apt-get install -y nodejs npm)")
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    result = subprocess.run(
        [npm, "ci", "--quiet", "--no-audit", "--no-fund"],
        cwd=HERE, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SuiteFailed(f"npm ci in {HERE} failed: {(result.stdout + result.stderr).strip()[-1000:]}")


def run(ctx):
    ensure_chromium()
    npm_ci()
    output = os.path.join(ctx.output_dir, "browser")
    os.makedirs(output, exist_ok=True)
    for name in os.listdir(output):
        if name.endswith(".png"):
            os.remove(os.path.join(output, name))
    result = subprocess.run(
        ["node", "swagger.mjs", ctx.base_url, ctx.admin_token, output],
        cwd=HERE, env=dict(os.environ, CHROMIUM=CHROMIUM), capture_output=True, text=True,
        timeout=120,
    )
    for line in (result.stdout + result.stderr).splitlines():
        print(line, flush=True)
    if result.returncode != 0:
        failure = [line for line in result.stderr.splitlines() if "FAILED" in line]
        raise SuiteFailed(
            (failure[0].split("FAILED: ", 1)[-1] if failure else f"swagger.mjs exited {result.returncode}")
            + f" (screenshots in {output})"
        )
