"""Authentication backends: local passwords (can be switched off) and Microsoft Entra ID sessions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def local_accounts_enabled() -> bool:
    """LOCAL_ACCOUNTS_ENABLED: false once everyone signs in with Microsoft."""
    return bool(settings.LOCAL_ACCOUNTS_ENABLED)


class LocalAccountBackend(ModelBackend):
    """Django's username + password, refused altogether when local accounts are turned off.

    It also stops restoring sessions it opened earlier, so turning local accounts off signs out the
    users who had signed in with a password.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not local_accounts_enabled():
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        if not local_accounts_enabled():
            return None
        return super().get_user(user_id)


class EntraIdBackend(ModelBackend):
    """Restores sessions opened by "Sign in with Microsoft"; never accepts a password."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None


ENTRA_BACKEND = f"{EntraIdBackend.__module__}.{EntraIdBackend.__qualname__}"
