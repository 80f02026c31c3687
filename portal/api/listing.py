"""The list route of a collection Graph searches, sorts and counts (users, groups, service principals).

Declared once so that ``$filter``, ``$select``, ``$search``, ``$orderby``, ``$count``, ``$top`` and
``$skiptoken`` are checked, applied and documented alike on each; a ``Listing`` says what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router

from portal.api import odata
from portal.api.common import COUNT, FILTER, ORDERBY, SEARCH, SELECT, SKIPTOKEN, TOP


@dataclass(frozen=True)
class Listing:
    entity_set: str  # ``@odata.context``'s fragment: "users"
    type_name: str  # Graph's type: "User" in $orderby errors, microsoft.graph.user in $select's
    schema: type[Any]  # one item's response schema: what $select may name
    filters: dict[str, odata.FilterField]
    order: dict[str, odata.OrderField]
    rows: Callable[[HttpRequest], QuerySet]  # what the caller may list
    search: Callable[[QuerySet, str | None], QuerySet]
    body: Callable[[HttpRequest, Any], dict[str, Any]]

    @property
    def graph_type(self) -> str:
        return f"microsoft.graph.{self.type_name[0].lower()}{self.type_name[1:]}"


def list_route(router: Router, path: str, listing: Listing, **route: Any) -> None:
    """``GET path``: one page of ``listing``'s rows; ``route`` is the operation's documentation and auth."""
    selectable = odata.selectable(listing.schema)

    @router.get(path, **route)
    def list_(
        request: HttpRequest,
        filter_: str | None = FILTER,
        select: str | None = SELECT,
        search: str | None = SEARCH,
        orderby: str | None = ORDERBY,
        count: str | None = COUNT,
        top: int = TOP,
        skiptoken: str | None = SKIPTOKEN,
    ) -> dict[str, Any]:
        selected = odata.parse_select(select, selectable, listing.graph_type)
        order = odata.parse_orderby(
            request, orderby, listing.order, listing.type_name, filtered=bool(filter_)
        )
        rows = odata.filter_queryset(listing.rows(request), filter_, listing.filters)
        rows = listing.search(rows, search)
        page = odata.page_ordered(rows, order, top, skiptoken)
        return odata.collection(
            request,
            listing.entity_set,
            [odata.apply_select(listing.body(request, row), selected) for row in page.items],
            page.next_token,
            rows.count() if odata.wants_count(request, count) else None,
        )
