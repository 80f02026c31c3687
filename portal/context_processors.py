from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.accounts.context import may_open, portal_perms

NAVIGATION = [  # key, label, URL name, Fluent icon
    ("home", _("Home"), "home", "home"),
    ("users", _("Users"), "directory:user_list", "person"),
    ("groups", _("Groups"), "directory:group_list", "people_team"),
    ("applications", _("Enterprise applications"), "applications:app_list", "apps"),
    ("logs", _("Provisioning logs"), "provisioning:log_list", "text_bullet_list"),
    ("audit", _("Audit logs"), "audit_log", "history"),
    ("api", _("API tokens"), "api_tokens:list", "key"),
]


def _nav_items(request: HttpRequest) -> list[dict[str, str]]:
    items = []
    for key, label, name, icon in NAVIGATION:
        if not may_open(request, name):  # the access policy would refuse it: do not offer it
            continue
        items.append({"key": key, "label": label, "url": reverse(name), "icon": icon})
    return items


def navigation(request: HttpRequest) -> dict:
    """The left navigation of the shell (only what the user's roles may open); the current item is the
    longest matching URL prefix. ``perms_portal`` lets templates hide what the user cannot do."""
    items = _nav_items(request)
    path = request.path
    current = max((i for i in items if path.startswith(i["url"])), key=lambda i: len(i["url"]), default=None)
    return {
        "navigation": items,
        "nav_current": current["key"] if current else None,
        "perms_portal": portal_perms(request),
    }
