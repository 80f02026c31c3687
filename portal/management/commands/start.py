"""Start the whole product under one supervisor: web, worker, beat and the demo SCIM target.

A process that crashes or is killed is started again after a back-off (portal/supervisor.py); Ctrl-C
stops everything. The database is migrated and the demo data loaded (idempotently) first.
"""

import os
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.supervisor import Supervisor


def child_environment(base: Mapping[str, str], *, port: int, debug: bool) -> dict[str, str]:
    """The environment of the supervised processes.

    DEBUG is off unless asked for (``--debug`` or DEBUG in the environment): a demo must never show
    Django's debug pages. Links in emails point at this portal's port unless PORTAL_BASE_URL says
    otherwise (a proxy in front).
    """
    env = {**base, "PYTHONUNBUFFERED": "1", "PORT": str(port)}
    if debug:
        env["DEBUG"] = "true"
    else:
        env.setdefault("DEBUG", "false")
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{port}")
    return env


# Every queue, most urgent first (see CELERY_TASK_QUEUES): near-real-time, housekeeping, bulk pages.
WORKER_QUEUES = "realtime,celery,pages"


class Command(BaseCommand):
    help = "Migrate, load the demo data, then run web, worker, beat and the demo SCIM target."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--scim-port", type=int, default=int(os.environ.get("DEMO_SCIM_PORT", 8081)))
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")
        parser.add_argument(
            "--debug",
            action="store_true",
            help="Run with Django's DEBUG on (tracebacks in the browser): for development only.",
        )

    def handle(self, *args, port: int, scim_port: int, no_demo: bool, debug: bool, **options) -> None:
        call_command("compile_catalogues", verbosity=0)  # locale/*.po → .mo: French, Dutch, Thai
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not no_demo:
            call_command("seed_demo", scim_port=scim_port)
        bin_dir = Path(sys.executable).parent
        python = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        env = child_environment(os.environ, port=port, debug=debug)
        if not no_demo and "PROVISIONING_OUTBOUND_ALLOW" not in env:
            # The demo target listens on loopback, which the outbound policy refuses unless allowed
            # (DEBUG allows all of loopback; with DEBUG off, allow just the demo's address).
            env["PROVISIONING_OUTBOUND_ALLOW"] = ",".join(
                settings.PROVISIONING_OUTBOUND_ALLOW or ["127.0.0.1/32"]
            )
        manager = Supervisor()
        manager.add_process(
            "web",
            f"{bin_dir / 'gunicorn'} portal.wsgi -b 127.0.0.1:{port} -w 2 --threads 4 --access-logfile -",
            env=env,
        )
        manager.add_process(
            "worker", f"{bin_dir / 'celery'} -A portal worker -l INFO -c 2 -Q {WORKER_QUEUES}", env=env
        )
        manager.add_process("beat", f"{bin_dir / 'celery'} -A portal beat -l INFO", env=env)
        manager.add_process("scim", f"{python} {manage} demo_scim_target --port {scim_port}", env=env)
        threading.Thread(target=self._announce_when_ready, args=(port, scim_port), daemon=True).start()
        manager.loop()
        sys.exit(manager.returncode)

    def _announce_when_ready(self, port: int, scim_port: int) -> None:
        url = f"http://127.0.0.1:{port}/healthz"
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Portal ready:        http://127.0.0.1:{port}/\n"
                f"  Health:              http://127.0.0.1:{port}/healthz\n"
                f"  Demo SCIM target:    http://127.0.0.1:{scim_port}/v2\n"
                "  A process that stops is restarted; stop everything with Ctrl-C.\n"
            )
        )
