"""Fixtures for the API tests: portal users per role with personal tokens, and a JSON client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portal.accounts.models import RoleAssignment
from portal.accounts.roles import PortalRole
from portal.api.models import ApiToken
from tests.fixtures.api_client import ApiClient


@pytest.fixture
def make_token(django_user_model) -> Callable[..., str]:
    """``make_token(role)`` → the plain token of a new user holding ``role`` (None: no role)."""
    counter = iter(range(1000))

    def make(
        role: PortalRole | None = PortalRole.GLOBAL_ADMINISTRATOR, *, days: int = 30, user: Any = None
    ) -> str:
        if user is None:
            user = django_user_model.objects.create_user(f"api-user-{next(counter)}-{role or 'none'}")
            if role is not None:
                RoleAssignment.objects.create(user=user, role=role)
        _, plain = ApiToken.issue(user, "test", days)
        return plain

    return make


@pytest.fixture
def admin_token(make_token) -> str:
    return make_token(PortalRole.GLOBAL_ADMINISTRATOR)


@pytest.fixture
def api(client, admin_token) -> ApiClient:
    """A client authenticated as a Global Administrator."""
    return ApiClient(client, admin_token)
