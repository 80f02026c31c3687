"""Benchmark of a large users CSV import: peak RSS and rows/s of upload + preview, and of the import.

    .venv/bin/python bench/bench_csv_import.py                    # 50 MB file, writes the doc section
    .venv/bin/python bench/bench_csv_import.py --mb 5 --no-write

What it does:

1. generates a users CSV of about ``--mb`` MB (12 columns; every tenth user manages the next nine, so
   the manager checks run over the whole file) into ``var/bench-csv/``;
2. runs each phase in a fresh subprocess on a freshly migrated SQLite database: **upload** (the form
   through Django's test client: checking, storing and counting the file), **preview** (what a worker
   runs), then **import** (Confirm through the test client: the re-check and the all-or-nothing write,
   run inline);
3. reports each phase's wall time, rows/s and the subprocess's peak RSS (``ru_maxrss``), and rewrites
   the "### Large CSV import" section of docs/benchmarks.md.

Preview and import run inline, so that the peak RSS is that of the process doing the work, as a
Celery worker would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-csv"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "### Large CSV import"
HEADER = [
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "jobTitle",
    "department",
    "city",
    "country",
    "mobilePhone",
    "employeeId",
    "manager",
]


def generate(path: Path, megabytes: float) -> int:
    """A users CSV of about ``megabytes`` MB; returns its data rows."""
    target = int(megabytes * 1024 * 1024)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        size = out.tell()
        while size < target:
            upn = f"bench.user{rows}@contoso.test"
            manager = "" if rows % 10 == 0 else f"bench.user{rows - rows % 10}@contoso.test"
            line = (
                f"{upn},Bench User {rows},Bench,User{rows},{upn},Engineer {rows % 97},"
                f"Department {rows % 40},City {rows % 500},NO,+47 {rows:08d},E{rows:07d},{manager}\n"
            )
            out.write(line)
            size += len(line)
            rows += 1
    return rows


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def phase(name: str, database: Path, csv_path: Path) -> dict:
    """One phase in this (fresh) process: the figures as a dict."""
    setup_django(database)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from portal.directory.models import DirectoryImport

    # upload: the preview is queued (to an in-memory broker nobody reads); preview and import run inline
    settings.DIRECTORY_IMPORT_ASYNC_ROWS = 0 if name == "upload" else 10**9
    settings.DIRECTORY_IMPORT_MAX_BYTES = 200 * 1024 * 1024
    settings.ALLOWED_HOSTS = ["*"]
    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    started = time.perf_counter()
    if name == "upload":
        with csv_path.open("rb") as upload:
            response = client.post(reverse("directory:user_import"), {"file": upload}, secure=True)
        assert response.status_code in (200, 302), response.status_code
    elif name == "preview":
        from portal.directory import csv_import

        csv_import.run_preview(DirectoryImport.objects.order_by("-created_at").first())
    else:
        imp = DirectoryImport.objects.order_by("-created_at").first()
        response = client.post(reverse("directory:import_confirm", args=[imp.pk]), secure=True)
        assert response.status_code in (200, 302), response.status_code
    seconds = time.perf_counter() - started
    imp = DirectoryImport.objects.order_by("-created_at").first()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "phase": name,
        "seconds": round(seconds, 1),
        "rows": imp.total_rows,
        "status": imp.status,
        "message": imp.message,
        "summary": {k: v for k, v in imp.summary.items() if not k.endswith("_sample")},
        "peak_rss_mb": round(peak_kb / 1024),
    }


def run(megabytes: float) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    csv_path = WORK / f"users-{megabytes:g}mb.csv"
    rows = generate(csv_path, megabytes)
    database = WORK / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "CELERY_BROKER_URL": "memory://",
        # as in production: with DEBUG on, Django keeps the SQL of the last 9,000 queries in memory
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    results = []
    for name in ("upload", "preview", "import"):
        out = subprocess.run(
            [sys.executable, __file__, "--phase", name, "--db", str(database), "--csv", str(csv_path)],
            check=True,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["rows_per_second"] = round(rows / result["seconds"]) if result["seconds"] else None
        print(json.dumps(result), flush=True)
        results.append(result)
    return {"file_mb": round(csv_path.stat().st_size / 1024 / 1024, 1), "rows": rows, "phases": results}


def write_doc(report: dict) -> None:
    upload, preview, apply = report["phases"]
    lines = [
        HEADING,
        "",
        f"`bench/bench_csv_import.py`: a generated users CSV of {report['file_mb']} MB, "
        f"{report['rows']:,} rows (12 columns, every tenth user the manager of the next nine), imported "
        "into an empty SQLite database through Django's test client, each phase in a fresh process "
        f"with `DEBUG=False` (peak RSS = `ru_maxrss` of that process). Python {platform.python_version()}, "
        f"{os.cpu_count()} vCPUs shared with other work.",
        "",
        "The upload's peak includes Django's test client, which builds the whole multipart request in "
        "memory (a browser and gunicorn stream it; Django spools uploads over 2.5 MB to a temporary "
        "file); preview and import run in processes that only read the stored file.",
        "",
        "| phase | time | rows/s | peak RSS | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    phases = ((upload, "upload (store + count)"), (preview, "preview"), (apply, "import (re-check + write)"))
    for result, label in phases:
        lines.append(
            f"| {label} | {result['seconds']} s | {result['rows_per_second']:,} | "
            f"{result['peak_rss_mb']} MB | {result['status']} {json.dumps(result['summary'])} |"
        )
    lines.append("")
    text = DOC.read_text()
    section = "\n".join(lines) + "\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^#{{2,4}} |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        anchor = "## Provisioning logs"
        text = text.replace(anchor, section + "\n" + anchor, 1) if anchor in text else text + "\n" + section
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, Path(args.db), Path(args.csv))))
        return
    report = run(args.mb)
    print(json.dumps(report, indent=2))
    if not args.no_write:
        write_doc(report)


if __name__ == "__main__":
    main()
