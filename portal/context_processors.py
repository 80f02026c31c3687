from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

NAVIGATION = [
    ("home", "Home", "home"),
    ("users", "Users", "directory:user_list"),
    ("groups", "Groups", "directory:group_list"),
    ("applications", "Enterprise applications", "applications:app_list"),
    ("logs", "Provisioning logs", "provisioning:log_list"),
    ("audit", "Audit logs", "audit_log"),
]


def _nav_items() -> list[dict[str, str]]:
    items = []
    for key, label, name in NAVIGATION:
        try:
            items.append({"key": key, "label": label, "url": reverse(name)})
        except NoReverseMatch:  # a section not built yet stays out of the menu
            continue
    return items


def navigation(request: HttpRequest) -> dict:
    """The left navigation of the shell; the current item is the longest matching URL prefix."""
    items = _nav_items()
    path = request.path
    current = max((i for i in items if path.startswith(i["url"])), key=lambda i: len(i["url"]), default=None)
    return {"navigation": items, "nav_current": current["key"] if current else None}
