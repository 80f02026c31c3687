"""Provisioning logs: the tenant-wide page, the per-app page, the detail panel and the downloads.

Thin: the query lives in provisioning.logs.query, the record shape and the streaming in
provisioning.logs.export. One view serves the whole page or, for htmx, only the part it swaps (the
results table, or the detail panel and its tabs); every link also works without JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from portal.applications.models import Application
from portal.applications.views import blade_context
from provisioning.logs import export as log_export
from provisioning.logs import graph
from provisioning.logs.query import ACTION_CHOICES, STATUS_CHOICES, LogFilterForm, app_choices, job_names
from provisioning.logs.retention import retention_days
from provisioning.models import ProvisioningJob, ProvisioningLog

PAGE = "provisioning/logs.html"
APP_PAGE = "provisioning/logs_app.html"
RESULTS = "provisioning/logs_body.html#results"
DETAIL = "provisioning/logs_detail.html"
TABS = [
    ("steps", _("Steps")),
    ("troubleshooting", _("Troubleshooting & Recommendations")),
    ("modified", _("Modified Properties")),
    ("summary", _("Summary")),
]
FORMATS = {"csv", "json"}


def _page_context(request: HttpRequest, form: LogFilterForm, base_url: str) -> dict[str, Any]:
    page = form.page().link(request.GET, base_url)
    names = job_names({row.job_id for row in page.items})
    for row in page.items:
        row.app = names.get(row.job_id, {})
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    if form.fixed_app is not None:
        query["app"] = str(form.fixed_app.pk)
    csv_url = reverse("provisioning:log_download", args=["csv"])
    return {
        "form": form,
        "page": page,
        "filters": form.active_filters(),
        "status_choices": STATUS_CHOICES,
        "action_choices": ACTION_CHOICES,
        "app_choices": app_choices() if form.fixed_app is None else [],
        "selected_status": form.values.get("status") or [],
        "selected_action": form.values.get("action") or [],
        "list_url": base_url,
        "downloads": {
            "csv": _url(csv_url, query),
            "steps": _url(csv_url, query, part="steps"),
            "modified": _url(csv_url, query, part="modified"),
            "json": _url(reverse("provisioning:log_download", args=["json"]), query),
        },
    }


def _url(base: str, query: QueryDict, **extra: str) -> str:
    query = query.copy()
    for key, value in extra.items():
        query[key] = value
    encoded = query.urlencode()
    return f"{base}?{encoded}" if encoded else base


def _render_list(request: HttpRequest, page: str, context: dict[str, Any]) -> HttpResponse:
    if request.htmx and request.htmx.target == "log-results":
        return render(request, RESULTS, context)
    return render(request, page, {**context, "retention_days": retention_days()})


@require_GET
def log_list(request: HttpRequest) -> HttpResponse:
    """Tenant-wide provisioning logs (left navigation), with an Application filter."""
    form = LogFilterForm(request.GET)
    context = {
        **_page_context(request, form, reverse("provisioning:log_list")),
        "breadcrumbs": [(_("Provisioning logs"), None)],
        "app": None,
    }
    return _render_list(request, PAGE, context)


@require_GET
def app_logs(request: HttpRequest, app_pk: int) -> HttpResponse:
    """One app's provisioning logs, inside the app's blade."""
    application = get_object_or_404(Application, pk=app_pk)
    form = LogFilterForm(request.GET, app=application)
    context = {
        **blade_context(application, "logs", _("Provisioning logs")),
        **_page_context(request, form, reverse("provisioning:app_logs", args=[app_pk])),
        "app": application,
    }
    return _render_list(request, APP_PAGE, context)


@require_GET
def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One log record with Entra's four tabs; htmx gets the panel alone (or one tab's body)."""
    log = get_object_or_404(ProvisioningLog, pk=pk)
    tab = request.GET.get("tab", "steps")
    if tab not in dict(TABS):
        tab = "steps"
    job = ProvisioningJob.objects.select_related("application").filter(pk=log.job_id).first()
    exchange = graph.failed_exchange(log)
    body = ((exchange or {}).get("request") or {}).get("body")
    context = {
        "log": log,
        "job": job,
        "tab": tab,
        "tabs": TABS,
        "record": graph.graph_record(log, graph.job_identity(job)),
        "guidance": graph.guidance(log),
        "exchange": exchange,
        "request_body": json.dumps(body, indent=2, sort_keys=True) if body is not None else "",
        "transient": log.error_category in log_export.TRANSIENT_CATEGORIES,
        "detail_url": reverse("provisioning:log_detail", args=[log.pk]),
        "breadcrumbs": [
            (_("Provisioning logs"), reverse("provisioning:log_list")),
            (str(log.change_id), None),
        ],
    }
    if request.htmx:
        return render(request, f"{DETAIL}#panel", context)
    return render(request, DETAIL, context)


@require_GET
def log_download(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """The filtered logs as CSV (three files joined on the change id, ``part=``) or one JSON array."""
    if fmt not in FORMATS:
        raise Http404("Unknown download format")
    form = LogFilterForm(request.GET)
    queryset = form.export_queryset()
    if fmt == "json":
        response = StreamingHttpResponse(log_export.stream_json(queryset), content_type="application/json")
        filename = "ProvisioningLogs.json"
    else:
        part = request.GET.get("part", "logs")
        if part not in log_export.CSV_PARTS:
            raise Http404("Unknown CSV part")
        response = StreamingHttpResponse(
            log_export.stream_csv(queryset, part), content_type="text/csv; charset=utf-8"
        )
        filename = log_export.csv_filename(part)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
