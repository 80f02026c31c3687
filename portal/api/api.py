"""The NinjaAPI instance behind ``/api/beta/``: routers, Graph-style errors, docs that work offline.

``api.urls`` differs from ninja's in three ways, all so that nothing under ``/api/beta/`` answers like
a web page: every view is exempt from the portal's sign-in redirect (the API authenticates bearer
tokens itself) and stamps ``request-id``/``client-request-id`` on its response; a 405 becomes a Graph
error; and a catch-all answers unknown paths with a Graph 404 — after retrying without a trailing
slash, since Graph's own samples write ``…/jobs/{jobId}/``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, URLPattern, re_path, resolve
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt
from markdown_it import MarkdownIt
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase

from portal.api import (
    application_templates,
    assignments,
    audit_logs,
    directory,
    service_principals,
    synchronization,
)
from portal.api.errors import client_request_id, error_response, install, request_id

DESCRIPTION = """A Microsoft Graph-shaped API for automating provisioning: the gallery, enterprise
applications, synchronization jobs (credentials, schema, start/pause/restart), the directory, app role
assignments and the provisioning logs.

Authenticate with `Authorization: Bearer <token>`: a personal API token (created on the portal's
**API tokens** page, or with `manage.py api_token`) or, when Microsoft sign-in is configured, an Entra
access token for this portal. Each operation needs a portal role, as the pages do. Errors are Graph's
`{"error": {"code", "message", "innerError"}}`."""


class OfflineDocs(DocsBase):
    """A self-rendered, script-free reference page: no CDN, and it passes the portal's CSP."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        schema = api.get_openapi_schema(path_params=kwargs)
        operations = []
        for path, methods in schema["paths"].items():
            for method, operation in methods.items():
                body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "id": operation.get("operationId", ""),
                        "summary": operation.get("summary", ""),
                        "tag": (operation.get("tags") or ["other"])[0],
                        "parameters": [
                            p for p in operation.get("parameters", []) if p.get("in") in ("query", "path")
                        ],
                        "body": _schema_name(body.get("schema")),
                        "responses": [
                            {"status": status, "schema": _schema_name(_json_schema(response))}
                            for status, response in operation.get("responses", {}).items()
                        ],
                    }
                )
        tags: dict[str, list[dict[str, Any]]] = {}
        for operation in operations:
            tags.setdefault(operation["tag"], []).append(operation)
        context = {
            "api": api,
            "description": render_markdown(DESCRIPTION),
            "tags": tags,
            "openapi_url": self.get_openapi_url(api, kwargs),
            "components": sorted(schema.get("components", {}).get("schemas", {})),
        }
        return render(request, "api/docs.html", context)


def render_markdown(text: str) -> SafeString:
    """CommonMark to HTML with raw HTML disabled (so the output is safe to mark safe)."""
    return mark_safe(MarkdownIt("commonmark", {"html": False}).render(text))


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    return response.get("content", {}).get("application/json", {}).get("schema")


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = schema.get("$ref")
    if ref:
        return ref.rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            if name := _schema_name(option):
                return name
    return schema.get("type", "")


def graph_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an API view: no sign-in redirect, no CSRF (bearer tokens), request ids, Graph 405s."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request_id(request)
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:  # from views outside ninja's handlers (the schema and docs pages)
            response = error_response(request, 404, str(exc) or "Not found.", code="Request_ResourceNotFound")
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            response = error_response(
                request,
                405,
                f"The method {request.method} is not allowed here"
                + (f"; use {allowed}." if allowed else "."),
                code="MethodNotAllowed",
                headers={"Allow": allowed} if allowed else None,
            )
        if (
            response.status_code == 200
            and "$orderby" in request.GET
            and not getattr(request, "graph_orderby_handled", False)
        ):  # a collection that can't be sorted answers as Graph does, never in an order it did not ask for
            response = error_response(
                request,
                400,
                "Sorting not supported for current query.",
                code="Request_UnsupportedQuery",
                target="$orderby",
            )
        if response.status_code == 204 and "Content-Type" in response:
            del response["Content-Type"]  # no content, so no content type
        response["request-id"] = request_id(request)
        response["client-request-id"] = client_request_id(request)
        response.setdefault("Cache-Control", "no-store")
        return response

    return login_not_required(csrf_exempt(wrapped))


@graph_view
def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Retry without a trailing slash; otherwise Graph's answer to a segment it does not know."""
    path = request.path_info
    if path.endswith("/") and path.count("/") > 3:
        try:
            match = resolve(path.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.url_name != "unknown-path":
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
    segment = path.rstrip("/").rsplit("/", 1)[-1][:100]
    return error_response(
        request,
        404,
        f"Resource not found for the segment '{segment}'. See /api/beta/docs for the operations.",
        code="Request_ResourceNotFound",
    )


def service_root(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``GET /api/beta/``: Graph's service document, the entity sets this API serves."""
    sets = ["applicationTemplates", "servicePrincipals", "users", "groups", "auditLogs/provisioning"]
    return JsonResponse(
        {
            "@odata.context": request.build_absolute_uri("/api/beta/$metadata"),
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in sets],
        }
    )


class GraphAPI(NinjaAPI):
    """NinjaAPI whose URLs answer like Graph whatever happens (see the module docstring)."""

    @property
    def urls(self) -> tuple[list[Any], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":
                    pattern.callback = service_root
                pattern.callback = graph_view(pattern.callback)
        patterns.append(re_path(r"^.*$", unknown_path, name="unknown-path"))
        return patterns, app_name, namespace


api = GraphAPI(
    title="Provisioning portal — Graph-style API",
    version="beta",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs=OfflineDocs(),
    docs_url="/docs",
)
install(api)
for module in (
    application_templates,
    service_principals,
    synchronization,
    assignments,
    directory,
    audit_logs,
):
    api.add_router("/", module.router)
