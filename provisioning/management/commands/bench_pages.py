"""Measure the admin's pages on the current database (see bench/pages.py)."""

import os

from django.core.management.base import BaseCommand
from django.utils import timezone

from bench.pages import markdown, run, top_up_logs
from bench.report import append_run

HEADING = "## Pages on a big tenant (bench_pages)"


class Command(BaseCommand):
    help = "p50/p95 of the users list, the largest group, the overview and the logs pages; optionally "
    "top the log table up first (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--logs", type=int, default=0, help="Copy log rows until there are this many.")
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--only", default="", help="Comma-separated: users, group, overview, logs.")
        parser.add_argument("--no-write", action="store_true", help="Do not update docs/benchmarks.md.")

    def handle(self, *args, logs, repeat, only, no_write, **options) -> None:
        if logs:
            self.stdout.write(str(top_up_logs(logs)))
        load = f"{os.getloadavg()[0]:.1f}"
        result = run(repeat, {o.strip() for o in only.split(",") if o.strip()} or None)
        table = markdown(result, _command_line(), timezone.now().strftime("%Y-%m-%d %H:%M UTC"), load)
        self.stdout.write(table)
        if not no_write:
            append_run(HEADING, table)


def _command_line() -> str:
    import sys

    env = [f"{k}={os.environ[k]}" for k in ("DATABASE_URL",) if k in os.environ]
    return " ".join([*env, "python", "manage.py", *sys.argv[1:]])
