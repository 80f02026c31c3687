"""Fixtures for the SCIM connector tests.

The scim2-server fixtures live in ``tests/fixtures/scim_server.py`` (a pytest plugin). Until
``tests/conftest.py`` lists ``pytest_plugins = ["tests.fixtures.scim_server"]`` the plugin is loaded from
here (pytest refuses ``pytest_plugins`` in a conftest below the top level; loading an already loaded
plugin again is a no-op, so this keeps working afterwards).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from provisioning.connectors.scim import RetryPolicy, ScimTarget
from tests.fixtures.clock import FakeClock

if TYPE_CHECKING:  # imported by pytest as a plugin below, so that its asserts are rewritten
    from tests.fixtures.scim_server import ScimTenant


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("tests.fixtures.scim_server")


@pytest.fixture
def retry(clock: FakeClock) -> RetryPolicy:
    """Deterministic backoff (jitter fixed at its ceiling) that sleeps on the fake clock."""
    return RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0, sleep=clock.sleep, random=lambda: 1.0)


@pytest.fixture
def make_target(
    scim_server: ScimTenant, retry: RetryPolicy, clock: FakeClock
) -> Iterator[Callable[..., ScimTarget]]:
    """ScimTarget factory pointed at this test's store (override anything: base_url, token, settings)."""
    targets: list[ScimTarget] = []

    def make(base_url: str | None = None, **options: Any) -> ScimTarget:
        options.setdefault("token", scim_server.token)
        options.setdefault("retry", retry)
        options.setdefault("clock", clock.now)
        options.setdefault("timeout", 5)
        target = ScimTarget(base_url or scim_server.base_url, **options)
        targets.append(target)
        return target

    yield make
    for target in targets:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., ScimTarget]) -> ScimTarget:
    return make_target()


Reply = tuple[int, dict[str, str], bytes]


class StubServer:
    """A tiny real HTTP server whose answers come from a function (for non-SCIM peers: HTML pages,
    foreign JSON, token endpoints). ``requests`` records (method, path, headers, body)."""

    def __init__(self, respond: Callable[[str, str, dict[str, str], bytes], Reply]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stub = self
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.requests.append((self.command, self.path, headers, body))
                status, reply_headers, payload = respond(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_server() -> Iterator[Callable[[Callable[[str, str, dict[str, str], bytes], Reply]], StubServer]]:
    started: list[StubServer] = []

    def start(respond: Callable[[str, str, dict[str, str], bytes], Reply]) -> StubServer:
        stub = StubServer(respond)
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.stop()
