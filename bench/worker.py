"""A Celery worker that counts its database queries, for bench_sync's "queries per object".

``python -m bench.worker <celery worker arguments>``: the portal's own worker, plus an execute wrapper
on every database connection it opens. After each task the running total is written to
``$BENCH_STATS_DIR/<pid>.json``, so the benchmark reads it between cycles without stopping the worker.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from celery.signals import task_postrun
    from django.db.backends.signals import connection_created

    from portal.celery import app

    lock = threading.Lock()
    totals = {"queries": 0}
    out = Path(os.environ["BENCH_STATS_DIR"]) / f"{os.getpid()}.json"

    def count(execute, sql, params, many, context):
        with lock:
            totals["queries"] += 1
        return execute(sql, params, many, context)

    def install(connection, **_kwargs) -> None:
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    def save(**_kwargs) -> None:
        with lock:
            out.write_text(json.dumps(totals))

    connection_created.connect(install, weak=False)
    task_postrun.connect(save, weak=False)
    app.worker_main(["worker", *argv])


def queries(stats_dir: Path) -> int:
    """The queries all counting workers have run so far (as of their last finished task)."""
    return sum(json.loads(p.read_text())["queries"] for p in stats_dir.glob("*.json"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main(sys.argv[1:])
