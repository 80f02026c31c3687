"""What templates see of the access policy: ``perms_portal`` and the ``{% can %}`` tag's logic."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.accounts.policy import allows_view
from portal.accounts.roles import Capability, has_capability


class PortalPerms:
    """``{% if perms_portal.apps_write %}``: the signed-in user's capabilities, for the application
    of the current page (so an app owner sees the buttons on their own app's pages)."""

    def __init__(self, user: Any, application: Any = None):
        self._user = user
        self._application = application

    def __getitem__(self, name: str) -> bool:
        try:
            capability = Capability(name.replace("_", ".", 1))
        except ValueError:
            raise KeyError(name) from None
        return has_capability(self._user, capability, self._application)

    def __contains__(self, name: str) -> bool:
        try:
            return self[name]
        except KeyError:
            return False


def portal_perms(request: HttpRequest) -> PortalPerms:
    """The ``perms_portal`` object for this request."""
    return PortalPerms(getattr(request, "user", None), getattr(request, "portal_application", None))


def may_open(request: HttpRequest, view_name: str) -> bool:
    """Would the policy let this user GET this URL name (navigation hides what it would refuse)?"""
    user = getattr(request, "user", None)
    return user is not None and allows_view(user, view_name, "GET")
