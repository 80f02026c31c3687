"""Draw the cycle-time chart of docs/benchmarks.md from measured points (see bench/chart.py)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.chart import cycle_time_svg


class Command(BaseCommand):
    help = "Write an SVG of initial-cycle time against directory size, e.g. --point 10000:25.3 --point 100000:260"

    def add_arguments(self, parser):
        parser.add_argument(
            "--point", action="append", required=True, help="USERS:SECONDS, measured by bench_sync."
        )
        parser.add_argument("--title", default="Initial cycle against the instant target")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "cycle-time.svg"))

    def handle(self, *args, point, title, out, **options) -> None:
        try:
            points = [(int(users), float(seconds)) for users, seconds in (p.split(":") for p in point)]
        except ValueError as exc:
            raise CommandError("--point is USERS:SECONDS, e.g. 10000:25.3") from exc
        if len(points) < 2:
            raise CommandError("give at least two points")
        Path(out).write_text(cycle_time_svg(points, title))
        self.stdout.write(f"Written to {out}")
