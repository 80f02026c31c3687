"""Every URL of the site, from the URL resolver, with its arguments filled from real objects.

Shared by the permission matrix and the CSRF test, so a page added anywhere is covered by both without
anyone editing them. Generalises the walker of tests/portal/test_shell.py to URLs with arguments
(path converters and regex groups, at any include level).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full name (``namespace:name``; None when unnamed) and argument names."""

    view_name: str | None
    arguments: tuple[tuple[str, str], ...]  # (name, converter: "uuid", "int", "slug", "str", "path", "regex")
    where: str  # the pattern's text, to name it in failure messages


def _arguments(pattern: Any) -> list[tuple[str, str]]:
    if isinstance(pattern, RoutePattern):
        return [
            (name, type(conv).__name__.removesuffix("Converter").lower())
            for name, conv in pattern.converters.items()
        ]
    if isinstance(pattern, RegexPattern):
        return [(name, "regex") for name in pattern.regex.groupindex]
    return []


def all_routes(resolver: URLResolver | None = None) -> list[Route]:
    """Every URL pattern outside the Django admin and ``/api/`` (which have their own checks)."""

    def walk(res: URLResolver, ns: str, args: list[tuple[str, str]], prefix: str) -> Iterator[Route]:
        for entry in res.url_patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin" or text.startswith("/api/"):
                    continue
                inner_ns = f"{ns}{entry.namespace}:" if entry.namespace else ns
                yield from walk(entry, inner_ns, args + _arguments(entry.pattern), text)
            elif isinstance(entry, URLPattern):
                name = f"{ns}{entry.name}" if entry.name else None
                yield Route(name, tuple(args + _arguments(entry.pattern)), text)

    return list(walk(resolver or get_resolver(), "", [], "/"))


@dataclass
class UrlValues:
    """Values for URL arguments: (view-name pattern, argument) → value, first match wins.

    ``apps`` records which application a value stands for, so a test knows which app a URL is about.
    """

    rules: list[tuple[str, str, Any]] = field(default_factory=list)
    apps: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add(self, pattern: str, argument: str, value: Any, application: Any = None) -> None:
        self.rules.append((pattern, argument, value))
        if application is not None:
            self.apps[(pattern, argument)] = application

    def _value(self, route: Route, argument: str) -> tuple[Any, Any] | None:
        for pattern, name, value in self.rules:
            if name == argument and fnmatchcase(route.view_name or "", pattern):
                return value, self.apps.get((pattern, name))
        return None

    def url(self, route: Route) -> tuple[str, Any, bool]:
        """(URL, the application it is about or None, whether every argument had a real object)."""
        kwargs: dict[str, Any] = {}
        application, real = None, True
        for argument, converter in route.arguments:
            found = self._value(route, argument)
            if found is None:
                real = False
                kwargs[argument] = _placeholder(route, argument, converter, kwargs)
            else:
                kwargs[argument], app = found
                application = application or app
        return reverse(route.view_name, kwargs=kwargs), application, real


def _placeholder(route: Route, argument: str, converter: str, known: dict[str, Any]) -> Any:
    """A well-formed value for an argument no real object was given for (the page will 404)."""
    candidates = {
        "uuid": [uuid.UUID(int=1)],
        "int": [987654],
        "slug": ["no-such-thing"],
        "str": ["no-such-thing"],
        "path": ["no-such-thing"],
    }.get(converter, ["csv", "json", "no-such-thing", "1", str(uuid.UUID(int=1))])
    for candidate in candidates:
        try:
            reverse(route.view_name, kwargs={**known, argument: candidate, **_rest(route, known, argument)})
            return candidate
        except NoReverseMatch:
            continue
    return candidates[0]


def _rest(route: Route, known: dict[str, Any], argument: str) -> dict[str, Any]:
    """Stand-ins for the arguments after ``argument``, so a trial reverse() has all it needs."""
    rest: dict[str, Any] = {}
    seen = False
    for name, converter in route.arguments:
        if name == argument:
            seen = True
            continue
        if seen and name not in known:
            rest[name] = {"uuid": uuid.UUID(int=1), "int": 1}.get(converter, "x")
    return rest
