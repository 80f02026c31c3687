"""Test Connection over real sockets: a scim2-server, a closed port, an HTML page, a silent server, OAuth."""

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.applications import services
from provisioning.models import ProvisioningJob
from provisioning.sync.credentials import Credentials
from tests.fixtures.configuration_form import connection_url, page_url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "test-result"}


@pytest.fixture
def job() -> ProvisioningJob:
    return services.instantiate("taskize-connect", "Taskize Connect").provisioning


def credentials(tenant_url: str, token: str = "", **extra: str) -> dict[str, str]:
    return {"auth_method": "bearer", "tenant_url": tenant_url, "secret_token": token, **extra}


def result_of(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.startswith('<div id="test-result"')
    return html


# --- local servers ---------------------------------------------------------------------------------


class _Serve:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _HtmlPage(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def html_server() -> Iterator[_Serve]:
    serve = _Serve(_HtmlPage)
    yield serve
    serve.stop()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never answers: a hung application."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def token_endpoint(scim_server) -> Iterator[_Serve]:
    """An OAuth 2 token endpoint issuing the SCIM server's bearer token to client portal/cs-good."""
    expected = "Basic " + base64.b64encode(b"portal:cs-good").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") == expected:
                status, body = (
                    200,
                    {"access_token": scim_server.token, "token_type": "Bearer", "expires_in": 3600},
                )
            else:
                status, body = 401, {"error": "invalid_client"}
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    serve = _Serve(Handler)
    yield serve
    serve.stop()


# --- outcomes --------------------------------------------------------------------------------------


def test_connected_to_a_real_scim_server_shows_what_it_supports_and_remembers_the_test(
    signed_in_client,
    job,
    scim_server,
):
    html = result_of(
        signed_in_client.post(
            connection_url(job), credentials(scim_server.base_url, scim_server.token), **HTMX
        )
    )
    assert 'data-code="connected"' in html
    assert "Connection successful" in html
    assert "The application supports: PATCH" in html and "Filtering" in html
    assert "Resource types: User, Group" in html
    assert "These credentials are not saved yet" in html

    job.refresh_from_db()
    assert job.credentials_tested_at is not None
    tested = Credentials(tenant_url=scim_server.base_url, secret_token=scim_server.token)
    assert job.credentials_fingerprint == tested.fingerprint()
    assert scim_server.token not in job.credentials_fingerprint
    assert job.tenant_url == "" and job.secret_token == ""  # testing saves nothing else


def test_wrong_token_says_invalid_token_and_stores_no_fingerprint(signed_in_client, job, scim_server):
    html = result_of(
        signed_in_client.post(connection_url(job), credentials(scim_server.base_url, "wrong-token"), **HTMX)
    )
    assert 'data-code="invalid_token"' in html
    assert "Invalid token" in html and "HTTP 401" in html
    assert "admin rights in the application" in html
    assert "wrong-token" not in html
    job.refresh_from_db()
    assert job.credentials_fingerprint == "" and job.credentials_tested_at is None


def test_closed_port_says_connection_refused(signed_in_client, job, closed_port):
    html = result_of(
        signed_in_client.post(
            connection_url(job), credentials(f"http://127.0.0.1:{closed_port}/scim", "t"), **HTMX
        )
    )
    assert 'data-code="connection_refused"' in html
    assert "Connection refused" in html and f"127.0.0.1:{closed_port}" in html


def test_an_html_page_says_not_scim(signed_in_client, job, html_server):
    html = result_of(
        signed_in_client.post(connection_url(job), credentials(f"{html_server.url}/scim", "t"), **HTMX)
    )
    assert 'data-code="not_scim"' in html
    assert "Not a SCIM endpoint" in html and "HTML page" in html


def test_a_silent_server_times_out(signed_in_client, job, silent_server, settings):
    settings.PROVISIONING_TEST_CONNECTION_TIMEOUT = 0.5
    html = result_of(
        signed_in_client.post(
            connection_url(job), credentials(f"http://127.0.0.1:{silent_server}/scim", "t"), **HTMX
        )
    )
    assert 'data-code="timeout"' in html and "Timed out" in html


def test_an_unresolvable_host_says_host_not_found(signed_in_client, job):
    html = result_of(
        signed_in_client.post(
            connection_url(job), credentials("http://no-such-host.invalid/scim", "t"), **HTMX
        )
    )
    assert 'data-code="dns_failure"' in html and "Host not found" in html


def test_a_bad_url_is_explained_before_any_request(signed_in_client, job):
    html = result_of(
        signed_in_client.post(connection_url(job), credentials("ftp://x.example/scim", "t"), **HTMX)
    )
    assert 'data-code="invalid_input"' in html
    assert "Tenant URL: Enter the tenant URL as an absolute http:// or https:// URL" in html


def test_a_missing_url_is_explained(signed_in_client, job):
    html = result_of(signed_in_client.post(connection_url(job), credentials(""), **HTMX))
    assert "Tenant URL: Enter the tenant URL (the SCIM endpoint of the application)." in html


def test_blank_token_tests_the_stored_one(signed_in_client, job, scim_server):
    job.tenant_url, job.secret_token = scim_server.base_url, scim_server.token
    job.save()
    html = result_of(
        signed_in_client.post(connection_url(job), credentials(scim_server.base_url, ""), **HTMX)
    )
    assert 'data-code="connected"' in html
    assert "You can now turn provisioning On" in html


def test_a_failing_test_of_the_saved_credentials_forgets_the_earlier_pass(signed_in_client, job, closed_port):
    job.tenant_url, job.secret_token = f"http://127.0.0.1:{closed_port}/scim", "t"
    job.credentials_fingerprint = Credentials.from_job(job).fingerprint()
    job.save()
    result_of(signed_in_client.post(connection_url(job), credentials(job.tenant_url), **HTMX))
    job.refresh_from_db()
    assert job.credentials_fingerprint == ""


def test_test_then_save_on_in_one_go(signed_in_client, job, scim_server):
    """The tutorial's flow: type the credentials, Test Connection, set the email, Status On, Save."""
    entered = credentials(scim_server.base_url, scim_server.token)
    result_of(signed_in_client.post(connection_url(job), entered, **HTMX))
    data = {
        **entered,
        "mode": "Automatic",
        "notification_email": "ops@contoso.test",
        "notify_on_failure": "on",
        "prevent_accidental_deletion": "on",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "40",
        "enabled": "on",
    }
    response = signed_in_client.post(page_url(job), data, follow=True)
    assert "Saved. Provisioning is On" in response.content.decode()
    job.refresh_from_db()
    assert job.enabled and job.secret_token == scim_server.token


def test_test_then_change_the_token_then_on_is_refused(signed_in_client, job, scim_server):
    result_of(
        signed_in_client.post(
            connection_url(job), credentials(scim_server.base_url, scim_server.token), **HTMX
        )
    )
    data = {
        **credentials(scim_server.base_url, "another-token"),
        "mode": "Automatic",
        "notification_email": "ops@contoso.test",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "40",
        "enabled": "on",
    }
    html = signed_in_client.post(page_url(job), data).content.decode()
    assert "The admin credentials changed since the last successful Test Connection." in html
    job.refresh_from_db()
    assert not job.enabled


def test_oauth_client_credentials_connect_through_a_token_endpoint(
    signed_in_client, job, scim_server, token_endpoint
):
    data = {
        "auth_method": "oauth2_client_credentials",
        "tenant_url": scim_server.base_url,
        "oauth_token_url": f"{token_endpoint.url}/token",
        "oauth_client_id": "portal",
        "oauth_client_secret": "cs-good",
    }
    html = result_of(signed_in_client.post(connection_url(job), data, **HTMX))
    assert 'data-code="connected"' in html
    job.refresh_from_db()
    assert job.credentials_fingerprint

    html = result_of(
        signed_in_client.post(connection_url(job), {**data, "oauth_client_secret": "cs-bad"}, **HTMX)
    )
    assert 'data-code="invalid_token"' in html and "cs-bad" not in html


def test_without_javascript_the_whole_page_comes_back_with_the_result(signed_in_client, job, scim_server):
    entered = credentials(scim_server.base_url, scim_server.token, notification_email="typed@contoso.test")
    response = signed_in_client.post(connection_url(job), entered)
    html = response.content.decode()
    assert "<html" in html and "Connection successful" in html
    assert 'value="typed@contoso.test"' in html and f'value="{scim_server.base_url}"' in html
    assert scim_server.token not in html


def test_test_connection_only_accepts_post(signed_in_client, job):
    assert signed_in_client.get(connection_url(job)).status_code == 405
