"""bench_sync: the engine's throughput against a real scim2-server, compared with the target's capacity.

Runs in a throw-away var/ (fresh SQLite and filesystem broker) unless DATABASE_URL / CELERY_BROKER_URL
are set. Seeds a directory, serves a scim2-server on loopback (in this process, counting requests),
measures the raw POST capacity from a separate process, then runs the initial cycle and an incremental
cycle with 10 changed users on real Celery worker processes, and prints one JSON line.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS_PER_NEW_USER_ENTRA = 2  # Entra: GET ?filter=userName eq "…" then POST


class CountingApp:
    """WSGI middleware counting requests by method (what the target saw)."""

    def __init__(self, app):
        self.app = app
        self.counts: dict[str, int] = {}

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        self.counts[method] = self.counts.get(method, 0) + 1
        return self.app(environ, start_response)

    def total(self) -> int:
        return sum(self.counts.values())


def _serve(build_application, token: str) -> tuple[CountingApp, str]:
    import threading

    from werkzeug.serving import make_server

    app, _storage = build_application(token)
    counting = CountingApp(app)
    server = make_server("127.0.0.1", 0, counting, threaded=True)
    server.socket.listen(256)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return counting, f"http://127.0.0.1:{server.server_port}/v2"


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(users: int, groups: int, workers: int, concurrency: int, page_size: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from portal.applications.models import AppRoleAssignment
    from portal.applications.services import instantiate
    from portal.directory.models import DirectoryUser
    from portal.scim_target import build_application
    from provisioning.models import Cycle, CyclePage, Scope
    from provisioning.tasks import run_cycle

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    call_command("seed_directory", users=users, groups=groups, seed=7, verbosity=0)
    seed_s = time.perf_counter() - started

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request would slow the target
    token = "bench-token"
    counting, base_url = _serve(build_application, token)
    # The raw loop gets its own fresh target and sends the same number of creates, so both runs meet a
    # store that grows the same way (scim2-server slows down as it fills).
    _raw_counting, raw_url = _serve(build_application, token)
    raw = float(
        subprocess.check_output(
            [
                sys.executable,
                str(ROOT / "bench" / "raw_posts.py"),
                raw_url,
                token,
                str(users),
                str(concurrency),
            ]
        )
    )

    application = instantiate("taskize-connect", "Bench app")
    job = application.provisioning
    job.tenant_url, job.secret_token, job.enabled = base_url, token, True
    job.scope, job.near_real_time = Scope.ALL, False
    job.save()
    AppRoleAssignment.objects.all()  # scope "all": no assignment needed

    env = {
        **os.environ,
        "PROVISIONING_CONCURRENCY": str(concurrency),
        "PROVISIONING_PAGE_SIZE": str(page_size),
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "portal",
                "worker",
                "-P",
                "threads",
                "-c",
                "2",
                "-n",
                f"bench{i}@%h",
                "-l",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    try:
        time.sleep(4)
        before = counting.total()
        run_cycle.delay(job.pk)
        initial = _wait(Cycle, job)
        initial_requests = counting.total() - before
        elapsed = (initial.finished_at - initial.started_at).total_seconds()
        objects = initial.processed
        # The users phase alone: the same work the raw loop measures (groups add memberships, whose cost
        # on scim2-server grows with the group's size, so they are reported apart).
        last_user_page = (
            CyclePage.objects.filter(cycle=initial, phase="users")
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        users_s = (last_user_page - initial.started_at).total_seconds()
        users_done = sum(
            len(i)
            for i in CyclePage.objects.filter(cycle=initial, phase="users").values_list("items", flat=True)
        )

        changed = list(DirectoryUser.objects.order_by("?")[:10])
        for user in changed:
            user.display_name += " (changed)"
            user.save()
        before = counting.total()
        run_cycle.delay(job.pk)
        incremental = _wait(Cycle, job, after=initial.pk)
        incremental_requests = counting.total() - before
        incremental_s = (incremental.finished_at - incremental.started_at).total_seconds()
        rss = max(_peak_rss_mb(p.pid) for p in procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)

    objects_per_s = objects / elapsed
    return {
        "users": users,
        "groups": groups,
        "workers": workers,
        "concurrency": concurrency,
        "page_size": page_size,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "seed_s": round(seed_s, 2),
        "raw_requests_per_s": round(raw, 1),
        "initial_s": round(elapsed, 2),
        "initial_status": initial.status,
        "initial_failed": initial.failed,
        "objects_per_s": round(objects_per_s, 1),
        "requests_per_object": round(initial_requests / objects, 3),
        "ratio": round(objects_per_s * REQUESTS_PER_NEW_USER_ENTRA / raw, 3),
        "users_phase_s": round(users_s, 2),
        "users_per_s": round(users_done / users_s, 1),
        "users_ratio": round(users_done / users_s * REQUESTS_PER_NEW_USER_ENTRA / raw, 3),
        "incremental_s": round(incremental_s, 3),
        "incremental_requests": incremental_requests,
        "incremental_objects": incremental.processed,
        "peak_worker_rss_mb": round(rss, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def _wait(cycle_model, job, after: int = 0, timeout: float = 3600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cycle = cycle_model.objects.filter(job=job, pk__gt=after).order_by("pk").first()
        if cycle and cycle.status != "running":
            return cycle
        time.sleep(0.2)
    raise TimeoutError("cycle did not finish")


def write_markdown(result: dict, path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Replace this benchmark's row set in docs/benchmarks.md (other sections are left alone)."""
    heading = "## Sync engine (bench_sync)"
    row = "| " + " | ".join(str(result[k]) for k in COLUMNS) + " |"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if heading not in text:
        text = (
            text.rstrip()
            + f"\n\n{heading}\n\n{INTRO}\n\n| "
            + " | ".join(COLUMNS)
            + " |\n|"
            + "---|" * len(COLUMNS)
            + "\n"
        )
    head, _, rest = text.partition(heading)
    section, sep, tail = rest.partition("\n## ")
    section = section.rstrip() + "\n" + row + "\n"
    path.write_text(head + heading + section + (("\n## " + tail) if sep else ""))


COLUMNS = [
    "users",
    "groups",
    "workers",
    "concurrency",
    "page_size",
    "database",
    "broker",
    "raw_requests_per_s",
    "objects_per_s",
    "requests_per_object",
    "ratio",
    "users_per_s",
    "users_ratio",
    "initial_s",
    "incremental_s",
    "incremental_requests",
    "peak_worker_rss_mb",
    "machine",
]
INTRO = (
    "`python manage.py bench_sync --users N --groups M --workers W --concurrency C`. `raw_requests_per_s` is the "
    "target's capacity for the same POSTs (one per user, N of them, into a fresh scim2-server of its own) from a "
    "minimal httpx loop at the same concurrency; `ratio` = "
    "objects_per_s * 2 / raw_requests_per_s (Entra needs 2 requests per new user: lookup + create); `users_ratio` is the "
    "same for the users phase alone (groups and memberships follow it). The target "
    "is scim2-server on werkzeug's threaded server in the benchmark process; the workers are separate processes."
)
