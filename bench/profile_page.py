"""Profile the users pages of an initial cycle in one process, without Celery.

``PORTAL_VAR_DIR=/tmp/x DEBUG=false python -m bench.profile_page --users 2000 [--pages 2] [--out f.prof]``
seeds the directory once (kept in the var dir), starts a fresh instant target (bench/instant_target.py),
adds a fresh app (matchingOperators eqOr, scope all), opens an initial cycle and runs its first pages
with ``cycles.run_page`` under cProfile: the same code a worker runs for a page. Prints the CPU per
user and the top functions by cumulative and by own time.

``--no-profile --split`` (with ``PROVISIONING_CONCURRENCY=1``, so the page runs in one thread) prints the
CPU per user of each stage instead, and of the garbage collector by generation; ``PROFILE_GC_FREEZE=1``
freezes the start-up heap first, as a worker does. ``--py-spy FILE`` samples the measured pages from
outside (all threads). CPU figures move with the machine's load: compare runs made side by side.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--matching", default="eqOr")
    parser.add_argument("--out", default="")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true", help="Time only (CPU of the process).")
    parser.add_argument(
        "--split", action="store_true", help="CPU per stage (run with PROVISIONING_CONCURRENCY=1)."
    )
    parser.add_argument("--py-spy", default="", help="Record the measured pages with py-spy into this file.")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("PROVISIONING_OUTBOUND_ALLOW", "127.0.0.0/8,::1/128")
    import django

    django.setup()
    from django.core.management import call_command

    from portal.applications.services import instantiate
    from portal.directory.models import DirectoryUser
    from provisioning.models import CyclePage, PageStatus, Scope
    from provisioning.sync import cycles

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if DirectoryUser.objects.count() < args.users:
        call_command("seed_directory", users=args.users, groups=0, seed=7, verbosity=0)

    target = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_target"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = target.stdout.readline().strip()
        application = instantiate("taskize-connect", f"Profile app {time.time():.0f}")
        job = application.provisioning
        job.tenant_url, job.secret_token, job.enabled = base_url, "bench-token", True
        job.scope, job.near_real_time = Scope.ALL, False
        job.compatibility = {**(job.compatibility or {}), "matchingOperators": args.matching}
        job.save()
        cycle = cycles.start_cycle(job.pk, initial=True)
        pages = list(
            CyclePage.objects.filter(cycle=cycle, phase="users", status=PageStatus.PENDING)
            .order_by("index")
            .values_list("pk", "items")[: args.pages + 1]
        )
        if os.environ.get("PROFILE_GC_FREEZE"):
            import gc

            gc.collect()
            gc.freeze()
        # The first page warms the process up (connector, schemas, imports), as a worker's first task does.
        cycles.run_page(pages[0][0])
        measured = pages[1:]
        users = sum(len(items) for _, items in measured)
        profile = cProfile.Profile()
        from pydantic._internal import _generics

        built = {"classes": 0}
        original = _generics.create_generic_submodel

        def counting(*a, **k):
            built["classes"] += 1
            return original(*a, **k)

        _generics.create_generic_submodel = counting
        stages = _split_stages() if args.split else None
        spy = None
        if args.py_spy:  # sampled from outside: all threads, and no change to what the process does
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(os.getpid()),
                    "-r",
                    "250",
                    "-f",
                    "raw",
                    "-o",
                    args.py_spy,
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.5)
        cpu, wall = time.process_time(), time.perf_counter()
        if not args.no_profile:
            profile.enable()
        for pk, _ in measured:
            cycles.run_page(pk)
        if not args.no_profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        if stages is not None:
            for name, seconds in sorted(stages.items(), key=lambda item: -item[1]):
                print(f"  {name:<34} {seconds * 1000 / users:.3f} ms/user  {seconds / cpu:6.1%}")
        print(
            f"{users} users in {len(measured)} page(s): CPU {cpu * 1000 / users:.3f} ms/user, wall {wall:.2f} s, "
            f"{built['classes']} parametrised classes built"
        )
        if not args.no_profile:
            stats = pstats.Stats(profile)
            if args.out:
                stats.dump_stats(args.out)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
    finally:
        target.terminate()
        target.wait(timeout=30)


def _split_stages() -> dict[str, float]:
    """Wrap the stages of a page with CPU timers (this thread's CPU: run with concurrency 1)."""
    import gc
    from functools import wraps

    from provisioning.connectors.scim.connector import ScimTarget
    from provisioning.engine.processor import PageProcessor
    from provisioning.sync import cycles, escrow
    from provisioning.sync.directory_source import DirectorySource

    totals: dict[str, float] = {}
    running: list[str] = []

    def timed(owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        @wraps(original)
        def wrapper(*a: Any, **k: Any) -> Any:
            started = time.thread_time()
            running.append(name)
            try:
                return original(*a, **k)
            finally:
                running.pop()
                spent = time.thread_time() - started
                totals[name] = totals.get(name, 0.0) + spent
                if running:  # report own time only: subtract from the enclosing stage
                    totals[running[-1]] = totals.get(running[-1], 0.0) - spent

        setattr(owner, attribute, wrapper)

    timed(cycles, "_process", "run_page (rest)")
    timed(DirectorySource, "get", "source: read directory")
    timed(escrow, "load", "escrow: load")
    timed(PageProcessor, "process", "engine (rest)")
    timed(PageProcessor, "_import_and_scope", "engine: import, scope, map")
    timed(ScimTarget, "find_many", "connector: matching queries")
    timed(ScimTarget, "bulk_create", "connector: bulk creates")
    timed(escrow, "write_logs", "save: log rows")
    timed(cycles, "_save_page", "save: escrow, counters, advance")
    gc_started: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started.append(time.thread_time())
        elif gc_started:
            name = f"(garbage collector, generation {info['generation']})"
            totals[name] = totals.get(name, 0.0) + time.thread_time() - gc_started.pop()

    gc.callbacks.append(on_gc)
    return totals


if __name__ == "__main__":
    main()
