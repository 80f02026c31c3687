"""Fixtures for the API tests: portal users per role with personal tokens, and a JSON client."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import RoleAssignment
from portal.accounts.roles import PortalRole
from portal.api.models import ApiToken

BASE = "/api/beta"


@dataclass
class ApiClient:
    """Django's test client speaking JSON with a bearer token; remembers every response it got."""

    client: Client
    token: str | None = None
    seen: list[Any] = field(default_factory=list)

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, **extra: Any
    ) -> Any:
        headers = dict(extra.pop("headers", {}))
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        url = path if path.startswith("/api") else BASE + path
        kwargs: dict[str, Any] = {"headers": headers, **extra}
        if method != "GET":
            kwargs["data"] = (
                b"" if body is None else body if isinstance(body, str | bytes) else json.dumps(body)
            )
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method.lower())(url, **kwargs)
        self.seen.append(response)
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


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


def assert_graph_error(response: Any, status: int, target: str | None = None) -> dict[str, Any]:
    """The response is a Graph-style error with ``status`` (naming ``target`` when given)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    if target is not None:
        assert error.get("target") == target, error
    return error
