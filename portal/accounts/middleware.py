"""Central enforcement of the access policy: every view is checked here before it runs.

Views do not check roles themselves; the policy table (``policy.POLICY``) says what each URL needs, and
this middleware refuses what a user's roles do not allow — with the 403 page in the shell, an htmx
fragment, or JSON, depending on who asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from portal.accounts.policy import Rule, application_for, is_allowed, rule_for
from portal.accounts.roles import PortalRole, roles_of

log = logging.getLogger(__name__)


def _exempt(request: HttpRequest) -> bool:
    """The Django admin (its own checks) and the API (its own token auth) are not ours to police."""
    match = request.resolver_match
    if match is None:
        return True
    if "admin" in match.app_names:
        return True
    return bool(match.namespaces and match.namespaces[0] == "api") or request.path_info.startswith("/api/")


def forbidden(request: HttpRequest, reason: str = "", *, status: int = 403) -> HttpResponse:
    """The refusal: JSON for API-style callers, a fragment for htmx, else the 403 page in the shell."""
    htmx = bool(getattr(request, "htmx", False))
    wants_json = "application/json" in request.headers.get("Accept", "") and not htmx
    if wants_json:
        return JsonResponse(
            {"error": "forbidden", "detail": reason or "You do not have access."}, status=status
        )
    user = getattr(request, "user", None)
    context = {
        "reason": reason,
        "roles": sorted(r.label for r in roles_of(user))
        if user is not None and user.is_authenticated
        else [],
        "all_roles": [r.label for r in PortalRole],
    }
    if htmx:
        response = TemplateResponse(request, "accounts/_forbidden.html", context, status=status)
        response["HX-Retarget"] = "#main"
        response["HX-Reswap"] = "innerHTML"
        return response
    return TemplateResponse(request, "403.html", context, status=status)


class PortalAccessMiddleware:
    """Look up the resolved URL name in the policy table and refuse what the user may not do.

    Deny by default: an unlisted URL is refused even to Global Administrators (and logged), so a page
    added without a policy line cannot leak.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        if _exempt(request):
            return None
        match = request.resolver_match
        rule: Rule | None = rule_for(match.view_name) if match.url_name else None
        if rule is not None and rule.public:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if rule is None:
            log.warning("Refused %s: no access-policy rule for %r", request.path, match.view_name)
            return forbidden(request, _("This page is not in the portal's access policy yet."))
        application = application_for(rule, view_kwargs)
        request.portal_application = application
        if is_allowed(request.user, rule, request.method, application):
            return None
        needed = rule.capability_for(request.method)
        reason = (
            _("This needs permission to %(description)s (%(needed)s), which your roles do not include.")
            % {"description": needed.description, "needed": needed}
            if needed
            else _("This page cannot be changed.")
        )
        return forbidden(request, reason)
