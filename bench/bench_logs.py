"""Benchmark of the provisioning logs page and downloads at 1,000,000 rows on PostgreSQL.

    .venv/bin/python bench/bench_logs.py                       # seed (once), measure, write the doc
    .venv/bin/python bench/bench_logs.py --rows 200000 --no-write

What it does:

1. creates the database of DATABASE_URL if missing (default ``portal_bench``) and migrates it;
2. tops the log table up to ``--rows`` rows with ``manage.py seed_logs`` over four apps (40/30/20/10 %),
   then VACUUM ANALYZE;
3. requests the logs page through Django's test client (full request: middleware, query, template) for
   typical filter combinations, first pages and deep keyset pages (half-way down the result), and
   reports p50/p95/max over ``--repeat`` runs after a warm-up; EXPLAIN (ANALYZE, BUFFERS) of each
   page query is kept for the report;
4. downloads the CSV (and JSON) of all rows in a fresh subprocess, so its peak RSS is the download's;
   the Python heap peak comes from a second run under tracemalloc;
5. prints the figures and rewrites the "## Provisioning logs" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
APPS = [
    ("Contoso HR (SCIM)", 0.4),
    ("Fabrikam Salesforce", 0.3),
    ("Northwind Slack", 0.2),
    ("Tailspin Zoom", 0.1),
]
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Provisioning logs"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


# --- seeding -----------------------------------------------------------------------------------------------


def seed(rows: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from provisioning.models import ProvisioningLog

    call_command("migrate", verbosity=0)
    have = ProvisioningLog.objects.count()
    info: dict[str, Any] = {"existing": have, "added": 0, "seconds": 0.0}
    if have < rows:
        missing = rows - have
        started = time.monotonic()
        for number, (name, share) in enumerate(APPS):
            count = (
                round(missing * share)
                if number < len(APPS) - 1
                else missing - sum(round(missing * s) for _, s in APPS[:-1])
            )
            print(f"seeding {count:,} rows for {name}")
            call_command("seed_logs", rows=count, app=name, seed=number + 1, identities=20_000)
        info.update(added=missing, seconds=time.monotonic() - started)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE provisioning_provisioninglog")
            cursor.execute("VACUUM ANALYZE provisioning_cycle")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('provisioning_provisioninglog'))")
        info["table_size"] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_indexes_size('provisioning_provisioninglog'))")
        info["index_size"] = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        info["postgres"] = cursor.fetchone()[0]
    info["rows"] = ProvisioningLog.objects.count()
    return info


# --- the page -----------------------------------------------------------------------------------------------


def scenarios() -> list[tuple[str, dict[str, Any]]]:
    """Typical filter combinations, with ids picked from the data (setup queries, not measured)."""
    from provisioning.models import Cycle, ProvisioningJob, ProvisioningLog

    jobs = {j.application.display_name: j for j in ProvisioningJob.objects.select_related("application")}
    big = jobs[APPS[0][0]]
    small = jobs[APPS[-1][0]]
    in_big = ProvisioningLog.objects.filter(job=big).order_by("id")
    sample = in_big[min(5000, in_big.count() // 2)]
    person = in_big.filter(object_kind="User")[min(7000, in_big.count() // 3)]
    cycle = Cycle.objects.filter(job=big).order_by("started_at")[Cycle.objects.filter(job=big).count() // 2]
    first_name = person.source_name.split()[0]
    return [
        ("all logs (tenant-wide)", {}),
        ("last 24 hours", {"date": "24h"}),
        ("status = failure", {"status": "failure"}),
        ("action = Delete (rare)", {"action": "Delete"}),
        ("action = Update, status = failure", {"action": "Update", "status": "failure"}),
        ("app (largest, 40 %)", {"app": big.application_id}),
        (
            "app (smallest, 10 %) + failure + 7 days",
            {"app": small.application_id, "status": "failure", "date": "7d"},
        ),
        ("custom range 10-12 days ago", {"date": "custom", "start": _ago(12), "end": _ago(10)}),
        (f"identity: first name prefix '{first_name[:3].lower()}'", {"q": first_name[:3].lower()}),
        (f"identity: full name '{person.source_name}'", {"q": person.source_name}),
        ("identity: userName prefix (one person)", {"q": person.target_name.split("@")[0]}),
        ("identity: source id (exact)", {"q": person.source_id}),
        ("cycle id", {"cycle": str(cycle.cycle_id)}),
        ("change id", {"change": str(sample.change_id)}),
        ("job id + status = skipped", {"job": big.job_id, "status": "skipped"}),
    ]


def _ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timezone.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def deep_cursor(params: dict[str, Any]) -> tuple[str, int] | None:
    """A cursor half-way down the filtered result (found with OFFSET here, in setup only)."""
    from django.http import QueryDict

    from portal.paging import encode_cursor
    from provisioning.logs.query import LogFilterForm

    query = QueryDict(urlencode(params, doseq=True))
    queryset = LogFilterForm(query).export_queryset()
    total = queryset.count()
    if total < 200:
        return None
    row = queryset.values_list("activity_at", "pk")[total // 2]
    return encode_cursor(row), total


def measure(client, url: str, params: dict[str, Any], repeat: int) -> tuple[list[float], int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    full = f"{url}?{urlencode(params, doseq=True)}" if params else url
    for _ in range(3):  # warm-up: connection, caches, plans
        client.get(full)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(full)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (full, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(full)
    rows = response.content.count(b"<tr data-log=")
    page_sql = next(
        q["sql"]
        for q in queries.captured_queries
        if "provisioning_provisioninglog" in q["sql"] and "LIMIT" in q["sql"]
    )
    return times, rows, page_sql


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
        return "\n".join(r[0] for r in cursor.fetchall())


def bench_pages(repeat: int) -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse("provisioning:log_list")
    results = []
    with override_settings(DEBUG=False):  # no query log: measure the page, not the debug wrapper
        for name, params in scenarios():
            times, rows, sql = measure(client, url, params, repeat)
            results.append(_result(name, "first page", params, times, rows, sql))
            print(_line(results[-1]))
            if name in DEEP:
                found = deep_cursor(params)
                if found:
                    cursor, total = found
                    deep_params = {**params, "after": cursor}
                    times, rows, sql = measure(client, url, deep_params, repeat)
                    results.append(
                        _result(
                            name, f"deep page (row {total // 2:,} of {total:,})", params, times, rows, sql
                        )
                    )
                    print(_line(results[-1]))
                    back_params = {**params, "before": cursor}
                    times, rows, sql = measure(client, url, back_params, repeat)
                    results.append(_result(name, "deep page, newer direction", params, times, rows, sql))
                    print(_line(results[-1]))
    return results


DEEP = {
    "all logs (tenant-wide)",
    "status = failure",
    "app (largest, 40 %)",
    "action = Update, status = failure",
    "cycle id",
}


def _result(name: str, page: str, params: dict, times: list[float], rows: int, sql: str) -> dict[str, Any]:
    return {
        "scenario": name,
        "page": page,
        "params": params,
        "rows": rows,
        "p50": statistics.median(times),
        "p95": percentile(times, 95),
        "max": max(times),
        "plan": explain(sql),
    }


def _line(r: dict[str, Any]) -> str:
    return f"{r['scenario'][:48]:48} {r['page'][:36]:36} rows={r['rows']:3}  p50={r['p50']:7.1f} ms  p95={r['p95']:7.1f} ms"


# --- downloads ----------------------------------------------------------------------------------------------


def download_child(fmt: str, traced: bool) -> None:
    """Run in a fresh process: download all rows, print one JSON line with the figures."""
    import tracemalloc

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    user = get_user_model().objects.get(username="bench")
    client = Client()
    client.force_login(user)
    url = reverse("provisioning:log_download", args=[fmt])
    with override_settings(DEBUG=False):  # warm-up: the first request of a process imports half of Django
        for _ in client.get(url, {"cycle": "00000000-0000-0000-0000-000000000000"}).streaming_content:
            pass
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    with override_settings(DEBUG=False):
        started = time.perf_counter()
        response = client.get(url)
        size = chunks = 0
        lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            chunks += 1
            if fmt == "csv":
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    print(
        json.dumps(
            {
                "format": fmt,
                "seconds": seconds,
                "bytes": size,
                "chunks": chunks,
                "csv_lines": lines,
                "rss_before_kb": rss_before,
                "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "tracemalloc_peak": peak,
            }
        )
    )


def bench_download(database_url: str, fmt: str, traced: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--database-url", database_url, "--download-child", fmt]
    if traced:
        command.append("--traced")
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------------------


def report(
    info: dict[str, Any], pages: list[dict[str, Any]], downloads: list[dict[str, Any]], repeat: int
) -> str:
    out = [
        HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `bench/bench_logs.py` on {info['rows']:,} log rows in PostgreSQL "
        f"{info['postgres'].split()[0]} (table {info['table_size']}, of which indexes {info['index_size']}); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Django test client (full request: "
        f"middleware, queries, template), {repeat} runs per line after 3 warm-up runs.",
        "",
    ]
    if info.get("added"):
        out += [
            f"Seeding: `seed_logs` added {info['added']:,} rows in {info['seconds']:.0f} s "
            f"({info['added'] / max(info['seconds'], 1e-9):,.0f} rows/s, COPY on PostgreSQL).",
            "",
        ]
    elif info.get(
        "previous_seeding"
    ):  # the rows were already there: keep the figure of the run that added them
        out += [info["previous_seeding"], ""]
    out += [
        "### Logs page (50 rows, newest first, keyset pagination)",
        "",
        "| Filters | Page | Rows | p50 (ms) | p95 (ms) | max (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in pages:
        out.append(
            f"| {r['scenario']} | {r['page']} | {r['rows']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |"
        )
    worst = max(r["p95"] for r in pages)
    out += ["", f"Worst p95: **{worst:.0f} ms** (target: under 300 ms).", ""]
    out += [
        "### Download of all rows (streamed)",
        "",
        "| Format | Rows | Size | Time | Rows/s | Peak RSS of the process | Python heap peak (tracemalloc) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for d in downloads:
        rows = d.get("rows", info["rows"])
        out.append(
            f"| {d['format'].upper()} | {rows:,} | {d['bytes'] / 1e6:,.0f} MB | {d['seconds']:.1f} s | "
            f"{rows / d['seconds']:,.0f} | {d['rss_peak_kb'] / 1024:,.0f} MB (at start: {d['rss_before_kb'] / 1024:,.0f} MB) | "
            f"{_megabytes(d.get('tracemalloc_peak'))} |"
        )
    out += [
        "",
        "Memory stays flat: rows come through a server-side cursor (`.iterator(chunk_size=2000)` inside a read",
        "transaction, so PostgreSQL streams instead of materialising a WITH HOLD cursor) and are written out",
        "500 at a time; the heap peak does not depend on the number of rows.",
        "",
        "### Query plans (EXPLAIN ANALYZE of each page query)",
        "",
        "Indexes used: `log_time_idx` (activity_at desc, id desc), `log_job_time_idx` (job, activity_at, id),",
        "`log_status_time_idx`, `log_action_time_idx`, `log_cycle_time_idx` (cycle_id, activity_at, id),",
        "`log_change_idx`, `log_source_idx`, `log_target_idx`, and `lower(source_name|target_name) text_pattern_ops`",
        "(migration `provisioning/0002`). No OFFSET and no COUNT: a page is a range scan from the cursor.",
        "",
    ]
    seen: set[str] = set()
    for r in pages:
        key = f"{r['scenario']} — {r['page']}"
        if key in seen:
            continue
        seen.add(key)
        out += [f"<details><summary>{key}</summary>", "", "```", r["plan"], "```", "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _megabytes(value: int | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.1f} MB"


def previous_seeding() -> str | None:
    """The "Seeding:" line of the section already in docs/benchmarks.md, if any."""
    if not DOC.exists():
        return None
    section = DOC.read_text().partition(HEADING)[2].split("\n## ", 1)[0]
    match = re.search(r"^Seeding: .*$", section, re.M)
    return match.group(0) if match else None


def write_doc(section: str) -> None:
    """Replace (or append) only our section of docs/benchmarks.md."""
    DOC.parent.mkdir(exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text.rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--no-json", action="store_true", help="skip the (slower) JSON download of all rows")
    parser.add_argument("--download-child", choices=["csv", "json"], help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark is for PostgreSQL: pass --database-url postgres://...")
    if args.download_child:
        setup_django(args.database_url)
        download_child(args.download_child, args.traced)
        return

    ensure_database(args.database_url)
    setup_django(args.database_url)
    info = seed(args.rows)
    info["previous_seeding"] = previous_seeding()
    print(f"{info['rows']:,} rows; table {info['table_size']} (indexes {info['index_size']})")
    pages = bench_pages(args.repeat)
    downloads = []
    for fmt in ["csv"] + ([] if args.no_json else ["json"]):
        timed = bench_download(args.database_url, fmt, traced=False)
        if fmt == "csv":
            timed["tracemalloc_peak"] = bench_download(args.database_url, fmt, traced=True)[
                "tracemalloc_peak"
            ]
            timed["rows"] = timed["csv_lines"] - 1
        downloads.append(timed)
        print(
            f"download {fmt}: {timed['bytes'] / 1e6:,.0f} MB in {timed['seconds']:.1f} s, "
            f"peak RSS {timed['rss_peak_kb'] / 1024:,.0f} MB, heap peak {_megabytes(timed.get('tracemalloc_peak'))}"
        )
    section = report(info, pages, downloads, args.repeat)
    if not args.no_write:
        write_doc(section)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
