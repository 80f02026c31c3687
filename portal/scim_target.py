"""A real SCIM 2.0 target: scim2-server's in-memory store served on a socket by werkzeug.

The demo target, the benchmarks and the tests provision into it. Why not the ``scim2-server`` console
script: it serves with wsgiref (HTTP/1.0, listen backlog 5), which stalls at a few concurrent clients.
Here the same WSGI application runs on werkzeug's threaded server (HTTP/1.1 keep-alive) in a background
thread, so the connector is measured, not the server.

``start_scim_server(host, port, token)`` returns a :class:`ScimServerHandle`; ``tenants=True`` serves
one fresh store per URL prefix (``/<tenant>/v2``) and :meth:`ScimServerHandle.tenant` hands out
isolated tenants; ``wrap`` puts WSGI middleware in front (the benchmark counts requests with it).
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scim2_models import (
    Resource,
    ResourceType,
    Schema,
    SchemaExtension,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
)
from scim2_server.applications.wsgi import TenantDispatcher
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "ENTRA_LENIENT_POLICY",
    "FileBackedStorage",
    "ScimServerHandle",
    "ScimTenant",
    "extension_schema",
    "serve_forever",
    "start_scim_server",
]

ENTRA_LENIENT_POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
"""What a target that tolerates Entra's legacy PATCH forms accepts (member removal by value list,
replace of ``emails[type eq "work"].value`` on a user without emails)."""


class FileBackedStorage(InMemoryStorage):
    """scim2-server's in-memory store, saved to a JSON file after every write and loaded at start.

    The demo target keeps its users across restarts, so what the portal recorded as provisioned is
    still there (an empty target after Ctrl-C made the portal's overview and the target disagree).
    Writes are small (a demo directory), so the whole store is rewritten atomically each time.
    """

    def __init__(self, path: Path, provider: ScimProvider) -> None:
        super().__init__()
        self.path = path
        self._scim_provider = provider
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        resources = []
        for item in data.get("resources", []):
            model = self._scim_provider.model_for(item.get("meta", {}).get("resourceType", ""))
            if model is not None:
                resources.append(model.model_validate(item))
        self.resources = resources
        # Versions keep growing across restarts, so an ETag seen before a restart never repeats.
        self.versions = itertools.count(int(data.get("next_version", 1)))

    def _save(self) -> None:
        with self.lock:
            version = next(self.versions)
            self.versions = itertools.count(version)  # peek without consuming
            data = {
                "next_version": version,
                "resources": [resource.model_dump(mode="json") for resource in self.resources],
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, self.path)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.lock:
            created = super().create(resource_type, resource)
            self._save()
            return created

    def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        with self.lock:
            updated = super().update(resource_type, resource, expected_version=expected_version)
            self._save()
            return updated

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            self._save()


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without one log line per request (tests and benchmarks print nothing)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


@dataclass
class ScimTenant:
    """One isolated store: the SCIM base URL to point a target at, plus direct reads for assertions."""

    base_url: str
    token: str | None
    storage: InMemoryStorage

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """The stored resources of one type as SCIM JSON dicts (read straight from the store)."""
        return [
            resource.model_dump()
            for resource in self.storage.resources
            if resource.meta is not None and resource.meta.resource_type == resource_type
        ]

    def users(self) -> list[dict[str, Any]]:
        return self.resources("User")

    def groups(self) -> list[dict[str, Any]]:
        return self.resources("Group")

    def clear(self) -> None:
        """Empty the store (a fresh tenant is usually simpler)."""
        self.storage.resources = []

    def stop(self) -> None:
        """Nothing to stop for a tenant of a shared server; present so tests treat both alike."""


@dataclass
class ScimServerHandle:
    """A running server. Without tenants it is itself the only tenant (``base_url``, ``users()``...)."""

    host: str
    port: int
    token: str | None
    server: BaseWSGIServer
    thread: threading.Thread
    _make_tenant: Callable[[str], ScimTenant | None]
    _default: ScimTenant | None = None
    _tenants: dict[str, ScimTenant] = field(default_factory=dict)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self._only().base_url

    @property
    def storage(self) -> InMemoryStorage:
        return self._only().storage

    def users(self) -> list[dict[str, Any]]:
        return self._only().users()

    def groups(self) -> list[dict[str, Any]]:
        return self._only().groups()

    def tenant(self, name: str | None = None) -> ScimTenant:
        """A tenant with its own empty store (created now, so ``users()`` works before any request)."""
        if self._default is not None:
            raise RuntimeError("this server was started without tenants=True")
        name = name or f"t{next(self._counter)}"
        tenant = self._make_tenant(name)
        if tenant is None:  # pragma: no cover - names are generated valid
            raise ValueError(f"invalid tenant name {name!r}")
        self._tenants[name] = tenant
        return tenant

    def _only(self) -> ScimTenant:
        if self._default is None:
            raise RuntimeError("a multi-tenant server has no single store: use .tenant()")
        return self._default

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()


def extension_schema(urn: str, *attributes: str) -> Schema:
    """A custom User extension schema with string attributes (readWrite, returned by default)."""
    return Schema.model_validate(
        {
            "id": urn,
            "name": urn.split(":")[-3] if urn.count(":") >= 3 else urn,
            "attributes": [
                {
                    "name": name,
                    "type": "string",
                    "multiValued": False,
                    "required": False,
                    "caseExact": False,
                    "mutability": "readWrite",
                    "returned": "default",
                    "uniqueness": "none",
                }
                for name in attributes
            ],
        }
    )


def _provider(
    policy: ScimPolicy | None,
    config: ServiceProviderConfig | None,
    token: str | None,
    user_extensions: list[Schema],
) -> ScimProvider:
    config = config or load_default_service_provider_config()
    if token is not None:
        config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    schemas = [*load_default_schemas().values(), *user_extensions]
    resource_types = load_default_resource_types()
    user_type = resource_types["User"]
    user_type.schema_extensions = [
        *(user_type.schema_extensions or []),
        *(SchemaExtension(schema_=schema.id, required=False) for schema in user_extensions),
    ]
    return ScimProvider.from_discovery(schemas, resource_types.values(), config=config, policy=policy)


def start_scim_server(
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | list[str] | None = "test-token",
    *,
    tenants: bool = False,
    policy: ScimPolicy | None = None,
    service_provider_config: ServiceProviderConfig | dict[str, Any] | None = None,
    user_extensions: list[Schema] | None = None,
    wrap: Callable[[Any], Any] | None = None,
    backlog: int = 128,
    quiet: bool = True,
    store_path: Path | None = None,
) -> ScimServerHandle:
    """Serve scim2-server's WSGI app on ``host:port`` (0 = a free port) in a daemon thread.

    ``token=None`` accepts every request (a list accepts each of its tokens). ``policy`` makes the
    *server* tolerant (e.g. :data:`ENTRA_LENIENT_POLICY`); ``service_provider_config`` changes what it
    advertises; ``user_extensions`` (see :func:`extension_schema`) adds custom User extensions.
    ``backlog`` is the listen queue: the benchmark's bursts need more than werkzeug's default.
    ``quiet=False`` logs one line per request (the demo target shows its traffic).
    ``store_path`` keeps the (single) store in that JSON file across restarts (the demo target).
    """
    tokens = [token] if isinstance(token, str) else list(token or [])
    token = tokens[0] if tokens else None
    if isinstance(service_provider_config, dict):
        service_provider_config = ServiceProviderConfig.model_validate(service_provider_config)
    provider = _provider(policy, service_provider_config, token, user_extensions or [])
    service = ScimService(provider, secret=secrets.token_urlsafe(16))
    storages: dict[str, InMemoryStorage] = {}

    def application(storage: InMemoryStorage) -> BearerTokenApplication:
        return BearerTokenApplication(storage, provider, service=service, bearer_tokens=tokens)

    def tenant_app(name: str) -> BearerTokenApplication | None:
        storage = storages.get(name)
        return application(storage) if storage is not None else None

    wsgi_app: Any
    default_storage: InMemoryStorage | None = None
    if tenants:
        wsgi_app = TenantDispatcher(tenant_app)
    else:
        default_storage = (
            FileBackedStorage(store_path, provider) if store_path is not None else InMemoryStorage()
        )
        wsgi_app = application(default_storage)

    server = make_server(
        host,
        port,
        wrap(wsgi_app) if wrap else wsgi_app,
        threaded=True,
        request_handler=_QuietHandler if quiet else None,
    )
    server.socket.listen(backlog)
    actual_port = server.server_port
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name=f"scim2-server:{actual_port}",
        daemon=True,
    )

    def make_tenant(name: str) -> ScimTenant | None:
        if not TenantDispatcher.is_valid_tenant(name):
            return None
        storage = storages.setdefault(name, InMemoryStorage())
        return ScimTenant(f"http://{host}:{actual_port}/{name}/v2", token, storage)

    handle = ScimServerHandle(host, actual_port, token, server, thread, make_tenant)
    if default_storage is not None:
        handle._default = ScimTenant(f"http://{host}:{actual_port}/v2", token, default_storage)
    thread.start()
    return handle


def serve_forever(host: str, port: int, token: str | None, store_path: Path | None = None) -> None:
    """Serve one store until the process is stopped (the demo target, saved in ``store_path``)."""
    start_scim_server(host, port, token, quiet=False, store_path=store_path).thread.join()
