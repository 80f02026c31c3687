"""The Audit logs page: configuration changes, newest first, filtered by date, activity and app.

Paging is by keyset (``at``, ``id``) rather than offset, so page 500 costs what page 1 costs and a
page does not shift while new entries arrive.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal import paging
from portal.applications.models import Application
from portal.audit import Activity
from portal.audit_display import display_changes
from portal.models import AuditEntry

PAGE_SIZE = 50


def _activity_choices() -> list[tuple[str, str]]:
    known = {v for k, v in vars(Activity).items() if k.isupper()}
    known |= set(AuditEntry.objects.values_list("activity", flat=True).distinct())
    return [("", _("All activities")), *((a, gettext(a)) for a in sorted(known))]


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    activity = forms.ChoiceField(
        label=_("Activity"),
        required=False,
        error_messages={"invalid_choice": _("Choose an activity from the list.")},
    )
    app = forms.TypedChoiceField(
        label=_("Application"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose an application from the list.")},
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["activity"].choices = _activity_choices()
        apps = [(str(pk), name) for pk, name in Application.objects.values_list("pk", "display_name")]
        # An app deleted since stays filterable from a link (its entries keep the id).
        raw = self.data.get("app", "")
        if raw.isdigit() and raw not in {pk for pk, _ in apps}:
            apps.append((raw, f"Deleted application (#{raw})"))
        self.fields["app"].choices = [("", _("All applications")), *apps]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filter(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        data = self.cleaned_data
        if data.get("date_from"):
            entries = entries.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to") and data["date_to"] < dt.date.max:
            entries = entries.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        if data.get("activity"):
            entries = entries.filter(activity=data["activity"])
        if data.get("app") is not None:
            entries = entries.filter(application_id=data["app"])
        return entries


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    entries = AuditEntry.objects.all()
    cursor_error = ""
    entries = form.filter(entries) if form.is_valid() else entries.none()
    after = request.GET.get("after", "")
    if after and paging.decode_cursor(after, ["datetime", "int"]) is None:
        cursor_error = "That page link is not valid any more; showing the newest entries."
    keyset = paging.keyset_page(
        entries, "at", "datetime", descending=True, after=after or None, size=PAGE_SIZE, look_back=False
    )
    page = keyset.items
    next_query = ""
    if keyset.next_cursor:
        params = request.GET.copy()
        params["after"] = keyset.next_cursor
        next_query = params.urlencode()
    first_params = request.GET.copy()
    first_params.pop("after", None)
    apps = dict(
        Application.objects.filter(pk__in={e.application_id for e in page}).values_list("pk", "display_name")
    )
    context = {
        "form": form,
        "entries": [
            (entry, apps.get(entry.application_id), display_changes(entry.changes)) for entry in page
        ],
        "next_query": next_query,
        "first_query": first_params.urlencode(),
        "is_first_page": not after,
        "cursor_error": cursor_error,
        "breadcrumbs": [(_("Audit logs"), None)],
    }
    return render(request, "portal/audit_log.html", context)
