"""Pinned Python tools in the project's git-ignored virtualenv `.venv`.

`ensure(distribution, version, command)` answers the path of `.venv/bin/<command>` once the
virtualenv holds exactly `distribution==version`: it creates the virtualenv if missing, and
installs the pin when the distribution is absent or at another version (an old `.venv` is
upgraded, a newer one brought back to the pin). The version is read from the installed
distribution's metadata (importlib.metadata in the virtualenv's own Python), not guessed from
the command's existence, so a test never runs on a tool other than the one it pins.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, ".venv")


def log(msg):
    print(f"[pins] {msg}", file=sys.stderr, flush=True)


def installed_version(distribution, venv=VENV):
    """The version of `distribution` installed in `venv`, or None."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        return None
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m, sys\n"
                       "try: print(m.version(sys.argv[1]))\n"
                       "except m.PackageNotFoundError: pass",
         distribution],
        capture_output=True, text=True, timeout=60,
    )
    return probe.stdout.strip() or None


def ensure(distribution, version, command, venv=VENV):
    """`venv/bin/command`, with `distribution==version` installed in `venv`."""
    exe = os.path.join(venv, "bin", command)
    have = installed_version(distribution, venv)
    if have == version and os.path.exists(exe):
        return exe
    pip = os.path.join(venv, "bin", "pip")
    if not os.path.exists(pip):
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log(f"installing {distribution}=={version} into {venv}"
        + (f" (it had {have})" if have else ""))
    subprocess.run([pip, "install", "--quiet", "--disable-pip-version-check",
                    f"{distribution}=={version}"], check=True)
    have = installed_version(distribution, venv)
    if have != version or not os.path.exists(exe):
        raise SystemExit(f"[pins] {distribution}=={version} did not install: "
                         f"{venv} has {have or 'none'}, {exe} {'exists' if os.path.exists(exe) else 'is missing'}")
    return exe
