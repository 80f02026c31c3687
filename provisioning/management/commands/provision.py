"""Queue a sync cycle for an app and, with --wait, print its progress and summary."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from provisioning.models import Cycle, CycleStatus, ProvisioningJob
from provisioning.sync import control
from provisioning.tasks import run_cycle


class Command(BaseCommand):
    help = "Queue a provisioning cycle for APP (display name, application id or job id)."

    def add_arguments(self, parser):
        parser.add_argument("app")
        parser.add_argument(
            "--restart", action="store_true", help="Clear the watermark and run an initial cycle."
        )
        parser.add_argument("--wait", action="store_true", help="Print progress until the cycle ends.")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args, app: str, restart: bool, wait: bool, timeout: float, **options) -> None:
        job = self._job(app)
        if not job.enabled:
            raise CommandError(f"Provisioning of {job.application} is Off: switch it On first.")
        before = Cycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0
        if restart:
            control.reset_job(job)
        else:
            run_cycle.delay(job.pk)
        self.stdout.write(f"Queued a cycle for {job.application}.")
        if wait:
            self._wait(job, before, timeout)

    def _job(self, app: str) -> ProvisioningJob:
        query = Q(application__display_name=app) | Q(job_id=app)
        if app.isdigit():
            query |= Q(application_id=int(app))
        jobs = list(ProvisioningJob.objects.filter(query).select_related("application")[:2])
        if len(jobs) != 1:
            raise CommandError(f"{'No' if not jobs else 'More than one'} application matches {app!r}.")
        return jobs[0]

    def _wait(self, job: ProvisioningJob, before: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            cycle = Cycle.objects.filter(job=job, pk__gt=before).order_by("pk").first()
            if cycle:
                line = f"{cycle.get_kind_display()}: {cycle.processed}/{cycle.total} ({cycle.phase})"
                if line != last:
                    self.stdout.write(line)
                    last = line
                if cycle.status not in (CycleStatus.RUNNING,):
                    self.stdout.write(
                        f"{cycle.status}: created {cycle.created}, updated {cycle.updated}, disabled {cycle.disabled}, "
                        f"deleted {cycle.deleted}, skipped {cycle.skipped}, failed {cycle.failed}"
                    )
                    return
            time.sleep(0.5)
        raise CommandError("Timed out waiting for the cycle.")
