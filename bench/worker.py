"""A Celery worker that counts its database queries, for bench_sync's "queries per object".

``python -m bench.worker <celery worker arguments>``: the portal's own worker, plus an execute wrapper
on every database connection it opens. After each task the running total is written to
``$BENCH_STATS_DIR/<pid>.json``, so the benchmark reads it between cycles without stopping the worker, and
``<pid>.ready`` tells it the worker has started.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from celery.signals import task_postrun, worker_ready
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

    def ready(**_kwargs) -> None:
        (out.parent / f"{os.getpid()}.ready").touch()

    connection_created.connect(install, weak=False)
    task_postrun.connect(save, weak=False)
    worker_ready.connect(ready, weak=False)
    app.worker_main(["worker", *argv])


def queries(stats_dir: Path) -> int:
    """The queries all counting workers have run so far (as of their last finished task)."""
    return sum(json.loads(p.read_text())["queries"] for p in stats_dir.glob("*.json"))


def wait_ready(stats_dir: Path, pids: list[int], timeout: float = 300) -> None:
    """Wait until every worker has started (its start-up CPU, seconds on a busy machine, is not the cycle's)."""
    deadline = time.monotonic() + timeout
    while not all((stats_dir / f"{pid}.ready").exists() for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not start")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main(sys.argv[1:])
