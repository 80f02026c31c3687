"""Stalled cycles and lost work: what the overview, the API job status, an email and /healthz report.

A running cycle is *stalled* when no progress (start, a page saved, resume) was observed for longer than
``PROVISIONING_STALL_AFTER`` seconds. Work is *lost* when a running cycle has pages pending in its
current phase, has made no progress for ``PROVISIONING_LOST_WORK_AFTER`` seconds, and the broker holds
no message that could still run them (nothing queued, and with Redis nothing delivered-but-unacked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from portal.i18n.text import Text
from provisioning.models import Cycle, CyclePage, CycleStatus, NotificationKind, PageStatus
from provisioning.sync.notifications import notify

log = logging.getLogger(__name__)


def stall_after() -> timedelta:
    return timedelta(seconds=settings.PROVISIONING_STALL_AFTER)


def is_stalled(cycle: Cycle, now: datetime | None = None) -> bool:
    return cycle.status == CycleStatus.RUNNING and (now or timezone.now()) - cycle.progress_at > stall_after()


def stalled(now: datetime | None = None) -> QuerySet[Cycle]:
    """Running cycles whose last observed progress is older than the stall threshold."""
    return Cycle.objects.filter(
        status=CycleStatus.RUNNING, progress_at__lt=(now or timezone.now()) - stall_after()
    )


def describe_text(cycle: Cycle) -> Text:
    """One line for people: which cycle, since when, how far it got (translated when rendered)."""
    return Text(
        gettext_noop(
            "No progress since %(since)s UTC: %(processed)s of %(total)s objects processed, "
            "%(pages_done)s of %(pages_total)s pages done (%(phase)s phase)."
        ),
        {
            "since": f"{cycle.progress_at:%Y-%m-%d %H:%M:%S}",
            "processed": cycle.processed,
            "total": cycle.total,
            "pages_done": cycle.pages_done,
            "pages_total": cycle.pages_total,
            "phase": cycle.phase,
        },
    )


def describe(cycle: Cycle) -> str:
    """``describe_text`` in the active language (English in workers and the API)."""
    return describe_text(cycle).render()


def report_stalled(now: datetime | None = None) -> list[Cycle]:
    """Log and email each newly stalled cycle once (beat's schedule tick calls this); returns them."""
    now = now or timezone.now()
    reported = []
    for cycle in stalled(now).filter(stall_reported_at__isnull=True).select_related("job__application"):
        if not Cycle.objects.filter(pk=cycle.pk, stall_reported_at__isnull=True).update(
            stall_reported_at=now
        ):
            continue  # another scheduler got it
        app = cycle.job.application.display_name
        with translation.override("en"):
            kind = str(cycle.get_kind_display())  # the English label is the msgid the email translates
        log.warning("Provisioning of %s is stalled (cycle %s). %s", app, cycle.cycle_id, describe(cycle))
        notify(
            cycle.job,
            NotificationKind.STALLED,
            Text(gettext_noop("Provisioning has stalled")),
            Text(
                gettext_noop(
                    "The cycle %(cycle)s (%(kind)s) is running but has stopped making progress.\n\n"
                    "%(description)s\n\nRecommended action: check that the workers and the broker are "
                    "running (GET /healthz); pages without a worker are queued again automatically."
                ),
                {
                    "cycle": cycle.cycle_id,
                    "kind": Text(kind),
                    "description": describe_text(cycle),
                },
            ),
        )
        reported.append(cycle)
    return reported


@dataclass
class LostWork:
    cycle_id: str
    application: str
    pages: int


def pages_awaiting_messages(now: datetime | None = None) -> list[LostWork]:
    """Running cycles with pending pages in their current phase and no progress for a while (DB only)."""
    since = (now or timezone.now()) - timedelta(seconds=settings.PROVISIONING_LOST_WORK_AFTER)
    rows = (
        CyclePage.objects.filter(
            status=PageStatus.PENDING,
            phase=F("cycle__phase"),
            cycle__status=CycleStatus.RUNNING,
            cycle__progress_at__lt=since,
        )
        .values("cycle__cycle_id", "cycle__job__application__display_name")
        .annotate(pages=Count("id"))
        .order_by()
    )
    return [
        LostWork(str(r["cycle__cycle_id"]), r["cycle__job__application__display_name"], r["pages"])
        for r in rows
    ]
