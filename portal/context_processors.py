from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from portal.accounts.context import may_open, portal_perms

NAVIGATION = [
    ("home", "Home", "home"),
    ("users", "Users", "directory:user_list"),
    ("groups", "Groups", "directory:group_list"),
    ("applications", "Enterprise applications", "applications:app_list"),
    ("logs", "Provisioning logs", "provisioning:log_list"),
    ("audit", "Audit logs", "audit_log"),
    ("api", "API tokens", "api_tokens:list"),
]


def _nav_items(request: HttpRequest) -> list[dict[str, str]]:
    items = []
    for key, label, name in NAVIGATION:
        if not may_open(request, name):  # the access policy would refuse it: do not offer it
            continue
        try:
            items.append({"key": key, "label": label, "url": reverse(name)})
        except NoReverseMatch:  # a section not built yet stays out of the menu
            continue
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
