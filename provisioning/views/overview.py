"""The provisioning overview of an app: commands, current cycle status (live), statistics, history.

The status part is one template partial served twice: inside the page, and alone at ``app_progress``,
which htmx polls every 2 s while a cycle runs (or while a just-started cycle is awaited). When there
is nothing left to watch the fragment is answered with HTTP 286, which stops the polling, and an
``HX-Trigger`` that makes the history chart reload once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from portal.applications.views import blade_context
from provisioning.logs.query import cycle_summary_links
from provisioning.models import (
    Cycle,
    CycleStatus,
    EscrowEntry,
    EscrowState,
    JobState,
    ObjectKind,
    ProvisioningJob,
    ProvisioningMode,
    QuarantineReason,
)
from provisioning.sync import control, quarantine, stalls
from provisioning.views.charts import CyclePoint, cycle_history_svg, format_duration

PAGE = "provisioning/overview.html"
HISTORY_LENGTH = 30
POLL_SECONDS = 2
WAIT_LIMIT_SECONDS = 120  # after Start/Restart, how long to wait for the worker to open the cycle
FINISHED_EVENT = "provisioning-cycle-finished"
COUNTERS = [
    ("created", _("Created")),
    ("updated", _("Updated")),
    ("disabled", _("Disabled")),
    ("deleted", _("Deleted")),
    ("skipped", _("Skipped")),
    ("failed", _("Failed")),
]


def _job(app_pk: int) -> ProvisioningJob:
    return get_object_or_404(ProvisioningJob.objects.select_related("application"), application_id=app_pk)


# --- what the status part shows ----------------------------------------------------------------------


@dataclass
class CycleProgress:
    """Progress of one cycle as the bar shows it: 100 % only once the cycle has completed."""

    cycle: Cycle
    percent: int
    running: bool
    eta: datetime | None
    elapsed_s: float
    rate_per_minute: float | None
    stalled: bool = False  # running, but no progress for longer than PROVISIONING_STALL_AFTER

    @property
    def elapsed(self) -> str:
        return format_duration(self.elapsed_s)

    @property
    def finishing(self) -> bool:
        """All objects are processed but the cycle still runs (references, groups or deprovisioning)."""
        return self.running and self.cycle.processed >= self.cycle.total


def cycle_progress(cycle: Cycle, now: datetime) -> CycleProgress:
    """Percent of processed / total, and an estimated completion from the rate so far.

    A cycle whose objects are all processed may still have deprovisioning or reference pages to send,
    so a running cycle shows at most 99 %: 100 % means done.
    """
    running = cycle.status == CycleStatus.RUNNING
    end = now if running else (cycle.finished_at or now)  # a resumed cycle keeps an old finished_at
    elapsed = max((end - cycle.started_at).total_seconds(), 0.0)
    if cycle.status == CycleStatus.COMPLETED:
        percent = 100
    elif cycle.total and running:
        percent = min(int(cycle.processed * 100 / cycle.total), 99)
    elif cycle.total:  # stopped (quarantined, failed, paused): the share of objects processed, no cap
        percent = min(int(cycle.processed * 100 / cycle.total), 100)
    else:
        percent = 0
    eta = rate = None
    if cycle.processed and elapsed > 0:
        rate = cycle.processed / elapsed * 60
        remaining = max(cycle.total - cycle.processed, 0)
        if running and remaining:
            eta = now + timezone.timedelta(seconds=remaining / (cycle.processed / elapsed))
    stalled = stalls.is_stalled(cycle, now)
    if stalled:
        eta = None  # the rate so far says nothing about a cycle that stopped moving
    return CycleProgress(cycle, percent, running, eta, elapsed, rate, stalled)


def escrow_statistics(job: ProvisioningJob) -> dict[str, dict[str, int]]:
    """Objects provisioned to date, by kind and state (the escrow record, one grouped query)."""
    stats = {kind: {state: 0 for state in EscrowState.values} for kind in ObjectKind.values}
    rows = (
        EscrowEntry.objects.filter(job=job)
        .values_list("object_kind", "state")
        .annotate(n=Count("*"))  # COUNT(*): an index-only scan of escrow_job_state_idx
        .order_by()
    )
    for kind, state, count in rows:
        stats.setdefault(kind, {})[state] = count
    for counts in stats.values():
        counts["total"] = counts.get("active", 0) + counts.get("disabled", 0)
    return stats


def parse_wait(token: str | None) -> tuple[int, float] | None:
    """The "awaiting a new cycle" marker set after Start/Restart: (last cycle pk then, unix time)."""
    if not token:
        return None
    try:
        pk, since = token.split(".", 1)
        return int(pk), float(since)  # "12.1763891234.567": cycle pk 12, then a unix time
    except ValueError:
        return None


def wait_token(job: ProvisioningJob) -> str:
    latest = Cycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0
    return f"{latest}.{time.time():.3f}"


def _awaiting(job: ProvisioningJob, current: Cycle | None, awaited: tuple[int, float] | None) -> bool:
    """After Start/Restart/Allow deletes: no cycle has run to its end since, and the wait is not over.

    A new cycle (pk above the one seen at the click) or a cycle that finished after the click ends
    the wait; so does the time limit, so a portal without a running worker stops polling eventually.
    """
    if not awaited or not job.enabled:
        return False
    last_pk, since = awaited
    if time.time() - since >= WAIT_LIMIT_SECONDS:
        return False
    if current is None:
        return True
    if current.pk > last_pk:
        return False
    return not (current.finished_at and current.finished_at.timestamp() >= since)


def status_context(job: ProvisioningJob, wait: str | None = None) -> dict[str, Any]:
    """Everything the status partial shows, and whether the browser should keep polling."""
    now = timezone.now()
    job.refresh_from_db()
    cycles = Cycle.objects.filter(job=job).order_by("-started_at", "-pk")
    current = cycles.first()
    last_finished = cycles.exclude(status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).first()
    progress = cycle_progress(current, now) if current else None
    running = bool(progress and progress.running)
    waiting = _awaiting(job, current, parse_wait(wait)) and not running
    logs_url = reverse("provisioning:app_logs", args=[job.application_id])
    summary_links = (
        cycle_summary_links(logs_url, last_finished.cycle_id) if last_finished and logs_url else {}
    )
    return {
        "job": job,
        "now": now,
        "current": current,
        "progress": progress,
        "last_cycle": last_finished,
        "last_duration": _duration(last_finished) if last_finished else "",
        "summary_links": summary_links,
        "last_counts": [
            (key, label, getattr(last_finished, key), summary_links.get(key)) for key, label in COUNTERS
        ]
        if last_finished
        else [],
        "current_links": cycle_summary_links(logs_url, current.cycle_id) if current and logs_url else {},
        "statistics": escrow_statistics(job),
        "quarantined": job.state == JobState.QUARANTINE,
        "recommended_action": quarantine.recommended_action(job.quarantine_reason)
        if job.state == JobState.QUARANTINE
        else "",
        "too_many_deletes": job.state == JobState.QUARANTINE
        and job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES,
        "waiting": waiting,
        "polling": running or waiting,
        "wait": wait if waiting else "",
        "logs_url": logs_url,
    }


def _duration(cycle: Cycle) -> str:
    return format_duration(
        (cycle.finished_at - cycle.started_at).total_seconds() if cycle.finished_at else None
    )


def history_context(job: ProvisioningJob) -> dict[str, Any]:
    """The last 30 cycles as a chart (oldest left) and as a table with the same numbers."""
    rows = list(Cycle.objects.filter(job=job).order_by("-started_at", "-pk")[:HISTORY_LENGTH])[::-1]
    points = [
        CyclePoint(
            label=f"{c.get_kind_display()} {date_format(c.started_at, 'DATETIME_FORMAT')}",
            started_at=c.started_at,
            created=c.created,
            updated=c.updated,
            failed=c.failed,
            duration_s=(c.finished_at - c.started_at).total_seconds() if c.finished_at else None,
        )
        for c in rows
    ]
    return {"history_svg": cycle_history_svg(points), "history": list(zip(rows, points, strict=True))[::-1]}


# --- pages -------------------------------------------------------------------------------------------


@require_GET
def overview(request: HttpRequest, app_pk: int) -> HttpResponse:
    job = _job(app_pk)
    if request.htmx and request.GET.get("part") == "history":
        return render(request, f"{PAGE}#history", {"job": job, **history_context(job)})
    application = job.application
    oid = application.service_principal_id
    context = {
        **blade_context(application, "provisioning_overview", _("Provisioning")),
        **status_context(job, request.GET.get("wait")),
        **history_context(job),
        "edit_url": reverse("provisioning:configuration", args=[oid]),
        "on_demand_url": reverse("provisioning:on_demand", args=[oid]),
        "deletions_url": reverse("provisioning:deletions", args=[oid]),
        "configured": job.mode == ProvisioningMode.AUTOMATIC and bool(job.tenant_url),
        "start_refusal": _(refusal.message) if (refusal := control.turn_on_refusal(job)) else "",
        "poll_seconds": POLL_SECONDS,
        "finished_event": FINISHED_EVENT,
    }
    return render(request, PAGE, context)


@require_GET
def progress(request: HttpRequest, app_pk: int) -> HttpResponse:
    """The polled status fragment: 200 while there is something to watch, then 286 (stop polling)."""
    job = _job(app_pk)
    context = {**status_context(job, request.GET.get("wait")), "poll_seconds": POLL_SECONDS}
    if context["polling"]:
        return render(request, f"{PAGE}#status", context)
    response = HttpResponseStopPolling(render_to_string(f"{PAGE}#status", context, request))
    return trigger_client_event(response, FINISHED_EVENT)


def _back(job: ProvisioningJob, token: str = "") -> HttpResponseRedirect:
    """To the overview; with a wait token (taken before the command), it waits for the cycle to show."""
    url = reverse("provisioning:app_overview", args=[job.application_id])
    return HttpResponseRedirect(f"{url}?wait={token}" if token else url)


def _command(
    request: HttpRequest, app_pk: int, command: Callable[..., bool], done: str, otherwise: tuple[int, str]
) -> HttpResponse:
    """Run a control command that may queue a cycle; the overview waits for it only when it did."""
    job = _job(app_pk)
    token = wait_token(job)  # taken before the cycle can exist
    if command(job, actor=request.user):
        messages.success(request, done)
        return _back(job, token)
    messages.add_message(request, *otherwise)
    return _back(job)


@require_POST
def start(request: HttpRequest, app_pk: int) -> HttpResponse:
    job = _job(app_pk)
    token = wait_token(job)  # taken before the cycle can exist
    try:
        control.turn_on(job, actor=request.user)
    except control.TurnOnRefused as refusal:
        messages.error(request, _("Provisioning can't start: %(reason)s") % {"reason": _(refusal.message)})
        return _back(job)
    messages.success(request, _("Provisioning started. The cycle status below updates as it runs."))
    return _back(job, token)


@require_POST
def stop(request: HttpRequest, app_pk: int) -> HttpResponse:
    job = _job(app_pk)
    control.turn_off(job, actor=request.user)
    messages.success(
        request, _("Provisioning stopped. A running cycle pauses and resumes where it left off on Start.")
    )
    return _back(job)


@require_POST
def restart(request: HttpRequest, app_pk: int) -> HttpResponse:
    """Entra's Restart: forget the watermark, failures and quarantine; run a new initial cycle."""
    return _command(
        request,
        app_pk,
        control.reset_job,
        _("Provisioning restarted: a new initial cycle starts shortly."),
        (messages.SUCCESS, _("Provisioning state cleared. Start provisioning to run the initial cycle.")),
    )


@require_POST
def allow_deletes(request: HttpRequest, app_pk: int) -> HttpResponse:
    """TooManyDeletes quarantine: let the staged disables and deletes through, once."""
    return _command(
        request,
        app_pk,
        control.allow_deletes,
        _("Deletes allowed: the staged disables and deletes are being sent."),
        (messages.WARNING, _("Quarantine cleared; there was no stopped cycle with staged deletes.")),
    )
