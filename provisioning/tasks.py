"""Celery tasks: load state, call the engine, save. Nothing else lives here."""

from __future__ import annotations

import logging
import os
import threading

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from provisioning.logs import retention
from provisioning.models import JobState, ProvisioningJob, ProvisioningMode, QuarantineReason
from provisioning.sync import cycles, quarantine, stalls

log = logging.getLogger(__name__)


@shared_task(
    name="provisioning.tasks.process_page",
    acks_late=True,
    reject_on_worker_lost=True,
    bind=True,
    soft_time_limit=settings.PROVISIONING_PAGE_SOFT_TIME_LIMIT,
    time_limit=settings.PROVISIONING_PAGE_TIME_LIMIT,
)
def process_page(self, page_id: int) -> None:
    """Run a page; database and broker errors are retried with a back-off, then the page fails.

    Whatever this task cannot do (the broker is gone too, the worker dies), the reaper picks up.
    """
    try:
        cycles.run_page(page_id, worker=_worker_identity(self.request.hostname), task_id=self.request.id)
    except cycles.PageBusy:
        return  # another live delivery runs it
    except cycles.INFRASTRUCTURE_ERRORS as exc:
        retries = self.request.retries
        if retries + 1 >= settings.PROVISIONING_PAGE_MAX_ATTEMPTS:
            log.error("Page %s: giving up after %s attempts (%s)", page_id, retries + 1, exc)
            try:
                cycles.fail_page(page_id, f"{type(exc).__name__}: {exc}".strip()[:500])
            except cycles.INFRASTRUCTURE_ERRORS:
                log.exception("Page %s could not be marked failed; the reaper will", page_id)
            return
        delay = min(settings.PROVISIONING_PAGE_RETRY_DELAY * 2**retries, 300)
        log.warning("Page %s: %s; retrying in %.0f s", page_id, exc, delay)
        raise self.retry(exc=exc, countdown=delay, max_retries=None) from exc


@shared_task(name="provisioning.tasks.reap_pages")
def reap_pages() -> dict[str, int]:
    """Beat: queue lost pages again, fail those that never finish (see cycles.reap)."""
    return cycles.reap()


def _worker_identity(hostname: str | None) -> str:
    """Which worker ran a page: host, process and pool (thread pools of one process differ by name)."""
    pool = threading.current_thread().name.rsplit("_", 1)[0]
    return f"{hostname or '?'}:{os.getpid()}:{pool}"


@shared_task(name="provisioning.tasks.run_cycle")
def run_cycle(job_id: int, initial: bool | None = None, force_deletes: bool = False) -> None:
    job = ProvisioningJob.objects.filter(pk=job_id).first()
    if job is None or not job.enabled or job.mode != ProvisioningMode.AUTOMATIC:
        return
    if (
        job.state == JobState.QUARANTINE
        and job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES
        and not force_deletes
    ):
        return  # waits for an admin: Allow deletes, or a fix and Restart
    try:
        cycles.start_cycle(job_id, initial=initial, force_deletes=force_deletes)
    except cycles.EarlierPageRunning:
        # asked again once that page has had time to save its links (or to go stale if its worker died)
        run_cycle.apply_async((job_id, initial, force_deletes), countdown=cycles.heartbeat_interval())


@shared_task(name="provisioning.tasks.schedule_tick")
def schedule_tick() -> None:
    """Beat calls this every 30 s: start the cycles whose time has come (and quarantine retries)."""
    now = timezone.now()
    stalls.report_stalled(now)  # log and email a cycle that stopped making progress, once
    due = ProvisioningJob.objects.filter(enabled=True, mode=ProvisioningMode.AUTOMATIC).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    )
    for job in due:
        if job.state == JobState.QUARANTINE:
            if job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES:
                continue
            if quarantine.expired(job, now):
                ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False, state=JobState.PAUSED)
                continue
        ProvisioningJob.objects.filter(pk=job.pk).update(
            next_run_at=now + timezone.timedelta(minutes=job.interval_minutes)
        )
        run_cycle.delay(job.pk)


@shared_task(name="provisioning.tasks.near_real_time")
def near_real_time(job_id: int) -> None:
    cache.delete(f"provisioning:nrt:{job_id}")
    run_cycle(job_id, initial=False)


@shared_task(
    name="provisioning.tasks_retention.purge_logs"
)  # the name beat rows store (module was folded in)
def purge_logs() -> int:
    """Beat runs this daily; also safe to run by hand (idempotent)."""
    return retention.purge_expired()
