#!/usr/bin/env python3
"""The breaking-change gate: the contract may not break what the last release promised.

Compares openapi/openapi.yaml with the last released contract, which is the newest `v*` git
tag's openapi/openapi.yaml, or, until the first tag, the committed baseline
openapi/released/openapi.yaml, with `bazaar-contract-diff` (tests/contract/diff.rs, the tool
behind `make contract-diff`). It passes when the tool finds no breaking change, or when the
break is intended: the major of `info.version` (the crate's version, Cargo.toml) was stepped
over the released one. Otherwise it fails and lists the breaks. docs/api-guide.md states the
rule for clients.

`--self-test` proves the gate can fail: against the current contract it must refuse a copy
with an operation removed, accept the same copy once its major version is stepped, and accept
the contract unchanged.

Usage: tests/contract/gate.py [--self-test]    (make contract-gate runs both)
Environment: CARGO (cargo command).
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACT = os.path.join(ROOT, "openapi", "openapi.yaml")
BASELINE = os.path.join(ROOT, "openapi", "released", "openapi.yaml")
# `version: X.Y.Z` directly under `info:` (the generated contract's layout).
VERSION = re.compile(r"^  version: ['\"]?(\d+)\.(\d+)\.(\d+)['\"]?$", re.M)
# The operation the self-test removes from its doctored copy.
DOCTORED_PATH = "  /api/v1/products/{id}:\n"


def log(message):
    print(f"[contract-gate] {message}", flush=True)


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def released():
    """The last released contract's text and a name for it."""
    tags = git("tag", "--list", "v*", "--sort=-v:refname").stdout.split()
    if tags:
        shown = git("show", f"{tags[0]}:openapi/openapi.yaml")
        if shown.returncode != 0:
            raise SystemExit(f"[contract-gate] tag {tags[0]} has no openapi/openapi.yaml: {shown.stderr.strip()}")
        return shown.stdout, f"tag {tags[0]}"
    with open(BASELINE) as f:
        return f.read(), os.path.relpath(BASELINE, ROOT)


def info_block(text):
    """(start, end) of the `info:` section: up to the next top-level key."""
    start = text.find("\ninfo:\n") + 1 if not text.startswith("info:\n") else 0
    next_key = re.compile(r"^\S", re.M).search(text, text.index("\n", start) + 1)
    return start, next_key.start() if next_key else len(text)


def major(text, name):
    """info.version's major, and the whole version."""
    start, end = info_block(text)
    match = VERSION.search(text, start, end)
    if not match:
        raise SystemExit(f"[contract-gate] {name} has no info.version X.Y.Z")
    return int(match.group(1)), ".".join(match.groups())


def with_version(text, version):
    """`text` with info.version replaced."""
    start, end = info_block(text)
    return text[:start] + VERSION.sub(f"  version: {version}", text[start:end], count=1) + text[end:]


def breaking_changes(old_text, new_text):
    """bazaar-contract-diff's findings (empty: no breaking change)."""
    with tempfile.TemporaryDirectory(prefix="bazaar-gate-") as tmp:
        old, new = os.path.join(tmp, "old.yaml"), os.path.join(tmp, "new.yaml")
        for path, text in ((old, old_text), (new, new_text)):
            with open(path, "w") as f:
                f.write(text)
        cargo = os.environ.get("CARGO", "cargo")
        result = subprocess.run(
            [cargo, "run", "--quiet", "--bin", "bazaar-contract-diff", "--", old, new],
            cwd=ROOT, capture_output=True, text=True,
        )
    if result.returncode not in (0, 1):
        raise SystemExit(f"[contract-gate] bazaar-contract-diff failed ({result.returncode}):\n"
                         f"{result.stdout}{result.stderr}")
    return [line.strip()[2:] for line in result.stdout.splitlines() if line.strip().startswith("- ")]


def gate(old_text, new_text, old_name):
    """(passes, what to say) for the contract `new_text` against the release `old_text`."""
    findings = breaking_changes(old_text, new_text)
    (old_major, old_version), (new_major, new_version) = (
        major(old_text, old_name), major(new_text, "openapi/openapi.yaml"))
    if not findings:
        return True, f"no breaking changes since {old_name} ({old_version})"
    listed = "".join(f"\n  - {finding}" for finding in findings)
    if new_major > old_major:
        return True, (f"{len(findings)} intended breaking change(s): info.version {old_version} -> "
                      f"{new_version} steps the major over {old_name}:{listed}")
    return False, (
        f"{len(findings)} breaking change(s) since {old_name} ({old_version}):{listed}\n"
        "Make the change additive, or, if the break is intended, step the major version in "
        "Cargo.toml (then make openapi) and release it; see docs/api-guide.md#base-url-and-versioning."
    )


def self_test(contract):
    if DOCTORED_PATH not in contract:
        raise SystemExit(f"[contract-gate] self-test: the contract no longer has {DOCTORED_PATH.strip()}; pick another path")
    broken = contract.replace(DOCTORED_PATH, DOCTORED_PATH.replace("{id}", "{id}/renamed"))
    old_major, old_version = major(contract, "openapi/openapi.yaml")
    stepped = with_version(broken, f"{old_major + 1}.0.0")
    cases = [
        ("the contract unchanged", contract, True),
        (f"an operation removed ({DOCTORED_PATH.strip()[:-1]})", broken, False),
        (f"the same with info.version stepped to {old_major + 1}.0.0", stepped, True),
    ]
    failed = []
    for what, text, should_pass in cases:
        passes, message = gate(contract, text, "the current contract")
        verdict = "accepted" if passes else "refused"
        log(f"self-test: {what}: {verdict}")
        if passes != should_pass:
            failed.append(f"{what} was {verdict}: {message}")
    if failed:
        raise SystemExit("[contract-gate] self-test FAILED:\n" + "\n".join(failed))
    log("self-test passed: the gate refuses a break and accepts a stepped major")


def main(argv):
    with open(CONTRACT) as f:
        contract = f.read()
    if argv == ["--self-test"]:
        self_test(contract)
        return 0
    if argv:
        raise SystemExit(__doc__)
    old_text, old_name = released()
    passes, message = gate(old_text, contract, old_name)
    log(message)
    return 0 if passes else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
