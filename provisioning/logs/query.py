"""The provisioning logs query: filters and keyset (seek) pagination, as plain querysets.

Why keyset and not OFFSET: the log table grows to millions of rows (one per object per cycle), and
page 2,000 with OFFSET reads 100,000 rows first; a page here is "the next 50 rows after
(activity_at, id)" on an index ending with that order, so every page costs the same. No COUNT over the
table either: the pager only asks "is there a row on the other side?" (one index probe).

Every filter is equality, a prefix or a range, so it stays on an index (see ProvisioningLog.Meta and
migration 0002): identity = source/target id equality or name prefix (lower(...) text_pattern_ops);
app and job id are resolved to job primary keys first so the planner sees constants.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import paging
from portal.applications.models import Application
from provisioning.models import LogAction, LogStatus, ProvisioningJob, ProvisioningLog

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
NAME_FIELDS = ("source_name", "target_name")

DATE_RANGES: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "custom": None,
}
DATE_CHOICES = [
    ("", _("All (retention period)")),
    ("24h", _("Last 24 hours")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("custom", _("Custom range")),
]
STATUS_CHOICES = [(s.value, s.label) for s in LogStatus]
ACTION_CHOICES = [(a.value, a.label) for a in LogAction]

# Columns the list needs: the JSON columns (steps, modified properties) and long texts stay on disk.
LIST_FIELDS = (
    "id",
    "job_id",
    "activity_at",
    "cycle_id",
    "change_id",
    "action",
    "status",
    "object_kind",
    "source_id",
    "source_name",
    "target_id",
    "target_name",
    "error_code",
    "duration_ms",
)


class LogFilterForm(forms.Form):
    """The logs page's query string. A bad value filters nothing out and is reported, never a 500.

    Ids that cannot be valid (a mangled cycle or change id, an unknown app or job id) match nothing:
    showing every log instead would answer a question the admin did not ask.
    """

    date = forms.ChoiceField(required=False, choices=DATE_CHOICES, label=_("Date"))
    start = forms.DateTimeField(required=False, label=_("From (UTC)"))
    end = forms.DateTimeField(required=False, label=_("To (UTC)"))
    status = forms.MultipleChoiceField(required=False, choices=STATUS_CHOICES, label=_("Status"))
    action = forms.MultipleChoiceField(required=False, choices=ACTION_CHOICES, label=_("Action"))
    q = forms.CharField(required=False, max_length=256, label=_("Identity"), strip=True)
    app = forms.IntegerField(required=False, min_value=1, label=_("Application"))
    cycle = forms.UUIDField(required=False, label=_("Cycle ID"))
    change = forms.UUIDField(required=False, label=_("Change ID"))
    job = forms.CharField(required=False, max_length=120, label=_("Job ID"), strip=True)
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    MATCH_NOTHING_ON_ERROR = ("app", "cycle", "change")

    def __init__(self, data: QueryDict | dict | None = None, *, app: Application | None = None) -> None:
        super().__init__(data or {})
        self.fixed_app = app
        if app is not None:
            self.fields["app"].widget = forms.HiddenInput()

    @property
    def values(self) -> dict[str, Any]:
        """The valid values (a form with one bad field still filters by the others)."""
        self.is_valid()
        return self.cleaned_data

    def matches_nothing(self) -> bool:
        self.is_valid()
        return any(name in self.errors for name in self.MATCH_NOTHING_ON_ERROR)

    def app_id(self) -> int | None:
        if self.fixed_app is not None:
            return self.fixed_app.pk
        return self.values.get("app")

    def time_range(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """(from, to) of the date filter; the preset ranges end now, the custom range is as typed."""
        data = self.values
        choice = data.get("date") or ""
        now = now or timezone.now()
        if choice == "custom" or (not choice and (data.get("start") or data.get("end"))):
            return data.get("start"), data.get("end")
        span = DATE_RANGES.get(choice)
        return (now - span, None) if span else (None, None)

    def filter(self, queryset: QuerySet[ProvisioningLog] | None = None) -> QuerySet[ProvisioningLog]:
        """Apply every filter; the result is still unordered and unsliced."""
        queryset = ProvisioningLog.objects.all() if queryset is None else queryset
        if self.matches_nothing():
            return queryset.none()
        data = self.values
        job_ids = _job_ids(self.app_id(), data.get("job") or "")
        if job_ids is not None:
            if not job_ids:
                return queryset.none()
            queryset = (
                queryset.filter(job_id__in=job_ids)
                if len(job_ids) > 1
                else queryset.filter(job_id=job_ids[0])
            )
        start, end = self.time_range()
        if start:
            queryset = queryset.filter(activity_at__gte=start)
        if end:
            queryset = queryset.filter(activity_at__lte=end)
        if data.get("status"):
            queryset = queryset.filter(status__in=data["status"])
        if data.get("action"):
            queryset = queryset.filter(action__in=data["action"])
        if data.get("cycle"):
            queryset = queryset.filter(cycle_id=data["cycle"])
        if data.get("change"):
            queryset = queryset.filter(change_id=data["change"])
        if data.get("q"):
            queryset = identity_filter(queryset, data["q"])
        return queryset

    def page(self, size: int = PAGE_SIZE) -> LogPage:
        data = self.values
        return keyset_page(
            self.filter().only(*LIST_FIELDS), after=data.get("after"), before=data.get("before"), size=size
        )

    def export_queryset(self) -> QuerySet[ProvisioningLog]:
        """What Download sends: the same filters, newest first, no page limit."""
        return self.filter().order_by("-activity_at", "-id")

    def active_filters(self) -> dict[str, Any]:
        """The filters in force, for the "n filters applied" line and tests."""
        data = self.values
        return {
            name: data[name]
            for name in ("date", "start", "end", "status", "action", "q", "app", "cycle", "change", "job")
            if data.get(name)
        }


def _job_ids(app_id: int | None, job_id: str) -> list[int] | None:
    """Job primary keys for the app and/or Graph job id filters; None when neither is set.

    Resolved in a query of its own (a handful of rows) so the log query filters on constants and the
    planner can pick log_job_time_idx.
    """
    if not app_id and not job_id:
        return None
    jobs = ProvisioningJob.objects.all()
    if app_id:
        jobs = jobs.filter(application_id=app_id)
    if job_id:
        jobs = jobs.filter(job_id=job_id)
    return list(jobs.values_list("pk", flat=True))


def identity_filter(queryset: QuerySet[ProvisioningLog], term: str) -> QuerySet[ProvisioningLog]:
    """Entra's Identity filter: the source or target id equals ``term``, or a name starts with it.

    Ids are compared exactly (a UUID is normalised to its lowercase form); names case-insensitively by
    prefix. Each branch is an index (log_source_idx, log_target_idx, two lower(...) prefix indexes), so
    PostgreSQL answers with a BitmapOr, never a scan of the table.
    """
    term = term.strip()
    if not term:
        return queryset
    ids = {term}
    with contextlib.suppress(ValueError):
        ids.add(str(uuid.UUID(term)))
    condition = Q(source_id__in=ids) | Q(target_id__in=ids)
    queryset = queryset.alias(**{f"_lower_{name}": Lower(name) for name in NAME_FIELDS})
    for name in NAME_FIELDS:
        condition |= _prefix(f"_lower_{name}", term.lower())
    return queryset.filter(condition)


def _prefix(alias: str, prefix: str) -> Q:
    """``alias`` starts with ``prefix``: LIKE on PostgreSQL (text_pattern_ops), a range on SQLite.

    SQLite's LIKE never uses an expression index, but ``lower(x) >= p AND lower(x) < successor(p)``
    does, and in binary order it selects exactly the strings that start with ``p``.
    """
    if connection.vendor == "postgresql":
        return Q(**{f"{alias}__startswith": prefix})
    condition = Q(**{f"{alias}__gte": prefix})
    upper = _successor(prefix)
    if upper is not None:
        condition &= Q(**{f"{alias}__lt": upper})
    return condition


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (code point order)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    following = last + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not valid in UTF-8
        following = 0xE000
    return prefix[:-1] + chr(following)


# --- keyset pagination ---------------------------------------------------------------------------------


@dataclass
class LogPage:
    """One page of log rows, newest first, and the cursors to the older and newer neighbours."""

    items: list[ProvisioningLog]
    older_cursor: str | None = None
    newer_cursor: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.older_cursor or self.newer_cursor)

    def link(self, params: QueryDict, base: str = "") -> LogPage:
        """The pager's links: the current query string with only the cursor changed."""
        query = params.copy()
        for key in ("after", "before"):
            query.pop(key, None)
        self.links["first"] = f"{base}?{query.urlencode()}"
        if self.older_cursor:
            query["after"] = self.older_cursor
            self.links["older"] = f"{base}?{query.urlencode()}"
            query.pop("after")
        if self.newer_cursor:
            query["before"] = self.newer_cursor
            self.links["newer"] = f"{base}?{query.urlencode()}"
        return self


def keyset_page(
    queryset: QuerySet[ProvisioningLog],
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> LogPage:
    """The page older than cursor ``after`` (or newer than ``before``), newest first (portal.paging)."""
    page = paging.keyset_page(
        queryset,
        "activity_at",
        "datetime",
        descending=True,
        after=after,
        before=before,
        size=max(1, min(size, MAX_PAGE_SIZE)),
    )
    return LogPage(items=page.items, older_cursor=page.next_cursor, newer_cursor=page.prev_cursor)


# --- small lookups the pages need ------------------------------------------------------------------------


def app_choices() -> list[tuple[str, str]]:
    """Apps that have a provisioning job, for the Application filter (a few rows, not the log table)."""
    apps = Application.objects.filter(provisioning__isnull=False).order_by("display_name", "pk")
    return [
        ("", _("All applications")),
        *((str(pk), name) for pk, name in apps.values_list("pk", "display_name")),
    ]


def job_names(job_ids: set[int]) -> dict[int, dict[str, Any]]:
    """job pk → its app's name, pk and Graph job id, for one page of rows (one small query)."""
    rows = ProvisioningJob.objects.filter(pk__in=job_ids).values_list(
        "pk", "job_id", "application_id", "application__display_name"
    )
    return {pk: {"job_id": jid, "app_pk": app_pk, "app_name": name} for pk, jid, app_pk, name in rows}


def cycle_summary_links(base_url: str, cycle_id: uuid.UUID | str) -> dict[str, str]:
    """Links from a cycle's counters into the logs filtered to the rows each counter counts.

    Follows provisioning.sync.cycles._count: a failure is "failed" whatever the action; "skipped" is an
    action that writes nothing (Skip, Other) that did not fail. (A row with a writing action and a
    skipped status would count as skipped there too; the engine does not log such rows.)
    """
    written = "status=success&status=warning"
    base = f"{base_url}?cycle={cycle_id}"
    links = {
        "created": f"{base}&action=Create&{written}",
        "updated": f"{base}&action=Update&{written}",
        "disabled": f"{base}&action=Disable&{written}",
        "deleted": f"{base}&action=Delete&{written}",
        "failed": f"{base}&status=failure",
        "skipped": f"{base}&action=Skip&action=Other&status=skipped&{written}",
        "all": base,
    }
    return links
