"""bench_sync: the engine's throughput against a real scim2-server, compared with the target's capacity.

Runs in a throw-away var/ (fresh SQLite and filesystem broker) unless DATABASE_URL / CELERY_BROKER_URL
are set. Seeds a directory, serves a scim2-server on loopback (in this process, counting requests),
measures the raw POST capacity from a separate process, then runs the initial cycle and an incremental
cycle with 10 changed users on real Celery worker processes, and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
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


def _serve(token: str) -> tuple[CountingApp, str]:
    from portal.scim_target import start_scim_server

    handle = start_scim_server(token=token, wrap=CountingApp, backlog=256)
    return handle.server.app, handle.base_url


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start_instant() -> tuple[subprocess.Popen, str]:
    """The instant SCIM target (bench/instant_target.py) in a process of its own: (process, base URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_target"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    return process, process.stdout.readline().strip()


def _instant_requests(base_url: str) -> int:
    import httpx2

    root = base_url.split("/scim/", 1)[0]
    return sum(httpx2.get(f"{root}/_stats", timeout=30).json().values())


def run(
    users: int,
    groups: int,
    workers: int,
    concurrency: int,
    page_size: int,
    target: str = "scim2-server",
    nrt_samples: int = 20,
    matching: str = "eq",
) -> dict:
    """Seed, sync with real workers into ``target`` ("scim2-server" or "instant"), return the figures."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from portal.applications.services import instantiate
    from portal.directory.models import DirectoryUser
    from provisioning.models import Cycle, CyclePage, Scope
    from provisioning.tasks import run_cycle

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    started = time.perf_counter()
    call_command("seed_directory", users=users, groups=groups, seed=7, verbosity=0)
    seed_s = time.perf_counter() - started

    token = "bench-token"
    helpers: list[subprocess.Popen] = []
    member_batch = settings.PROVISIONING_MEMBER_BATCH_SIZE
    if target == "instant":
        # The engine's own ceiling: a target that answers at once. The raw loop shows its capacity.
        target_process, base_url = _start_instant()
        raw_process, raw_url = _start_instant()
        helpers += [target_process, raw_process]

        def requests_so_far() -> int:
            return _instant_requests(base_url)

        raw_count, positions = min(users, 20_000), []
    else:
        counting, base_url = _serve(token)
        # The raw loop gets its own fresh target and sends the same number of creates, so both runs meet
        # a store that grows the same way (scim2-server slows down as it fills).
        _raw_counting, raw_url = _serve(token)
        target_process = None
        requests_so_far = counting.total
        raw_count, positions = users, _group_member_positions()
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as groups_file:
            json.dump(positions, groups_file)
            groups_file.flush()
            raw_result = json.loads(
                subprocess.check_output(
                    [
                        sys.executable,
                        str(ROOT / "bench" / "raw_posts.py"),
                        raw_url,
                        token,
                        str(raw_count),
                        str(concurrency),
                        groups_file.name,
                        str(member_batch),
                    ]
                )
            )
        if target == "instant":
            raw_process.terminate()
        return _sync(
            users=users,
            groups=groups,
            workers=workers,
            concurrency=concurrency,
            page_size=page_size,
            target=target,
            nrt_samples=nrt_samples,
            matching=matching,
            base_url=base_url,
            token=token,
            requests_so_far=requests_so_far,
            target_process=target_process,
            raw_result=raw_result,
            seed_s=seed_s,
            models=(DirectoryUser, Cycle, CyclePage, Scope, run_cycle, instantiate),
            settings=settings,
        )
    finally:
        for process in helpers:
            process.terminate()
            process.wait(timeout=30)


def _sync(*, models, settings, raw_result, requests_so_far, target_process, **bench) -> dict:
    from bench.worker import cpu_seconds, queries, wait_ready

    DirectoryUser, Cycle, CyclePage, Scope, run_cycle, instantiate = models
    users, groups, workers = bench["users"], bench["groups"], bench["workers"]
    raw = raw_result["posts_per_s"]
    application = instantiate("taskize-connect", "Bench app")
    job = application.provisioning
    job.tenant_url, job.secret_token, job.enabled = bench["base_url"], bench["token"], True
    job.scope, job.near_real_time = Scope.ALL, False
    job.compatibility = {**(job.compatibility or {}), "matchingOperators": bench["matching"]}
    job.save()

    stats_dir = Path(tempfile.mkdtemp(prefix="bench-worker-stats-"))
    env = {
        **os.environ,
        "PROVISIONING_CONCURRENCY": str(bench["concurrency"]),
        "PROVISIONING_PAGE_SIZE": str(bench["page_size"]),
        "LOG_LEVEL": "WARNING",
        "BENCH_STATS_DIR": str(stats_dir),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.worker",
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

    def cpu() -> tuple[float, float]:
        worker_cpu = sum(cpu_seconds(p.pid) for p in procs)
        return worker_cpu, cpu_seconds(target_process.pid) if target_process else 0.0

    try:
        # Measured from when every worker is up: a worker's start-up (imports, Django, connections) costs
        # seconds of CPU, and on a busy machine it was still running when the cycle started.
        wait_ready(stats_dir, [p.pid for p in procs])
        time.sleep(1)
        load_before = os.getloadavg()[0]
        before, queries_before, cpu_before = requests_so_far(), queries(stats_dir), cpu()
        run_cycle.delay(job.pk)
        initial = _wait(Cycle, job)
        time.sleep(1)  # the last page's task writes its query count just after the cycle finishes
        initial_requests = requests_so_far() - before
        initial_queries = queries(stats_dir) - queries_before
        cpu_after = cpu()
        load_after = os.getloadavg()[0]
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
        users_done, groups_done = (
            sum(
                len(i)
                for i in CyclePage.objects.filter(cycle=initial, phase=phase).values_list("items", flat=True)
            )
            for phase in ("users", "groups")
        )

        changed = list(DirectoryUser.objects.filter(pk__in=_sample_pks(DirectoryUser, 10)))
        for user in changed:
            user.display_name += " (changed)"
            user.save()
        before = requests_so_far()
        run_cycle.delay(job.pk)
        incremental = _wait(Cycle, job, after=initial.pk)
        incremental_requests = requests_so_far() - before
        incremental_s = (incremental.finished_at - incremental.started_at).total_seconds()
        latencies = (
            _near_real_time_latencies(job, bench["base_url"], bench["token"], samples=bench["nrt_samples"])
            if bench["nrt_samples"]
            else []
        )
        rss = max(_peak_rss_mb(p.pid) for p in procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)

    objects_per_s = objects / elapsed
    # What the target needs for Entra's requests: 2 per user and a lookup per group at the measured POST
    # rate, plus the measured time of the same group creates and member PATCHes (a member PATCH costs
    # scim2-server far more than a POST, and more the bigger the group). With no groups this is exactly
    # objects_per_s * 2 / raw_requests_per_s.
    target_s = (REQUESTS_PER_NEW_USER_ENTRA * users_done + groups_done) / raw + raw_result["membership_s"]
    nrt = (
        {
            "nrt_p50_s": round(statistics.median(latencies), 2),
            "nrt_p95_s": round(statistics.quantiles(latencies, n=20)[-1], 2),
            "nrt_max_s": round(max(latencies), 2),
        }
        if len(latencies) > 1
        else {"nrt_p50_s": "—", "nrt_p95_s": "—", "nrt_max_s": "—"}
    )
    return {
        "target": bench["target"],
        "matching": bench["matching"],
        "users": users,
        "groups": groups,
        "workers": workers,
        "concurrency": bench["concurrency"],
        "page_size": bench["page_size"],
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "broker": settings.CELERY_BROKER_URL.split(":", 1)[0],
        "seed_s": round(bench["seed_s"], 2),
        "raw_requests_per_s": round(raw, 1),
        "initial_s": round(elapsed, 2),
        "initial_status": initial.status,
        "initial_failed": initial.failed,
        "objects": objects,
        "objects_per_s": round(objects_per_s, 1),
        "requests_per_object": round(initial_requests / objects, 3),
        "queries_per_object": round(initial_queries / objects, 3),
        "worker_cpu_ms_per_object": round((cpu_after[0] - cpu_before[0]) * 1000 / objects, 3),
        "target_cpu_ms_per_object": round((cpu_after[1] - cpu_before[1]) * 1000 / objects, 3),
        "raw_membership_s": round(raw_result["membership_s"], 2),
        "ratio": round(target_s / elapsed, 3),
        "users_phase_s": round(users_s, 2),
        "users_per_s": round(users_done / users_s, 1),
        "users_ratio": round(users_done / users_s * REQUESTS_PER_NEW_USER_ENTRA / raw, 3),
        "incremental_s": round(incremental_s, 3),
        "incremental_requests": incremental_requests,
        "incremental_objects": incremental.processed,
        **nrt,
        "peak_worker_rss_mb": round(rss, 1),
        "load_average": f"{load_before:.1f} → {load_after:.1f}",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def _sample_pks(model, count: int) -> list[int]:
    """``count`` primary keys spread over the table, without ORDER BY random() over every row."""
    import random

    highest = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random()
    wanted = {rng.randint(1, highest) for _ in range(count * 3)} if highest else set()
    found = list(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    return found[:count]


def _near_real_time_latencies(job, base_url: str, token: str, samples: int) -> list[float]:
    """Seconds from a directory save to the change being visible in the target, one change at a time.

    Near-real-time is switched on for the app; nothing else starts a cycle, so each change travels the
    product's own path: change feed → debounce → incremental cycle on the worker → PATCH.
    """
    import httpx2

    from portal.directory.models import DirectoryUser
    from provisioning.models import ProvisioningJob

    ProvisioningJob.objects.filter(pk=job.pk).update(near_real_time=True)
    client = httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    latencies = []
    for n, user in enumerate(DirectoryUser.objects.filter(account_enabled=True).order_by("?")[:samples]):
        user.display_name = f"Near real time {n}"
        started = time.perf_counter()
        user.save()
        query = {"filter": f'userName eq "{user.user_principal_name}"', "attributes": "displayName"}
        while time.perf_counter() - started < 60:
            found = client.get("/Users", params=query).json()["Resources"]
            if found and found[0].get("displayName") == user.display_name:
                break
            time.sleep(0.05)
        latencies.append(time.perf_counter() - started)
    return latencies


def _group_member_positions() -> list[list[int]]:
    """Each live group's provisioned members (enabled live users) as positions in the user list."""
    from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership

    position = {
        pk: n for n, pk in enumerate(DirectoryUser.objects.order_by("pk").values_list("pk", flat=True))
    }
    members: dict[int, list[int]] = {
        pk: [] for pk in DirectoryGroup.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True)
    }
    rows = GroupMembership.objects.filter(
        group_id__in=members, user__isnull=False, user__deleted_at__isnull=True, user__account_enabled=True
    ).values_list("group_id", "user_id")
    for group_id, user_id in rows:
        members[group_id].append(position[user_id])
    return list(members.values())


def _wait(cycle_model, job, after: int = 0, timeout: float = 4 * 3600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cycle = cycle_model.objects.filter(job=job, pk__gt=after).order_by("pk").first()
        if cycle and cycle.status != "running":
            return cycle
        time.sleep(0.2)
    raise TimeoutError("cycle did not finish")


ENGINE_HEADING = "## Engine ceiling (bench_sync --target instant)"
ENGINE_FIGURES = [
    ("objects", "objects provisioned in the initial cycle"),
    ("matching", "matchingOperators (eq: a query per object; eqOr: 20 per query)"),
    ("initial_s", "initial cycle (s)"),
    ("objects_per_s", "objects/s"),
    ("users_per_s", "users/s (users phase)"),
    ("requests_per_object", "HTTP requests per object"),
    ("queries_per_object", "database queries per object (workers)"),
    ("worker_cpu_ms_per_object", "worker CPU per object (ms)"),
    ("target_cpu_ms_per_object", "instant target CPU per object (ms)"),
    ("raw_requests_per_s", "instant target's raw capacity (POST/s, one client process)"),
    ("incremental_s", "incremental cycle, 10 changed users (s)"),
    ("incremental_requests", "requests of the incremental cycle"),
    ("nrt_p95_s", "near-real-time p95 (s)"),
    ("peak_worker_rss_mb", "peak worker RSS (MB)"),
    ("seed_s", "seeding (s)"),
    ("load_average", "1-minute load average, start → end of the initial cycle"),
]


def write_engine_markdown(
    result: dict, path: Path = ROOT / "docs" / "benchmarks.md", heading: str = ENGINE_HEADING
) -> None:
    """Append this run as a table of its own under ``heading`` (one run per table)."""
    from bench.report import append_run

    title = (
        f"### {result['users']:,} users, {result['groups']} groups, {result['workers']} worker(s), "
        f"{result['database']} + {result['broker']} ({result.get('measured_at', '')})"
    )
    rows = "\n".join(f"| {label} | {result[key]} |" for key, label in ENGINE_FIGURES)
    table = (
        f"{title}\n\n`{result.get('command', '')}` — {result['machine']}, initial cycle "
        f"{result['initial_status']}, {result['initial_failed']} failed.\n\n| figure | value |\n|---|---:|\n{rows}\n"
    )
    append_run(heading, table, path)


def write_markdown(result: dict, path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Add this run's row to the bench_sync table in docs/benchmarks.md (other sections are left alone).

    Earlier rows and the notes under the table are kept; a change of columns starts the table afresh.
    Runs against the instant target get a table of their own (:func:`write_engine_markdown`).
    """
    if result.get("target") == "instant":
        write_engine_markdown(result, path)
        return
    heading = "## Sync engine (bench_sync)"
    header = "| " + " | ".join(COLUMNS) + " |"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, _, rest = text.partition(heading)
    section, sep, tail = rest.partition("\n## ")
    lines = section.strip().splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("|")), len(lines))
    last = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = lines[first + 2 : last] if first < len(lines) and lines[first] == header else []
    rows.append("| " + " | ".join(str(result[k]) for k in COLUMNS) + " |")
    body = "\n".join([INTRO, "", header, "|" + "---|" * len(COLUMNS), *rows, *lines[last:]])
    path.write_text(f"{head.rstrip()}\n\n{heading}\n\n{body.rstrip()}\n" + (f"\n## {tail}" if sep else ""))


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
    "raw_membership_s",
    "ratio",
    "users_per_s",
    "users_ratio",
    "initial_s",
    "incremental_s",
    "incremental_requests",
    "nrt_p95_s",
    "peak_worker_rss_mb",
    "machine",
]
INTRO = (
    "`python manage.py bench_sync --users N --groups M --workers W --concurrency C`. A minimal httpx2 loop, at the "
    "same concurrency and into a fresh scim2-server of its own, first does the target's share of the work: N user "
    "POSTs (`raw_requests_per_s`), then the same groups created and the same members added with the same "
    "`PATCH add members` batches the engine sends (`raw_membership_s`). `ratio` = the time the target needs for "
    "Entra's requests (2 per user — lookup + create — and a lookup per group at the POST rate, plus "
    "`raw_membership_s`) ÷ the engine's initial cycle; with no groups it is objects_per_s * 2 / raw_requests_per_s. "
    "`users_ratio` is the same for the users phase alone. `nrt_p95_s` is the near-real-time latency: 20 single "
    "changes saved in the directory with near-real-time on, each timed until the target shows it. The target is scim2-server on werkzeug's threaded "
    "server in the benchmark process; the workers are separate Celery processes."
)
