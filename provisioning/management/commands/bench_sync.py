"""Measure the sync engine against a real scim2-server (see bench/sync.py)."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Seed a directory, sync it to a local scim2-server with real workers, print throughput figures."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--groups", type=int, default=50)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--page-size", type=int, default=500)
        parser.add_argument(
            "--target",
            choices=["scim2-server", "instant"],
            default="scim2-server",
            help="scim2-server (a real target) or instant (answers at once: the engine's own ceiling).",
        )
        parser.add_argument(
            "--matching",
            choices=["eq", "eqOr"],
            default="eq",
            help="The app's matchingOperators switch: eq (one query per object, as Entra) or eqOr (batched).",
        )
        parser.add_argument("--nrt-samples", type=int, default=20, help="Near-real-time samples (0: none).")
        parser.add_argument("--no-write", action="store_true", help="Do not update docs/benchmarks.md.")

    def handle(
        self,
        *args,
        users,
        groups,
        workers,
        concurrency,
        page_size,
        target,
        matching,
        nrt_samples,
        no_write,
        **options,
    ) -> None:
        # A throw-away var/ so the benchmark never touches the portal's own data.
        env = {**os.environ, "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix="portal-bench-"), **_production_mode()}
        script = (
            "import json, sys; sys.path.insert(0, '.'); from bench.sync import run, write_markdown; "
            f"r = run({users}, {groups}, {workers}, {concurrency}, {page_size}, {target!r}, {nrt_samples}, {matching!r}); "
            f"r['command'] = {_command_line(sys.argv)!r}; r['measured_at'] = {_today()!r}; "
            "print(json.dumps(r)); " + ("" if no_write else "write_markdown(r)")
        )
        output = subprocess.check_output(
            [sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR, text=True
        )
        line = output.strip().splitlines()[-1]
        json.loads(line)  # fail loudly on anything but the result line
        self.stdout.write(line)
        if not no_write:
            self.stdout.write(f"Written to {Path(settings.BASE_DIR) / 'docs' / 'benchmarks.md'}")


def _command_line(argv: list[str]) -> str:
    """The command as typed, with the environment that chose the database, the broker and any engine
    setting (``PROVISIONING_*``, which the workers inherit)."""
    names = [
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        *sorted(k for k in os.environ if k.startswith("PROVISIONING_")),
    ]
    settings_env = [f"{k}={os.environ[k]}" for k in names if k in os.environ]
    return " ".join([*settings_env, "python", "manage.py", *argv[1:]])


def _today() -> str:
    from django.utils import timezone

    return timezone.now().strftime("%Y-%m-%d %H:%M UTC")


def _production_mode() -> dict[str, str]:
    """Measure as deployed: DEBUG off (no query log, no debug cursor), loopback targets allowed, and the
    keys a deployment must set (made up for this run unless the environment has them)."""
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "false",
        "PROVISIONING_OUTBOUND_ALLOW": "127.0.0.0/8,::1/128",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
    }
