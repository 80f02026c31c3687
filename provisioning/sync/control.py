"""Provisioning control: the one place that turns a job On or Off, saves its settings, restarts it and
allows staged deletes. The Provisioning form, the overview's buttons and the Graph API all call it, so
the rule for each command (and its audit entry) is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.audit import Activity, audit_application
from provisioning.models import Cycle, CycleStatus, EscrowEntry, JobState, ProvisioningJob, ProvisioningMode
from provisioning.sync import cycles, dispatch, quarantine
from provisioning.sync.credentials import Credentials, credentials_tested

# English, as the Graph API answers them; the portal's pages show them with gettext (marked here).
NOT_TESTED = gettext_noop("Select Test Connection and make sure it succeeds before turning provisioning On.")
CHANGED_SINCE_TEST = gettext_noop(
    "The admin credentials changed since the last successful Test Connection. Select Test Connection with "
    "the new credentials before turning provisioning On."
)
INCOMPLETE = gettext_noop("Complete the admin credentials before turning provisioning On.")
MANUAL = gettext_noop("Provisioning can only be On in Automatic mode.")


class TurnOnRefused(Exception):
    """Why provisioning can't be turned On: ``message`` for people, ``field`` of the form it concerns."""

    def __init__(self, message: str, *, field: str = "enabled", untested: bool = False):
        super().__init__(message)
        self.message = message
        self.field = field
        self.untested = untested  # Test Connection (validateCredentials) is what is missing


def turn_on_refusal(
    job: ProvisioningJob, *, mode: str | None = None, credentials: Credentials | None = None
) -> TurnOnRefused | None:
    """The rule for turning provisioning On, or None when it may be: Automatic mode, a supported app,
    complete credentials, and a passed Test Connection of exactly these credentials.

    ``mode`` and ``credentials`` default to the saved ones; the form passes what it is about to save.
    """
    credentials = credentials or Credentials.from_job(job)
    if (mode or job.mode) != ProvisioningMode.AUTOMATIC:
        return TurnOnRefused(MANUAL, field="mode")
    if job.not_supported:
        return TurnOnRefused(job.not_supported)
    if credentials.missing():
        return TurnOnRefused(INCOMPLETE)
    if credentials_tested(job, credentials):
        return None
    return TurnOnRefused(CHANGED_SINCE_TEST if job.credentials_fingerprint else NOT_TESTED, untested=True)


def turn_on(job: ProvisioningJob, *, actor: Any = None) -> None:
    """Provisioning On (the form's Save, the overview's Start, Graph's start): a quarantine is lifted.

    Raises TurnOnRefused when the rule of ``turn_on_refusal`` is not met; nothing changes then.
    """
    if refusal := turn_on_refusal(job):
        raise refusal
    with transaction.atomic():
        if job.state == JobState.QUARANTINE:
            quarantine.leave(job)
            job.refresh_from_db()
        if not job.enabled:
            set_status(job, True, actor=actor)


def turn_off(job: ProvisioningJob, *, actor: Any = None) -> None:
    """Provisioning Off: a running cycle stops at the next page and resumes on the next turn On."""
    if job.enabled:
        set_status(job, False, actor=actor)


def set_status(job: ProvisioningJob, on: bool, *, actor: Any = None) -> None:
    """Switch the job On or Off and audit it, without checking the rule (callers have)."""
    (start if on else stop)(job)
    job.refresh_from_db()
    audit_application(
        actor,
        job.application,
        Activity.START_PROVISIONING if on else Activity.STOP_PROVISIONING,
        [("enabled", not on, on)],
    )


def save_settings(job: ProvisioningJob, values: Mapping[str, Any], *, actor: Any = None) -> list[str]:
    """Store the changed settings and credentials of ``values``, audited; the names of those changed.

    Only these fields are written (the engine writes state, watermark... on the same row). A scope change
    takes effect with an initial cycle, as in Entra; a configured Automatic job leaves NotConfigured.
    """
    changes = [
        (name, getattr(job, name), value) for name, value in values.items() if getattr(job, name) != value
    ]
    if not changes:
        return []
    fields = [name for name, _, _ in changes]
    with transaction.atomic():
        for name in fields:
            setattr(job, name, values[name])
        saved = list(fields)
        if "scope" in fields:
            job.needs_full_sync = True
            saved.append("needs_full_sync")
        if job.state == JobState.NOT_CONFIGURED and job.tenant_url and job.mode == ProvisioningMode.AUTOMATIC:
            job.state = JobState.NOT_RUN  # configured, never run (Graph's status codes)
            saved.append("state")
        job.save(update_fields=saved)
        audit_application(actor, job.application, Activity.UPDATE_PROVISIONING, changes)
    return fields


def reset_job(job: ProvisioningJob, scopes: Sequence[str] = (), *, actor: Any = None) -> bool:
    """Restart with Graph's reset scopes, audited once; True when a cycle was resumed or will run.

    No scope (the blade's Restart): clear watermark, failures and quarantine, then a new initial cycle.
    ``Full``/``ConnectorDataStore`` also forget the source ↔ target links (rebuilt by matching);
    ``ForceDeletes`` is Allow deletes.
    """
    if "ForceDeletes" in scopes:
        return allow_deletes(job, actor=actor)
    restart(job, reset_scope="Full" if {"Full", "ConnectorDataStore"} & set(scopes) else "")
    audit_application(
        actor,
        job.application,
        Activity.RESTART_PROVISIONING,
        [("reset_scope", "", ", ".join(scopes) or "Restart")],
    )
    return job.enabled


def allow_deletes(job: ProvisioningJob, *, actor: Any = None) -> bool:
    """Let a cycle stopped by the deletion threshold send its staged disables and deletes, once.

    The quarantine is cleared either way; True when a stopped cycle resumed.
    """
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
        audit_application(
            actor, job.application, Activity.RESTART_PROVISIONING, [("reset_scope", "", "ForceDeletes")]
        )
        if cycle is None:
            return False
        cycle.status = CycleStatus.RUNNING
        cycle.force_deletes = True
        cycle.progress_at = timezone.now()  # the time it waited for the admin is not a stall
        cycle.save(update_fields=["status", "force_deletes", "progress_at"])
        cycles._advance(cycle.pk)
    return True


# --- the engine side of the commands (no rule, no audit: the functions above are the entry points) ------


def start(job: ProvisioningJob) -> None:
    """Resume a paused cycle where it left off, or run the next cycle now."""
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True, state=JobState.QUARANTINE if job.state == JobState.QUARANTINE else JobState.ACTIVE
    )
    job.refresh_from_db()
    if not cycles.resume(job):
        transaction.on_commit(lambda: dispatch.queue_cycle(job.pk))


def stop(job: ProvisioningJob) -> None:
    """The running cycle stops at the next page boundary and can resume later."""
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=False, state=JobState.QUARANTINE if job.state == JobState.QUARANTINE else JobState.PAUSED
    )
    cycles.pause(job)
    job.refresh_from_db()


def restart(job: ProvisioningJob, *, reset_scope: str = "") -> None:
    """Clear watermark, escrow failures and quarantine, then run a new initial cycle.

    ``reset_scope="Full"`` also forgets the source ↔ target links (they are rebuilt by matching).
    """
    with transaction.atomic():
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
