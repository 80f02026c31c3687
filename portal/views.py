from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from portal.health import check_broker, check_cycles, check_database, check_lost_work


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"summary": _home_summary()})


def _home_summary() -> dict[str, int]:
    from portal.directory.models import DirectoryGroup, DirectoryUser

    return {
        "users": DirectoryUser.objects.active().count(),
        "groups": DirectoryGroup.objects.active().count(),
    }


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
