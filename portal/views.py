from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portal.accounts.context import may_open
from portal.accounts.policy import allows_view
from portal.health import check_broker, check_cycles, check_database, check_lost_work


def home(request: HttpRequest) -> HttpResponse:
    """The tenant overview: directory counts, applications with their provisioning status, what needs
    attention (quarantines, failed cycles, failed objects) and the recent cycles, each linking onward."""
    context: dict[str, Any] = {"summary": _home_summary()}
    if may_open(request, "applications:app_list"):
        context.update(_provisioning_overview(request))
    return render(request, "portal/home.html", context)


def _home_summary() -> dict[str, int]:
    from portal.directory.models import DirectoryGroup, DirectoryUser

    return {
        "users": DirectoryUser.objects.active().count(),
        "groups": DirectoryGroup.objects.active().count(),
    }


def _provisioning_overview(request: HttpRequest, limit: int = 10) -> dict[str, Any]:
    from portal.applications.models import Application
    from provisioning.models import Cycle, CycleStatus, JobState, ProvisioningLog

    since = timezone.now() - timedelta(hours=24)
    apps = [
        app
        for app in Application.objects.select_related("provisioning").order_by("display_name")[:50]
        if allows_view(request.user, "applications:overview", "GET", app)
    ]
    job_ids = [app.provisioning.pk for app in apps if hasattr(app, "provisioning")]
    last_cycles: dict[int, Cycle] = {}
    for cycle in Cycle.objects.filter(job_id__in=job_ids).order_by("job_id", "-started_at"):
        last_cycles.setdefault(cycle.job_id, cycle)
    failures = dict(
        ProvisioningLog.objects.filter(job_id__in=job_ids, status="failure", activity_at__gte=since)
        .values_list("job_id")
        .annotate(n=Count("pk"))
        .values_list("job_id", "n")
    )
    rows, attention = [], []
    for app in apps:
        job = getattr(app, "provisioning", None)
        last = last_cycles.get(job.pk) if job else None
        row = {"app": app, "job": job, "last": last, "failures": failures.get(job.pk, 0) if job else 0}
        rows.append(row)
        if job and job.state == JobState.QUARANTINE:
            attention.append({**row, "kind": "quarantine", "reason": job.quarantine_reason})
        elif last and last.status == CycleStatus.FAILED:
            attention.append({**row, "kind": "failed", "reason": last.error})
        elif row["failures"]:
            attention.append({**row, "kind": "objects", "reason": ""})
    recent = (
        Cycle.objects.filter(job_id__in=job_ids).select_related("job__application").order_by("-started_at")
    )
    return {"apps": rows, "attention": attention, "recent_cycles": list(recent[:limit])}


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    if not checks["database"]:
        checks["cycles"] = check_cycles()  # a running cycle with no progress for too long
        checks["pages"] = check_lost_work()  # pending pages that no broker message will run
    down = {name: reason for name, reason in checks.items() if reason}
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {n: (r or "ok") for n, r in checks.items()},
    }
    return JsonResponse(body, status=503 if down else 200)
