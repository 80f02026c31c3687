"""Run the whole test suite: lint, then pytest (browser tests included when Chromium can be had).

Usage: ``.venv/bin/python -m tests [pytest args]``. On a machine without Debian's Chromium it installs it
with apt-get when running as root; otherwise the browser tests skip with a message saying why.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's chromium for the browser tests…", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, **quiet)
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: browser tests will be skipped.", flush=True)


def main() -> int:
    ruff = [str(Path(sys.executable).parent / "ruff")]
    for args in (["check", "."], ["format", "--check", "."]):
        if subprocess.run([*ruff, *args], cwd=ROOT).returncode:
            print("ruff failed: run `.venv/bin/ruff check --fix . && .venv/bin/ruff format .`")
            return 1
    ensure_chromium()
    return subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
