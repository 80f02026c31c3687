"""Test Connection against real sockets: one test per failure class an admin can meet."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provisioning.connectors.scim import OAuth2ClientCredentials, probe
from tests.fixtures.certificates import write_self_signed
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.scim_server import ScimTenant
from tests.fixtures.stub_server import StubServer

Stub = Callable[[Callable[..., tuple[int, dict[str, str], bytes]]], StubServer]


def check(result: probe.ConnectionTestResult, code: str, *secrets: str) -> None:
    """The code, a non-empty message, and no secret anywhere in what the admin sees."""
    assert result.code == code, (result.code, result.message)
    assert result.ok is (code == "connected")
    assert result.message
    shown = result.message + json.dumps(result.details, default=str)
    for secret in secrets:
        assert secret not in shown


def test_connected_reports_capabilities(scim_server: ScimTenant) -> None:
    result = probe.test_connection(scim_server.base_url + "/?aadOptscim062020", token=scim_server.token)
    check(result, "connected", scim_server.token)
    details = result.details
    assert details["users_query"]["status"] == 200
    assert details["users_query"]["filter"].startswith('userName eq "')
    assert details["flags"] == ["aadOptscim062020"]
    capabilities = details["capabilities"]
    assert capabilities["patch"] and capabilities["bulk"] and capabilities["filter"] and capabilities["etag"]
    assert capabilities["bulk_max_operations"] == 1000 and capabilities["filter_max_results"] == 1000
    assert capabilities["authentication_schemes"] == ["oauthbearertoken"]
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in details["schemas"]
    users = next(rt for rt in details["resource_types"] if rt["name"] == "User")
    assert users["endpoint"] == "/Users"
    assert users["extensions"] == ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert "Bulk (max 1000 operations)" in result.message


def test_wrong_token_is_invalid_token(scim_server: ScimTenant) -> None:
    result = probe.test_connection(scim_server.base_url, token="definitely-wrong-secret")
    check(result, "invalid_token", "definitely-wrong-secret")
    assert "401" in result.message


def test_missing_token_is_invalid_token(scim_server: ScimTenant) -> None:
    check(probe.test_connection(scim_server.base_url), "invalid_token")


def test_closed_port_is_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = probe.test_connection(f"http://127.0.0.1:{port}/scim/v2", token="t0ken-value")
    check(result, "connection_refused", "t0ken-value")
    assert f"127.0.0.1:{port}" in result.message


def test_unknown_host_is_dns_failure() -> None:
    check(probe.test_connection("http://scim.nonexistent.invalid/v2", token="x", timeout=5), "dns_failure")


@pytest.mark.parametrize(
    "url", ["", "not a url", "ftp://example.com/scim", "https://", "https://user:pw@host/scim"]
)
def test_invalid_url(url: str) -> None:
    result = probe.test_connection(url, token="x")
    check(result, "invalid_url", "pw@")


def test_html_page_is_not_scim(stub_server: Stub) -> None:
    stub = stub_server(lambda *_: (200, {"Content-Type": "text/html"}, b"<!doctype html><html>Login</html>"))
    result = probe.test_connection(stub.url + "/scim/v2", token="html-secret")
    check(result, "not_scim", "html-secret")
    assert "HTML page" in result.message


def test_foreign_json_is_not_scim(stub_server: Stub) -> None:
    stub = stub_server(
        lambda *_: (200, {"Content-Type": "application/json"}, b'{"status": "ok", "users": []}')
    )
    result = probe.test_connection(stub.url + "/api", token="x")
    check(result, "not_scim")
    assert "JSON" in result.message


def test_a_target_that_ignores_filters_fails(stub_server: Stub) -> None:
    listing = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "Resources": [
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "admin"}
        ],
    }

    def respond(method: str, path: str, *_: Any) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/v2/Users"):
            return 200, {"Content-Type": "application/scim+json"}, json.dumps(listing).encode()
        return 404, {"Content-Type": "text/html"}, b"<html>no</html>"

    stub = stub_server(respond)
    result = probe.test_connection(stub.url + "/v2", token="x")
    check(result, "filter_ignored")
    assert "ServiceProviderConfig" in result.details["discovery_errors"]


def test_missing_endpoint_is_unexpected_status(scim_server: ScimTenant) -> None:
    result = probe.test_connection(
        scim_server.base_url.replace("/v2", "-missing/v2"), token=scim_server.token
    )
    check(result, "unexpected_status", scim_server.token)
    assert result.details["http_status"] == 404 and "404" in result.message


def test_server_error_is_unexpected_status(scim_server: ScimTenant) -> None:
    with FaultProxy(scim_server.base_url) as proxy:
        proxy.fail_next("error", status=500, body="html")
        result = probe.test_connection(proxy.base_url, token=scim_server.token)
    check(result, "unexpected_status")
    assert result.details["http_status"] == 500


def test_hanging_server_is_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepted by the kernel, never answered
        port = listener.getsockname()[1]
        result = probe.test_connection(f"http://127.0.0.1:{port}/v2", token="x", timeout=0.3)
    check(result, "timeout")
    assert "0.3 s" in result.message


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """HTTPS with a self-signed certificate: the handshake must fail verification."""
    cert_file, key_file = write_self_signed(tmp_path, "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    class Quiet(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            return None

    server = Quiet(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/scim/v2", cert_file
    server.shutdown()
    server.server_close()


def test_self_signed_certificate_is_tls_error(tls_server: tuple[str, Path]) -> None:
    url, certificate = tls_server
    result = probe.test_connection(url, token="tls-secret", timeout=3)
    check(result, "tls_error", "tls-secret")
    assert "certificate" in result.message.lower()
    # Trusting that certificate (a private CA bundle) gets past TLS to the HTTP answer (501 here).
    trusted = probe.test_connection(url, token="tls-secret", timeout=3, verify=str(certificate))
    check(trusted, "unexpected_status", "tls-secret")


def token_endpoint(stub_server: Stub, secret: str, token: str) -> StubServer:
    import base64

    expected = "Basic " + base64.b64encode(f"portal:{secret}".encode()).decode()

    def respond(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if headers.get("authorization") != expected:
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'
        reply = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()

    return stub_server(respond)


def test_oauth_client_credentials(stub_server: Stub, scim_server: ScimTenant) -> None:
    endpoint = token_endpoint(stub_server, "s3cret-value", scim_server.token or "")
    good = OAuth2ClientCredentials(endpoint.url + "/token", "portal", "s3cret-value")
    check(probe.test_connection(scim_server.base_url, oauth=good), "connected", "s3cret-value")
    bad = OAuth2ClientCredentials(endpoint.url + "/token", "portal", "wrong-s3cret")
    result = probe.test_connection(scim_server.base_url, oauth=bad)
    check(result, "invalid_token", "wrong-s3cret", "s3cret-value")
    assert "invalid_client" in result.message


def test_unreachable_token_endpoint(scim_server: ScimTenant) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    oauth = OAuth2ClientCredentials(f"http://127.0.0.1:{port}/token", "portal", "abc-secret")
    result = probe.test_connection(scim_server.base_url, oauth=oauth)
    check(result, "connection_refused", "abc-secret")
    assert result.message.startswith("Token endpoint")
