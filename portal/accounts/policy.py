"""The access policy: for every page (URL name), which capability a read and a write need.

``POLICY`` is checked top to bottom and the first rule whose pattern matches the URL's full name
(``namespace:name``, fnmatch-style) decides. A URL that no rule matches is refused to everyone — a new
page is closed until someone lists it here, and the permission-matrix test fails until then.

GET, HEAD and OPTIONS need the rule's ``read`` capability; every other method needs ``write``. A rule
with ``write=None`` is read-only: any write is refused. ``app_scoped`` rules find the application in the
URL (``object_id`` = its object id, as the blades use) so that app owners are allowed on their own apps.

Not here, on purpose: the Django admin (its own superuser/staff checks) and ``/api/`` (token auth; the
API calls ``roles.has_capability`` itself). Static files never reach the URL resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from portal.accounts.roles import OWNER_CAPABILITIES, Capability, has_capability, owned_application_ids

if TYPE_CHECKING:
    from portal.applications.models import Application

C = Capability
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _log_application(kwargs: dict[str, Any]) -> Application | None:
    """A provisioning log entry's application (``pk`` is the entry's), so owners can open their own."""
    if kwargs.get("pk") is None:
        return resolve_application(kwargs)
    from provisioning.models import ProvisioningLog

    try:
        entry = ProvisioningLog.objects.select_related("job__application").filter(pk=kwargs["pk"]).first()
    except (ValueError, TypeError, ValidationError):
        return None
    return entry.job.application if entry else None


@dataclass(frozen=True)
class Rule:
    """One line of the policy: URL-name pattern → capabilities needed to read and to write."""

    pattern: str
    read: Capability | None = None
    write: Capability | None = None
    public: bool = False  # anyone, signed in or not (sign-in pages, health)
    app_scoped: bool = False  # the URL names an application: its owners are allowed
    owner_list: bool = False  # a list page owners may open when they own at least one app
    why: str = ""
    app_from: Callable[[dict[str, Any]], Application | None] | None = None  # default: resolve_application

    def capability_for(self, method: str) -> Capability | None:
        """The capability the HTTP method needs here; None = nobody may."""
        return self.read if method.upper() in READ_METHODS else self.write


POLICY: tuple[Rule, ...] = (
    # Public: sign-in, sign-out, the Microsoft callback, health checks.
    Rule("login", public=True, why="the sign-in page"),
    Rule("logout", public=True, why="signing out never needs a role"),
    Rule("microsoft_sign_in", public=True, why="starts the Entra ID authorization-code flow"),
    Rule("microsoft_callback", public=True, why="Entra ID redirects here with the code"),
    Rule("healthz", public=True, why="load balancers and the compose healthcheck"),
    Rule("set_language", public=True, why="the header's language picker, also on the sign-in page"),
    # The shell.
    Rule("home", C.PORTAL_ACCESS, why="any admin role or app owner"),
    # Directory: App/Cloud App Admins may read (to assign), only Global Admins change it.
    Rule("directory:*", C.DIRECTORY_READ, C.DIRECTORY_WRITE),
    # Enterprise applications.
    Rule("applications:gallery*", C.APPS_CREATE, C.APPS_CREATE, why="adding an app is not for owners"),
    Rule("applications:app_list", C.APPS_READ, C.APPS_CREATE, owner_list=True),
    Rule("applications:*audit*", C.AUDIT_READ, app_scoped=True, why="an app's own audit log"),
    Rule("applications:*provisioning_log*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("applications:*", C.APPS_READ, C.APPS_WRITE, app_scoped=True),
    # Provisioning logs (before the provisioning blade's catch-all). Writes there (retry, export by
    # POST) are provisioning actions.
    Rule("provisioning:log_*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True, app_from=_log_application),
    Rule("provisioning:logs", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning:logs_*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning:*_log", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning:*_logs", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning:*_logs_*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning:*_log_*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("provisioning_logs:*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    Rule("logs:*", C.LOGS_READ, C.PROVISIONING_WRITE, app_scoped=True),
    # Authorize's return: no app in the URL; the view takes the app from the sign-in this session started
    # (only a user allowed to write the app's credentials can start one).
    Rule(
        "provisioning:oauth_callback", C.PORTAL_ACCESS, why="the application redirects here after Authorize"
    ),
    # The provisioning blade of an app: mode, credentials, mappings, scope, start/stop, cycles.
    Rule("provisioning:*", C.PROVISIONING_READ, C.PROVISIONING_WRITE, app_scoped=True),
    # Audit logs: read-only.
    Rule("audit_log", C.AUDIT_READ),
    Rule("audit_log_*", C.AUDIT_READ),
    Rule("audit:*", C.AUDIT_READ),
    # Personal API tokens (under /api/, which checks sign-in itself); listed here for the navigation.
    Rule("api_tokens:*", C.PORTAL_ACCESS, C.PORTAL_ACCESS, why="a token carries its owner's roles"),
)


def application_for(rule: Rule, kwargs: dict[str, Any]) -> Application | None:
    """The application an app-scoped rule's URL is about (None for other rules)."""
    if not rule.app_scoped:
        return None
    return (rule.app_from or resolve_application)(kwargs)


def rule_for(view_name: str | None) -> Rule | None:
    """The first rule matching a URL's full name, or None (= refused to everyone)."""
    if not view_name:
        return None
    for rule in POLICY:
        if fnmatchcase(view_name, rule.pattern):
            return rule
    return None


def resolve_application(kwargs: dict[str, Any]) -> Application | None:
    """The application a URL of an app-scoped rule is about, from its kwargs.

    ``object_id`` is the app's object id (the blades' URLs), ``app_pk`` its primary key.
    """
    from portal.applications.models import Application

    # Only names that say "application": a bare ``pk`` on a log page is the log entry's, not the app's.
    lookups = (
        ("object_id", "service_principal_id"),
        ("service_principal_id", "service_principal_id"),
        ("app_id", "app_id"),
        ("app_pk", "pk"),
        ("application_id", "pk"),
        ("application_pk", "pk"),
    )
    for kwarg, field in lookups:
        value = kwargs.get(kwarg)
        if value is None:
            continue
        try:
            return Application.objects.filter(**{field: value}).first()
        except (ValueError, TypeError, ValidationError):
            return None
    return None


def is_allowed(user: Any, rule: Rule, method: str, application: Application | None = None) -> bool:
    """May ``user`` use a page governed by ``rule`` with ``method``?

    ``application`` is the app the URL is about (app-scoped rules only); an owner list page, which names
    no app, opens for anyone who owns at least one app.
    """
    if rule.public:
        return True
    capability = rule.capability_for(method)
    if capability is None or not getattr(user, "is_authenticated", False):
        return False
    if has_capability(user, capability, application if rule.app_scoped else None):
        return True
    return rule.owner_list and capability in OWNER_CAPABILITIES and bool(owned_application_ids(user))


def allows_view(
    user: Any, view_name: str, method: str = "GET", application: Application | None = None
) -> bool:
    """The policy's answer for a URL name (for navigation and templates); unlisted names are refused."""
    rule = rule_for(view_name)
    return rule is not None and is_allowed(user, rule, method, application)
