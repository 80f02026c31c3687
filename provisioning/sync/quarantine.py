"""Quarantine, with Entra's rules: credentials refused, too many failures, too many deletes.

A quarantined job retries 6 h, 12 h and 24 h after the first failure, then every 24 h, and is
disabled after 28 days. A successful cycle, credentials that pass Test Connection, or Restart end it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.audit import Activity, record_audit
from portal.i18n.text import Text
from provisioning.engine.target_protocol import TargetError
from provisioning.models import Cycle, JobState, NotificationKind, ProvisioningJob, QuarantineReason
from provisioning.sync.notifications import notify

RECOMMENDED_ACTIONS = {
    QuarantineReason.CREDENTIALS: gettext_noop(
        "The target refused the admin credentials. Enter a valid secret token, "
        "test the connection, then save: quarantine ends at once."
    ),
    QuarantineReason.ESCROW_PROPORTION: gettext_noop(
        "Most objects fail to provision. Open the provisioning logs, fix the "
        "cause (mappings, target errors), then restart provisioning."
    ),
    QuarantineReason.TOO_MANY_DELETES: gettext_noop(
        "More disables and deletes were staged than the accidental-deletion threshold allows. Review "
        "them, then choose Allow deletes, or fix the assignments or scoping and restart provisioning."
    ),
}
RETRY_OFFSETS_HOURS = (6, 12, 24)


def next_attempt(since, now) -> object:
    """6 h, 12 h, 24 h after the first failure, then every 24 h."""
    for hours in RETRY_OFFSETS_HOURS:
        at = since + timedelta(hours=hours) * settings.PROVISIONING_QUARANTINE_TIME_SCALE
        if at > now:
            return at
    step = timedelta(hours=24) * settings.PROVISIONING_QUARANTINE_TIME_SCALE
    elapsed = now - since
    return since + step * (elapsed // step + 1)


def enter(job: ProvisioningJob, reason: str, details: str, *, error: TargetError | None = None) -> None:
    now = timezone.now()
    job.refresh_from_db()
    changed = job.state != JobState.QUARANTINE or job.quarantine_reason != reason
    since = job.quarantine_since if job.state == JobState.QUARANTINE and job.quarantine_since else now
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.QUARANTINE,
        quarantine_reason=reason,
        quarantine_since=since,
        quarantine_details=details,
        next_run_at=next_attempt(since, now),
    )
    if changed:  # one email per quarantine (and another if the reason changes), within the daily limit
        job.refresh_from_db()
        _audit(job, Activity.QUARANTINE, [("QuarantineReason", "", reason), ("Details", "", details)])
        notify(
            job,
            NotificationKind.DELETIONS
            if reason == QuarantineReason.TOO_MANY_DELETES
            else NotificationKind.QUARANTINE,
            Text(gettext_noop("Provisioning has been quarantined")),
            Text(
                gettext_noop(
                    "Provisioning was quarantined (%(reason)s).\n\n%(details)s\n\nRecommended action: %(action)s"
                ),
                {
                    "reason": str(reason),
                    "details": details,
                    "action": Text(RECOMMENDED_ACTIONS.get(reason, "")),
                },
            ),
        )


def _audit(job: ProvisioningJob, activity: str, changes: list[tuple[str, str, str]]) -> None:
    """Quarantine start and end appear in the audit log, initiated by the provisioning service."""
    application = job.application
    record_audit(
        None,
        activity,
        target_type="ProvisioningJob",
        target_id=job.job_id,
        target_name=application.display_name,
        application=application,
        changes=changes,
        category="ProvisioningManagement",
    )


def leave(job: ProvisioningJob) -> None:
    reason = (
        ProvisioningJob.objects.filter(pk=job.pk, state=JobState.QUARANTINE)
        .values_list("quarantine_reason", flat=True)
        .first()
    )
    released = ProvisioningJob.objects.filter(pk=job.pk, state=JobState.QUARANTINE).update(
        state=JobState.ACTIVE if job.enabled else JobState.PAUSED,
        quarantine_reason="",
        quarantine_since=None,
        quarantine_details="",
        next_run_at=timezone.now(),  # try again now rather than at the next quarantine retry
    )
    if released:
        _audit(job, Activity.RELEASE_QUARANTINE, [("QuarantineReason", reason or "", "")])


def leave_if(job: ProvisioningJob, reason: str) -> None:
    job.refresh_from_db()
    if job.state == JobState.QUARANTINE and job.quarantine_reason == reason:
        leave(job)


def after_cycle(job: ProvisioningJob, cycle: Cycle) -> None:
    """Apply the escrow-proportion rule to a finished cycle; a clean cycle ends a quarantine."""
    failed, total = cycle.failed, cycle.total
    minimum = settings.PROVISIONING_QUARANTINE_MIN_FAILURES
    proportion = settings.PROVISIONING_QUARANTINE_FAILURE_PROPORTION
    absolute = settings.PROVISIONING_QUARANTINE_MAX_FAILURES
    if failed >= minimum and (failed > proportion * total or failed > absolute):
        enter(
            job,
            QuarantineReason.ESCROW_PROPORTION,
            f"{failed} of {total} objects failed in the last cycle.",
        )
    elif failed and job.notify_on_failure:
        notify(
            job,
            NotificationKind.FAILURES,
            Text(gettext_noop("Provisioning failures")),
            Text(
                gettext_noop("%(failed)s of %(total)s objects failed to provision in the last cycle."),
                {"failed": failed, "total": total},
            ),
        )
    elif (
        job.state == JobState.QUARANTINE
        and job.quarantine_reason != QuarantineReason.TOO_MANY_DELETES
        and failed == 0
    ):
        leave(job)


def expired(job: ProvisioningJob, now=None) -> bool:
    now = now or timezone.now()
    days = timedelta(days=28) * settings.PROVISIONING_QUARANTINE_TIME_SCALE
    return bool(job.quarantine_since and now - job.quarantine_since > days)


def recommended_action(reason: str) -> str:
    return RECOMMENDED_ACTIONS.get(reason, gettext_noop("Open the provisioning logs for details."))
