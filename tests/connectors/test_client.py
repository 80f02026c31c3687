"""Credentials and URL handling: OAuth token caching/refresh against real sockets, tenant URL parsing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from provisioning.connectors.scim import (
    ErrorCategory,
    OAuth2ClientCredentials,
    ScimTarget,
    TargetError,
    parse_tenant_url,
)
from tests.fixtures.clock import FakeClock
from tests.fixtures.stub_server import StubServer

Stub = Callable[[Callable[..., tuple[int, dict[str, str], bytes]]], StubServer]


class TokenIssuer:
    """Issues tok1, tok2, ... to client "portal" with secret "s3cret-value" (Basic or form auth)."""

    def __init__(self, stub_server: Stub, lifetime: int = 300) -> None:
        self.issued = 0
        self.lifetime = lifetime
        self.stub = stub_server(self.respond)

    def respond(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        basic = "Basic " + base64.b64encode(b"portal:s3cret-value").decode()
        posted = form.get("client_id") == "portal" and form.get("client_secret") == "s3cret-value"
        if form.get("grant_type") != "client_credentials" or not (
            headers.get("authorization") == basic or posted
        ):
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'
        self.issued += 1
        reply = {"access_token": f"tok{self.issued}", "token_type": "Bearer", "expires_in": self.lifetime}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()

    @property
    def url(self) -> str:
        return self.stub.url + "/oauth2/token"


def test_token_is_cached_and_refreshed_before_expiry(
    stub_server: Stub, scim_server_factory: Callable[..., Any], clock: FakeClock
) -> None:
    issuer = TokenIssuer(stub_server, lifetime=300)
    server = scim_server_factory(token=["tok1", "tok2"])
    oauth = OAuth2ClientCredentials(issuer.url, "portal", "s3cret-value", refresh_margin=60, clock=clock.now)
    with ScimTarget(server.base_url, oauth=oauth) as target:
        target.find("User", "userName", "a")
        target.find("User", "userName", "b")
        assert issuer.issued == 1
        clock.time += 239  # 1 s before the refresh margin
        target.find("User", "userName", "c")
        assert issuer.issued == 1
        clock.time += 2  # inside the margin: refreshed before it expires
        target.find("User", "userName", "d")
        assert issuer.issued == 2
    assert "s3cret-value" not in repr(oauth)


def test_a_refused_token_is_refreshed_once(
    stub_server: Stub, scim_server_factory: Callable[..., Any]
) -> None:
    issuer = TokenIssuer(stub_server)
    server = scim_server_factory(token="tok2")  # tok1 was revoked
    oauth = OAuth2ClientCredentials(issuer.url, "portal", "s3cret-value", auth_method="client_secret_post")
    with ScimTarget(server.base_url, oauth=oauth) as target:
        created = target.create("User", {"userName": "bjensen"})  # 401 with tok1, then tok2: one user
    assert created.id and issuer.issued == 2 and len(server.users()) == 1


def test_bad_client_secret_is_unauthorized(stub_server: Stub, scim_server: Any) -> None:
    issuer = TokenIssuer(stub_server)
    oauth = OAuth2ClientCredentials(issuer.url, "portal", "wrong-secret-value")
    with ScimTarget(scim_server.base_url, oauth=oauth) as target, pytest.raises(TargetError) as caught:
        target.find("User", "userName", "a")
    error = caught.value
    assert error.category is ErrorCategory.UNAUTHORIZED and error.retry_count == 0
    assert "wrong-secret-value" not in str(error.to_dict())


@pytest.mark.parametrize(
    ("url", "base", "flags"),
    [
        ("https://app.example.com/scim/v2", "https://app.example.com/scim/v2", set()),
        ("  HTTPS://app.example.com/scim/v2/  ", "https://app.example.com/scim/v2", set()),
        (
            "https://app.example.com/scim/v2?aadOptscim062020",
            "https://app.example.com/scim/v2",
            {"aadOptscim062020"},
        ),
        ("http://127.0.0.1:8080/v2", "http://127.0.0.1:8080/v2", set()),
    ],
)
def test_tenant_url(url: str, base: str, flags: set[str]) -> None:
    parsed = parse_tenant_url(url)
    assert parsed.base_url == base and parsed.flags == flags


@pytest.mark.parametrize(
    "url", ["", "app.example.com/scim", "ftp://x/y", "https://:443/x", "https://a:b@h/x", "http://h:99999/"]
)
def test_invalid_tenant_url(url: str) -> None:
    with pytest.raises(ValueError):
        parse_tenant_url(url)
