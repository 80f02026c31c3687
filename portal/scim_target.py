"""An in-memory SCIM 2.0 target (scim2-server) served by a threaded werkzeug server.

The demo, the benchmarks and the tests provision into it. werkzeug's threaded server is used instead
of the scim2-server CLI's wsgiref server, whose listen backlog of 5 drops connections under load.
"""

import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)
from werkzeug.serving import BaseWSGIServer, make_server


def build_application(token: str | None) -> tuple[BearerTokenApplication, InMemoryStorage]:
    config = load_default_service_provider_config()
    if token:
        config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    storage = InMemoryStorage()
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token] if token else [])
    return app, storage


@dataclass
class ScimTargetServer:
    """A running target: its base URL, its bearer token and direct access to its store."""

    server: BaseWSGIServer
    storage: InMemoryStorage
    token: str | None
    thread: threading.Thread | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v2"

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """The stored resources of one type ("User" or "Group") as SCIM JSON dicts."""
        return [
            r.model_dump(mode="json", by_alias=True)
            for r in list(self.storage.resources)
            if type(r).__name__.split("[")[0] == resource_type
        ]

    def users(self) -> list[dict[str, Any]]:
        return self.resources("User")

    def groups(self) -> list[dict[str, Any]]:
        return self.resources("Group")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread:
            self.thread.join(timeout=5)


def start_scim_target(host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> ScimTargetServer:
    """Start a target in a background thread (port 0 picks a free port)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns test output
    app, storage = build_application(token)
    server = make_server(host, port, app, threaded=True)
    server.socket.listen(128)
    handle = ScimTargetServer(server=server, storage=storage, token=token)
    handle.thread = threading.Thread(target=server.serve_forever, name="scim-target", daemon=True)
    handle.thread.start()
    return handle


def serve_forever(host: str, port: int, token: str | None) -> None:
    app, _storage = build_application(token)
    make_server(host, port, app, threaded=True).serve_forever()
