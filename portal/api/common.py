"""Small helpers every router uses: route options, object ids, the list query options, the caller."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from ninja import Query

from portal.api.errors import bad_request
from portal.api.schemas import ERRORS

# Responses: Graph's property names (aliases) and, for $select, only the properties that were set.
DUMP = {"by_alias": True, "exclude_unset": True}
MAX_TOP = 999
DEFAULT_TOP = 100

FILTER_HELP = "OData filter, e.g. displayName eq 'Sales' and startswith(mail, 'a')"
SELECT_HELP = "Comma-separated properties to return, e.g. id,displayName"
TOP_HELP = f"Page size, 1 to {MAX_TOP}"
SKIPTOKEN_HELP = "Opaque: copy it from @odata.nextLink"
ORDERBY_HELP = "Sort, e.g. displayName or displayName desc (where Graph sorts on that property)"
COUNT_HELP = "true: add @odata.count (with the header ConsistencyLevel: eventual, as in Graph)"
SEARCH_HELP = 'Text search, e.g. "displayName:ada" (quotes optional)'
# The query options as route parameters (``select: str | None = SELECT``): declared once, documented alike.
FILTER = Query(None, alias="$filter", description=FILTER_HELP)
SELECT = Query(None, alias="$select", description=SELECT_HELP)
SEARCH = Query(None, alias="$search", description=SEARCH_HELP)
ORDERBY = Query(None, alias="$orderby", description=ORDERBY_HELP)
COUNT = Query(None, alias="$count", description=COUNT_HELP)
TOP = Query(DEFAULT_TOP, alias="$top", ge=1, le=MAX_TOP, description=TOP_HELP)
SKIPTOKEN = Query(None, alias="$skiptoken", description=SKIPTOKEN_HELP)


def responses(success: dict[int, Any], *extra: int) -> dict[int, Any]:
    """A route's documented responses: its success bodies plus Graph errors (400, 401, 403, 404, 409…)."""
    documented = dict(success)
    documented.update(ERRORS)
    for status in extra:
        documented[status] = ERRORS[400]
    return documented


def parse_object_id(raw: str, what: str = "id") -> uuid.UUID:
    """A directory object id from the URL; Graph answers 400 "Invalid object identifier" otherwise."""
    try:
        if "\x00" in raw or len(raw) > 64:
            raise ValueError
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise bad_request(
            f"Invalid object identifier '{raw[:64]}'.", what, code="Request_BadRequest"
        ) from None


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def caller(request: HttpRequest) -> Any:
    """The user the bearer token proved (``Requires`` put it on the request)."""
    return getattr(request, "auth", None) or request.user


def absolute_static(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(static(path))


def iso_duration(minutes: int) -> str:
    """``40`` → ``PT40M``; ``1440`` → ``P1D`` (Graph's schedule.interval)."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    if hours or mins:
        text += "T" + (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return text if text != "P" else "PT0M"
