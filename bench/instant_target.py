"""An instant SCIM 2.0 target: answers at once, so a benchmark measures the engine, not the application.

A minimal ASGI application with an in-memory store of Users and Groups. It speaks the SCIM shapes the
connector reads (ListResponse, resources with ``id`` and ``meta``, Bulk responses, 404/409 errors) and
does no schema validation, so its cost per request is a dict lookup and a JSON dump. It keeps what it
is sent (so matching, updates and members behave), counts requests by method (``GET /_stats``) and is
served by :mod:`bench.tiny_http` in a process of its own::

    python -m bench.instant_target [--port 0]    # prints "http://127.0.0.1:PORT/scim/v2" when ready
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from scim2_server.utils import load_default_resource_types, load_default_schemas

PREFIX = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "patch": {"supported": True},
    "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 10_485_760},
    "filter": {"supported": True, "maxResults": 1000},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [
        {"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "Bearer token"}
    ],
}
# `attr eq "value"` terms joined by `or` (what the connector's matching sends); anything else is refused.
_TERM = re.compile(r'\s*([\w.:]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*(?:or\b|$)', re.IGNORECASE)
_MEMBER_FILTER = re.compile(r'members\[value eq "([^"]+)"\]', re.IGNORECASE)


def _discovery() -> dict[str, Any]:
    schemas = [s.model_dump(mode="json", exclude_none=True) for s in load_default_schemas().values()]
    types = [t.model_dump(mode="json", exclude_none=True) for t in load_default_resource_types().values()]
    return {
        "ServiceProviderConfig": CONFIG,
        "Schemas": _listing(schemas),
        "ResourceTypes": _listing(types),
    }


def _listing(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _error(status: int, detail: str, scim_type: str | None = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return status, body


class Store:
    """Users and Groups by id, with the unique key of each (userName, displayName) indexed."""

    KEYS = {"Users": "userName", "Groups": "displayName"}

    def __init__(self) -> None:
        self.base_url = PREFIX  # made absolute once the server knows its port
        self.resources: dict[str, dict[str, dict[str, Any]]] = {"Users": {}, "Groups": {}}
        self.by_key: dict[str, dict[str, str]] = {"Users": {}, "Groups": {}}
        self.ids = itertools.count(1)

    def _key(self, endpoint: str, resource: dict[str, Any]) -> str:
        return str(resource.get(self.KEYS[endpoint], "")).casefold()

    def create(self, endpoint: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = self._key(endpoint, body)
        if key in self.by_key[endpoint]:
            return _error(409, f"{self.KEYS[endpoint]} is already taken", "uniqueness")
        resource_id = f"{next(self.ids):x}"
        now = datetime.now(UTC).isoformat()
        resource = {k: v for k, v in body.items() if k != "id"}
        resource["id"] = resource_id
        resource["meta"] = {
            "resourceType": endpoint[:-1],
            "created": now,
            "lastModified": now,
            "location": f"{self.base_url}/{endpoint}/{resource_id}",
            "version": 'W/"1"',
        }
        if endpoint == "Groups":
            resource["members"] = list(body.get("members") or [])
        self.resources[endpoint][resource_id] = resource
        self.by_key[endpoint][key] = resource_id
        return 201, resource

    def replace(self, endpoint: str, resource_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        current = self.resources[endpoint].get(resource_id)
        if current is None:
            return _error(404, "not found")
        self.by_key[endpoint].pop(self._key(endpoint, current), None)
        resource = {**body, "id": resource_id, "meta": current["meta"]}
        self.resources[endpoint][resource_id] = resource
        self.by_key[endpoint][self._key(endpoint, resource)] = resource_id
        return 200, resource

    def patch(
        self, endpoint: str, resource_id: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        resource = self.resources[endpoint].get(resource_id)
        if resource is None:
            return _error(404, "not found")
        old_key = self._key(endpoint, resource)
        for operation in body.get("Operations") or []:
            self._apply(
                resource, str(operation.get("op", "")).lower(), operation.get("path"), operation.get("value")
            )
        self.by_key[endpoint].pop(old_key, None)
        self.by_key[endpoint][self._key(endpoint, resource)] = resource_id
        return 204, None

    @staticmethod
    def _apply(resource: dict[str, Any], op: str, path: str | None, value: Any) -> None:
        if path is None:
            if isinstance(value, dict):
                resource.update(value)
            return
        if path == "members":
            members = resource.setdefault("members", [])
            if op == "add":
                known = {m.get("value") for m in members}
                members.extend(m for m in value or [] if m.get("value") not in known)
            elif op == "remove":
                gone = {m.get("value") for m in value or []}
                resource["members"] = [m for m in members if m.get("value") not in gone] if gone else []
            else:
                resource["members"] = list(value or [])
            return
        if found := _MEMBER_FILTER.fullmatch(path):
            resource["members"] = [m for m in resource.get("members", []) if m.get("value") != found[1]]
            return
        if op == "remove":
            resource.pop(path, None)
        else:
            resource[path] = value  # dotted and filtered paths are kept as given: nothing reads them back

    def delete(self, endpoint: str, resource_id: str) -> tuple[int, dict[str, Any] | None]:
        resource = self.resources[endpoint].pop(resource_id, None)
        if resource is None:
            return _error(404, "not found")
        self.by_key[endpoint].pop(self._key(endpoint, resource), None)
        return 204, None

    def search(self, endpoint: str, expression: str, excluded: str) -> tuple[int, dict[str, Any]]:
        terms = _TERM.findall(expression)
        if not terms:
            return _error(400, f"unsupported filter: {expression}", "invalidFilter")
        found: dict[str, dict[str, Any]] = {}
        for attribute, value in terms:
            value = value.replace('\\"', '"')
            if attribute.lower() == self.KEYS[endpoint].lower():
                resource_id = self.by_key[endpoint].get(value.casefold())
                if resource_id:
                    found[resource_id] = self.resources[endpoint][resource_id]
            else:
                found.update(
                    (r["id"], r) for r in self.resources[endpoint].values() if str(r.get(attribute)) == value
                )
        resources = list(found.values())
        if "members" in excluded:
            resources = [{k: v for k, v in r.items() if k != "members"} for r in resources]
        return 200, _listing(resources)


class InstantScim:
    """The ASGI application: routes a request to the store, answers JSON, counts requests by method."""

    def __init__(self) -> None:
        self.store = Store()
        self.discovery = _discovery()
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, answer = self.handle(scope["method"], scope["path"], scope.get("query_string", b""), body)
        payload = b"" if answer is None else json.dumps(answer).encode()
        headers = [(b"content-type", b"application/scim+json")] if payload else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def handle(
        self, method: str, path: str, query: bytes, body: bytes
    ) -> tuple[int, dict[str, Any] | list | None]:
        if path == "/_stats":
            return 200, dict(self.counts)
        self.counts[method] += 1
        if not path.startswith(PREFIX):
            return _error(404, "not found")
        parts = [unquote(p) for p in path[len(PREFIX) :].strip("/").split("/") if p]
        document = json.loads(body) if body else {}
        if len(parts) == 1 and parts[0] in self.discovery and method == "GET":
            return 200, self.discovery[parts[0]]
        if parts == ["Bulk"] and method == "POST":
            return 200, self._bulk(document)
        if not parts or parts[0] not in Store.KEYS:
            return _error(404, "not found")
        endpoint = parts[0]
        if len(parts) == 1:
            if method == "POST":
                return self.store.create(endpoint, document)
            if method == "GET":
                params = parse_qs(query.decode())
                expression = (params.get("filter") or [""])[0]
                return self.store.search(endpoint, expression, (params.get("excludedAttributes") or [""])[0])
        elif len(parts) == 2:
            resource_id = parts[1]
            if method == "GET":
                found = self.store.resources[endpoint].get(resource_id)
                return (200, found) if found else _error(404, "not found")
            if method == "PUT":
                return self.store.replace(endpoint, resource_id, document)
            if method == "PATCH":
                return self.store.patch(endpoint, resource_id, document)
            if method == "DELETE":
                return self.store.delete(endpoint, resource_id)
        return _error(405, f"{method} is not supported here")

    def _bulk(self, document: dict[str, Any]) -> dict[str, Any]:
        answers = []
        for operation in document.get("Operations") or []:
            endpoint = str(operation.get("path", "")).strip("/")
            if operation.get("method") == "POST" and endpoint in Store.KEYS:
                status, resource = self.store.create(endpoint, operation.get("data") or {})
            else:
                status, resource = _error(400, "only POST to /Users or /Groups is supported in Bulk")
            answer: dict[str, Any] = {
                "method": "POST",
                "bulkId": operation.get("bulkId"),
                "status": str(status),
            }
            if status == 201:
                answer["location"] = resource["meta"]["location"]
                answer["version"] = resource["meta"]["version"]
            else:
                answer["response"] = resource
            answers.append(answer)
        return {"schemas": [BULK_RESPONSE], "Operations": answers}


def main(argv: list[str] | None = None) -> None:
    from bench.tiny_http import serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    app = InstantScim()

    def ready(port: int) -> None:
        app.store.base_url = f"http://{args.host}:{port}{PREFIX}"
        print(app.store.base_url, flush=True)

    serve(app, args.host, args.port, on_ready=ready)


if __name__ == "__main__":
    main(sys.argv[1:])
