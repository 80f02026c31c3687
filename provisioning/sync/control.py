"""Start, stop, restart and allow deletes: what the blade's buttons and the Graph API do."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from provisioning.models import Cycle, CycleStatus, EscrowEntry, JobState, ProvisioningJob
from provisioning.sync import cycles, dispatch


def start(job: ProvisioningJob) -> None:
    """Provisioning On: resume a paused cycle where it left off, or run the next cycle now."""
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True, state=JobState.QUARANTINE if job.state == JobState.QUARANTINE else JobState.ACTIVE
    )
    job.refresh_from_db()
    if not cycles.resume(job):
        transaction.on_commit(lambda: dispatch.queue_cycle(job.pk))


def stop(job: ProvisioningJob) -> None:
    """Provisioning Off: the running cycle stops at the next page boundary and can resume later."""
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=False, state=JobState.QUARANTINE if job.state == JobState.QUARANTINE else JobState.PAUSED
    )
    cycles.pause(job)
    job.refresh_from_db()


def restart(job: ProvisioningJob, *, reset_scope: str = "") -> None:
    """Clear watermark, escrow failures and quarantine, then run a new initial cycle.

    ``reset_scope="Full"`` also forgets the source ↔ target links (they are rebuilt by matching);
    ``"ForceDeletes"`` lets the staged deletions of a TooManyDeletes quarantine through once.
    """
    force = reset_scope == "ForceDeletes"
    with transaction.atomic():
        if force:
            allow_deletes(job)
            return
        cycles.close_open_cycles(job, CycleStatus.FAILED, "Restarted by an administrator.")
        if reset_scope == "Full":
            EscrowEntry.objects.filter(job=job).delete()
        ProvisioningJob.objects.filter(pk=job.pk).update(
            watermark=0,
            needs_full_sync=True,
            state=JobState.ACTIVE if job.enabled else JobState.PAUSED,
            quarantine_reason="",
            quarantine_since=None,
            quarantine_details="",
            next_run_at=timezone.now(),
        )
        job.refresh_from_db()
        if job.enabled:
            transaction.on_commit(lambda: dispatch.queue_cycle(job.pk, True))


def allow_deletes(job: ProvisioningJob) -> bool:
    """Let a cycle stopped by the deletion threshold send its staged disables and deletes, once."""
    with transaction.atomic():
        cycle = (
            Cycle.objects.select_for_update()
            .filter(job=job, status=CycleStatus.QUARANTINED)
            .order_by("-started_at")
            .first()
        )
        ProvisioningJob.objects.filter(pk=job.pk).update(
            state=JobState.ACTIVE if job.enabled else JobState.PAUSED,
            quarantine_reason="",
            quarantine_since=None,
            quarantine_details="",
        )
        if cycle is None:
            return False
        cycle.status = CycleStatus.RUNNING
        cycle.force_deletes = True
        cycle.progress_at = timezone.now()  # the time it waited for the admin is not a stall
        cycle.save(update_fields=["status", "force_deletes", "progress_at"])
        cycles._advance(cycle.pk)
    return True
