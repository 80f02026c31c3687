"""bench_pages: how fast the pages an admin opens answer on a big tenant (p50/p95 over many requests).

Pages: the users list (first page, a search), the group page of the largest group, the provisioning
overview of the app with the most linked objects, the tenant-wide and the app's provisioning logs.
Each is requested through Django's test client (middleware, queries, template: the whole request)
after a warm-up; the number of database queries of one request and the CPU time the request took in
this process (Python, templates, the database client; not the database server) are reported beside the
wall-clock times, so a page slowed by a busy machine can be told from a slow page.

``top_up_logs(rows)`` brings the log table to ``rows`` rows on PostgreSQL by copying the rows already
there (a real cycle's) into earlier, older cycles: new ids, shifted times, one INSERT … SELECT per copy,
with the plain indexes dropped meanwhile and rebuilt at the end.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

REPEAT = 30
WARM_UP = 3


def top_up_logs(rows: int, *, every_hours: int = 6) -> dict[str, Any]:
    """Copy the existing log rows until there are ``rows`` (PostgreSQL only): each copy is an earlier
    cycle of the same objects (``every_hours`` apart), with its own log ids, change ids and cycle id."""
    from django.db import connection

    from provisioning.models import ProvisioningLog

    if connection.vendor != "postgresql":
        raise RuntimeError("top_up_logs copies rows with INSERT … SELECT on PostgreSQL only")
    table = ProvisioningLog._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Millions of rows go in faster with the plain indexes built once afterwards than maintained row
        # by row (the constraints' indexes stay: ids remain checked).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {table}")
        have, base_max = cursor.fetchone()
        if not have:
            raise RuntimeError("no log rows to copy: run a cycle first")
        copy, added = 0, 0
        while have + added < rows:
            copy += 1
            batch = min(have, rows - have - added)
            cursor.execute(
                f"""
                INSERT INTO {table} (job_id, log_id, activity_at, cycle_id, change_id, action, status,
                    duration_ms, object_kind, source_id, source_name, target_id, target_name, steps,
                    modified_properties, error_code, error_category, error_reason, recommended_action,
                    retry_count)
                SELECT job_id, gen_random_uuid(), activity_at - make_interval(hours => %s),
                    md5(cycle_id::text || %s)::uuid, gen_random_uuid(), action, status, duration_ms,
                    object_kind, source_id, source_name, target_id, target_name, steps,
                    modified_properties, error_code, error_category, error_reason, recommended_action,
                    retry_count
                FROM {table} WHERE id <= %s ORDER BY id LIMIT %s
                """,
                [every_hours * copy, str(copy), base_max, batch],
            )
            added += batch
            print(f"copy {copy}: {have + added:,} rows, {time.perf_counter() - started:.0f} s", flush=True)
        for name, definition in indexes:
            cursor.execute(definition)
            print(f"index {name} rebuilt, {time.perf_counter() - started:.0f} s", flush=True)
        cursor.execute(f"VACUUM ANALYZE {table}")
    return {"rows": have + added, "added": added, "seconds": round(time.perf_counter() - started, 1)}


def _time(client, url: str, repeat: int) -> dict[str, Any]:
    from django.db import connection

    for _ in range(WARM_UP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(statistics.quantiles(times, n=20, method="inclusive")[-1], 1),
        "max_ms": round(max(times), 1),
        "queries": len(queries),
    }


def run(repeat: int = REPEAT, only: set[str] | None = None) -> dict[str, Any]:
    """Measure the pages (``only``: some of users, group, overview, logs); the tenant's size and one
    line per page."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from portal.directory.models import DirectoryGroup, DirectoryUser
    from provisioning.models import EscrowEntry, ProvisioningJob, ProvisioningLog

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-pages", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    group = (
        DirectoryGroup.objects.annotate(size=Count("memberships")).order_by("-size").first()
        if DirectoryGroup.objects.exists()
        else None
    )
    biggest_job = (
        EscrowEntry.objects.values("job")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("job", flat=True)
        .first()
    )
    job = ProvisioningJob.objects.filter(pk=biggest_job).first() or ProvisioningJob.objects.first()
    users = reverse("directory:user_list")
    pages: list[tuple[str, str, str]] = [
        ("users", "users list, first page", users),
        ("users", "users list, search 'mar'", users + "?q=mar"),
    ]
    if group is not None:
        url = reverse("directory:group_detail", args=[group.object_id])
        pages.append(("group", f"group page, '{group.display_name}'", url))
    if job is not None:
        overview = reverse("provisioning:app_overview", args=[job.application_id])
        pages += [
            ("overview", "provisioning overview", overview),
            ("logs", "app provisioning logs", reverse("provisioning:app_logs", args=[job.application_id])),
        ]
    pages.append(("logs", "provisioning logs (tenant-wide)", reverse("provisioning:log_list")))
    results = [
        {"page": name, "url": url, **_time(client, url, repeat)}
        for key, name, url in pages
        if only is None or key in only
    ]
    return {
        "database": connection.vendor,
        "users": DirectoryUser.objects.count(),
        "largest_group_members": group.size if group is not None else 0,
        "linked_objects": EscrowEntry.objects.filter(job=job).count() if job else 0,
        "log_rows": ProvisioningLog.objects.count(),
        "repeat": repeat,
        "pages": results,
    }


def markdown(result: dict[str, Any], command: str, measured_at: str, load: str) -> str:
    """One table for this run, with the command line and the tenant's size."""
    lines = [
        f"### {result['users']:,} users, {result['log_rows']:,} log rows ({result['database']}, {measured_at})",
        "",
        f"`{command}` — largest group {result['largest_group_members']:,} members, "
        f"{result['linked_objects']:,} linked objects in the app, {result['repeat']} requests per page after "
        f"{WARM_UP} warm-up requests, load average {load}.",
        "",
        "| page | p50 (ms) | p95 (ms) | max (ms) | CPU of the request, p50 (ms) | queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {p['page']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} | {p['cpu_p50_ms']} | {p['queries']} |"
        for p in result["pages"]
    ]
    return "\n".join(lines) + "\n"
