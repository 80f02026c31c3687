"""The OData query options the API understands: a small ``$filter``, ``$select``, ``$search``, paging.

``$filter`` grammar (the subset scripts use against Graph):

    filter     := clause ("and" clause)*
    clause     := "(" filter ")" | path op literal | "startswith(" path "," string ")"
    op         := eq | ne | gt | ge | lt | le
    literal    := 'text' ('' escapes a quote) | true | false | null | number | GUID | 2024-01-31T12:00:00Z

Each endpoint declares the properties it filters on (``FilterField``): which operators, how the literal
is read, which column it queries. Anything else is a 400 that names ``$filter`` and says what is wrong,
never an unfiltered answer. Paging is keyset (seek): ``@odata.nextLink`` carries the sort key of the
last row in ``$skiptoken``, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import paging
from portal.api.errors import ApiError, bad_request

MAX_FILTER_LENGTH = 2000
MAX_CLAUSES = 20
COMPARISON_OPS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("startswith",)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w:.-]))
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w-]))
  | (?P<name>[A-Za-z_@$][\w.@$]*(?:/[A-Za-z_][\w.]*)*)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)


class ODataError(ValueError):
    """A query option that can't be understood; ``option`` is the parameter name (``$filter``)."""

    def __init__(self, message: str, option: str = "$filter") -> None:
        super().__init__(message)
        self.message = message
        self.option = option

    def as_api_error(self) -> ApiError:
        return bad_request(f"Invalid {self.option}: {self.message}", self.option, code="BadRequest")


@dataclass(frozen=True)
class Literal:
    kind: str  # string | guid | datetime | number | bool | null
    value: Any
    text: str


@dataclass(frozen=True)
class Comparison:
    """``path op value``; ``op`` is one of COMPARISON_OPS or ``startswith``."""

    path: str
    op: str
    value: Literal


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ODataError(f"unexpected character {text[position]!r} at position {position + 1}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError("the expression ends too early")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text != value:
            raise ODataError(f"expected '{value}' but found '{text}'")

    def parse(self) -> list[Comparison]:
        clauses = self.conjunction()
        if self.peek() is not None:
            _, text = self.peek()  # type: ignore[misc]
            if text.lower() == "or":
                raise ODataError("'or' is not supported; send one request per alternative")
            raise ODataError(f"unexpected '{text}'")
        return clauses

    def conjunction(self) -> list[Comparison]:
        clauses = self.clause()
        while (token := self.peek()) is not None and token[1].lower() == "and":
            self.take()
            clauses += self.clause()
        return clauses

    def clause(self) -> list[Comparison]:
        kind, text = self.take()
        if text == "(":
            inner = self.conjunction()
            self.expect(")")
            return inner
        if kind != "name":
            raise ODataError(f"expected a property name but found '{text}'")
        lowered = text.lower()
        if lowered == "not":
            raise ODataError("'not' is not supported")
        following = self.peek()
        if following is not None and following[1] == "(":
            if re.search(r"/(any|all)$", lowered):
                raise ODataError("lambda operators (any, all) are not supported")
            if lowered not in FUNCTIONS:
                raise ODataError(f"the function '{text}' is not supported; use startswith(property, 'text')")
            self.take()
            path = self.take()
            if path[0] != "name":
                raise ODataError(f"startswith needs a property name first, found '{path[1]}'")
            self.expect(",")
            value = self.literal()
            self.expect(")")
            if value.kind != "string":
                raise ODataError("startswith needs a quoted text value, such as 'Ada'")
            return [Comparison(path[1], "startswith", value)]
        _, op = self.take()
        if op.lower() not in COMPARISON_OPS:
            raise ODataError(
                f"expected an operator ({', '.join(COMPARISON_OPS)}) after '{text}', found '{op}'"
            )
        return [Comparison(text, op.lower(), self.literal())]

    def literal(self) -> Literal:
        kind, text = self.take()
        if kind == "string":
            return Literal("string", text[1:-1].replace("''", "'"), text)
        if kind == "guid":
            return Literal("guid", uuid.UUID(text), text)
        if kind == "datetime":
            return Literal("datetime", text, text)
        if kind == "number":
            return Literal("number", text, text)
        if kind == "name" and text.lower() in ("true", "false"):
            return Literal("bool", text.lower() == "true", text)
        if kind == "name" and text.lower() == "null":
            return Literal("null", None, text)
        raise ODataError(f"expected a value but found '{text}' (quote text values: 'like this')")


def parse_filter(text: str | None) -> list[Comparison]:
    """The clauses of a ``$filter`` (all must hold); [] for a blank one. Raises ``ODataError``."""
    if text is None or not text.strip():
        return []
    if len(text) > MAX_FILTER_LENGTH:
        raise ODataError(f"the expression is longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in text:
        raise ODataError("the expression contains a NUL character")
    clauses = _Parser(text).parse()
    if len(clauses) > MAX_CLAUSES:
        raise ODataError(f"at most {MAX_CLAUSES} clauses can be combined")
    return clauses


# --- what a property accepts -----------------------------------------------------------------------


def _as_text(literal: Literal, name: str) -> str:
    if literal.kind == "string":
        return literal.value
    if literal.kind in ("guid", "datetime", "number"):
        return literal.text
    raise ODataError(f"'{name}' is text: quote the value, such as {name} eq 'value'")


def _as_guid(literal: Literal, name: str) -> uuid.UUID:
    if literal.kind == "guid":
        return literal.value
    if literal.kind == "string":
        try:
            return uuid.UUID(literal.value)
        except ValueError:
            pass
    raise ODataError(f"'{name}' is a GUID; '{literal.text}' is not one")


def _as_bool(literal: Literal, name: str) -> bool:
    if literal.kind == "bool":
        return literal.value
    if literal.kind == "string" and literal.value.lower() in ("true", "false"):
        return literal.value.lower() == "true"
    raise ODataError(f"'{name}' is true or false, not {literal.text}")


def _as_datetime(literal: Literal, name: str) -> datetime:
    text = literal.value if literal.kind in ("string", "datetime") else None
    parsed = None
    if text:
        try:
            parsed = parse_datetime(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except (ValueError, OverflowError):
            parsed = None
        if parsed is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                parsed = parse_datetime(f"{text}T00:00:00+00:00")
            except (ValueError, OverflowError):
                parsed = None
    if parsed is None:
        raise ODataError(f"'{name}' is a date and time such as 2024-01-31T00:00:00Z, not {literal.text}")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _as_int(literal: Literal, name: str) -> int:
    if literal.kind == "number" and re.fullmatch(r"-?\d{1,18}", literal.text):
        return int(literal.text)
    raise ODataError(f"'{name}' is a whole number, not {literal.text}")


CONVERTERS: dict[str, Callable[[Literal, str], Any]] = {
    "string": _as_text,
    "guid": _as_guid,
    "bool": _as_bool,
    "datetime": _as_datetime,
    "int": _as_int,
}


@dataclass(frozen=True)
class FilterField:
    """One filterable property: its column (``lookup``), literal kind and allowed operators.

    ``choices`` maps accepted values (lower-cased) to stored values, for enumerations; ``exact`` makes
    text comparisons case-sensitive (ids), otherwise ``eq`` and ``startswith`` ignore case, as Graph does.
    """

    lookup: str
    kind: str = "string"
    ops: tuple[str, ...] = ("eq",)
    choices: dict[str, Any] | None = None
    exact: bool = False
    nullable: bool = False
    convert: Callable[[Any], Any] | None = None  # e.g. a GUID made from a log entry id

    def value(self, comparison: Comparison) -> Any:
        literal = comparison.value
        name = comparison.path
        if literal.kind == "null":
            if not self.nullable or comparison.op not in ("eq", "ne"):
                raise ODataError(f"'{name}' can't be compared with null")
            return None
        value = CONVERTERS[self.kind](literal, name)
        if self.choices is not None:
            key = str(value).lower()
            if key not in self.choices:
                allowed = ", ".join(sorted({str(k) for k in self.choices}))
                raise ODataError(f"'{literal.text}' is not a value of '{name}'; use one of: {allowed}")
            value = self.choices[key]
        if self.convert is not None:
            value = self.convert(value)
        return value


def _check(comparison: Comparison, fields: dict[str, FilterField]) -> FilterField:
    spec = fields.get(comparison.path) or _case_insensitive(fields, comparison.path)
    if spec is None:
        names = ", ".join(sorted(fields)) or "none"
        raise ODataError(f"filtering on '{comparison.path}' is not supported; filterable properties: {names}")
    if comparison.op not in spec.ops:
        ops = ", ".join(spec.ops)
        raise ODataError(f"'{comparison.path}' supports {ops}, not {comparison.op}")
    return spec


def _case_insensitive(fields: dict[str, FilterField], path: str) -> FilterField | None:
    lowered = path.lower()
    for name, spec in fields.items():
        if name.lower() == lowered:
            return spec
    return None


_RANGE = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


def _q(spec: FilterField, comparison: Comparison, value: Any) -> Q:
    op = comparison.op
    if value is None:
        q = Q(**{f"{spec.lookup}__isnull": True}) | Q(**{spec.lookup: ""})
        return ~q if op == "ne" else q
    if isinstance(value, list | tuple | set | frozenset):
        q = Q(**{f"{spec.lookup}__in": list(value)})
        return ~q if op == "ne" else q
    text = spec.kind == "string" and spec.choices is None and not spec.exact
    if op == "startswith":
        return Q(**{f"{spec.lookup}__{'startswith' if spec.exact else 'istartswith'}": value})
    if op in ("eq", "ne"):
        q = Q(**{f"{spec.lookup}__iexact" if text else spec.lookup: value})
        return ~q if op == "ne" else q
    return Q(**{f"{spec.lookup}__{_RANGE[op]}": value})


def filter_queryset(queryset: QuerySet, text: str | None, fields: dict[str, FilterField]) -> QuerySet:
    """``queryset`` narrowed by ``$filter``; a 400 naming ``$filter`` for anything not understood."""
    try:
        for comparison in parse_filter(text):
            spec = _check(comparison, fields)
            queryset = queryset.filter(_q(spec, comparison, spec.value(comparison)))
    except ODataError as error:
        raise error.as_api_error() from None
    return queryset


def filter_objects(items: Iterable[dict[str, Any]], text: str | None, fields: dict[str, FilterField]) -> list:
    """The same ``$filter`` applied to plain dicts (keyed by ``FilterField.lookup``), for in-memory lists."""
    try:
        checks = []
        for comparison in parse_filter(text):
            spec = _check(comparison, fields)
            checks.append((spec, comparison.op, spec.value(comparison)))
    except ODataError as error:
        raise error.as_api_error() from None

    def holds(item: dict[str, Any]) -> bool:
        for spec, op, expected in checks:
            actual = item.get(spec.lookup)
            if isinstance(actual, str) and isinstance(expected, str) and not spec.exact:
                actual, expected = actual.casefold(), expected.casefold()
            if op == "startswith":
                ok = isinstance(actual, str) and actual.startswith(expected)
            elif op in ("eq", "ne"):
                ok = (actual in expected) if isinstance(expected, list) else actual == expected
                ok = ok if op == "eq" else not ok
            else:
                try:
                    ok = {"gt": actual > expected, "ge": actual >= expected, "lt": actual < expected}.get(
                        op, actual <= expected
                    )
                except TypeError:
                    ok = False
            if not ok:
                return False
        return True

    return [item for item in items if holds(item)]


# --- $select, $search ------------------------------------------------------------------------------


def selectable(model: Any) -> list[str]:
    """The properties of a response model that ``$select`` can name (not the ``@odata.*`` annotations)."""
    return [name for name, info in model.model_fields.items() if not (info.alias or "").startswith("@")]


def parse_select(text: str | None, allowed: Iterable[str], type_name: str) -> list[str] | None:
    """The properties ``$select`` names (in the API's spelling), or None when absent."""
    if text is None or not text.strip():
        return None
    known = {name.lower(): name for name in allowed}
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name.lower() not in known:
            raise bad_request(
                f"Could not find a property named '{name[:100]}' on type '{type_name}'. "
                f"Selectable: {', '.join(sorted(known.values()))}.",
                "$select",
                code="BadRequest",
            )
        if known[name.lower()] not in chosen:
            chosen.append(known[name.lower()])
    return chosen or None


def apply_select(item: dict[str, Any], selected: Sequence[str] | None) -> dict[str, Any]:
    if selected is None:
        return item
    return {name: item.get(name) for name in selected}


def parse_search(text: str | None, properties: Sequence[str]) -> list[tuple[str | None, str]]:
    """``$search``: ``"term"`` (any of ``properties``) or ``"property:term"``; quotes are optional.

    Several quoted parts are combined with AND, as Graph does.
    """
    if text is None or not text.strip():
        return []
    if "\x00" in text or len(text) > 500:
        raise bad_request("Invalid $search: the text is too long or contains a NUL character.", "$search")
    parts = re.findall(r'"([^"]*)"', text) or [text]
    terms: list[tuple[str | None, str]] = []
    known = {p.lower(): p for p in properties}
    for part in parts:
        name, sep, term = part.partition(":")
        if sep and name.strip().lower() in known:
            terms.append((known[name.strip().lower()], term.strip()))
        elif sep and re.fullmatch(r"\w+", name.strip()):
            raise bad_request(
                f"Invalid $search: '{name.strip()}' can't be searched; use one of {', '.join(properties)}.",
                "$search",
            )
        else:
            terms.append((None, part.strip()))
    return [(name, term) for name, term in terms if term]


# --- paging -------------------------------------------------------------------------------------------


encode_token = paging.encode_cursor


def decode_token(token: str, kinds: Sequence[str]) -> list[Any]:
    """The sort key a ``$skiptoken`` carries; 400 for one this API did not make."""
    values = paging.decode_cursor(token, kinds)
    if values is None:
        raise bad_request(
            "Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.", "$skiptoken"
        )
    return values


@dataclass
class Page:
    items: list[Any]
    next_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def keyset(
    queryset: QuerySet, field: str, kind: str, top: int, skiptoken: str | None, *, descending: bool = False
) -> Page:
    """``top`` rows in (``field``, pk) order after ``$skiptoken`` (portal.paging); 400 for a forged token."""
    if skiptoken:
        decode_token(skiptoken, ["int"] if field == paging.PK else [kind, "int"])
    page = paging.keyset_page(
        queryset, field, kind, size=top, descending=descending, after=skiptoken, look_back=False
    )
    return Page(page.items, page.next_cursor)


def page_by_pk(queryset: QuerySet, top: int, skiptoken: str | None) -> Page:
    """Rows in primary-key order, ``top`` at a time."""
    return keyset(queryset, paging.PK, "int", top, skiptoken)


def page_newest_first(queryset: QuerySet, time_field: str, top: int, skiptoken: str | None) -> Page:
    """Rows newest first on (``time_field``, pk), ``top`` at a time: the provisioning logs' order."""
    return keyset(queryset, time_field, "datetime", top, skiptoken, descending=True)


def next_link(request: HttpRequest, token: str | None) -> str | None:
    """This request's URL with ``$skiptoken`` replaced, or None on the last page."""
    if token is None:
        return None
    params = [(k, v) for k, values in request.GET.lists() for v in values if k != "$skiptoken"]
    params.append(("$skiptoken", token))
    return request.build_absolute_uri(request.path) + "?" + urlencode(params, safe="$,'()/:")


def context_url(request: HttpRequest, fragment: str) -> str:
    """``@odata.context``: where Graph would describe this payload."""
    return request.build_absolute_uri("/api/beta/$metadata") + f"#{fragment}"


def collection(
    request: HttpRequest,
    fragment: str,
    items: list[dict[str, Any]],
    token: str | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """A list as Graph answers it: ``@odata.context``, ``@odata.count`` (when asked), ``value`` and,
    unless this is the last page, ``@odata.nextLink``."""
    body: dict[str, Any] = {"@odata.context": context_url(request, fragment)}
    if count is not None:
        body["@odata.count"] = count
    body["value"] = items
    if link := next_link(request, token):
        body["@odata.nextLink"] = link
    return body


# --- $orderby, $count (Graph's advanced queries) ------------------------------------------------------

UNSUPPORTED_QUERY = "Request_UnsupportedQuery"


def is_advanced(request: HttpRequest) -> bool:
    """``ConsistencyLevel: eventual`` was sent: Graph's advanced query mode on directory objects."""
    return request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"


def parse_count(text: str | None) -> bool:
    """``$count=true|false`` (absent: false); 400 naming ``$count`` otherwise."""
    if text is None or text.strip().lower() in ("", "false"):
        return False
    if text.strip().lower() == "true":
        return True
    raise bad_request(f"Invalid $count: '{text[:20]}' is not true or false.", "$count", code="BadRequest")


def wants_count(request: HttpRequest, text: str | None) -> bool:
    """Whether to add ``@odata.count``: as Graph, only in an advanced query; without the header the
    option is accepted and ignored (Graph's documented, silent behaviour)."""
    return parse_count(text) and is_advanced(request)


@dataclass(frozen=True)
class OrderField:
    """A sortable property: its column, and whether Graph sorts on it only in advanced queries."""

    lookup: str
    kind: str = "string"  # the $skiptoken kind of the column: string | datetime
    advanced_only: bool = False


def mark_ordering_handled(request: HttpRequest) -> None:
    """This view honoured ``$orderby`` (the API refuses it on every view that does not)."""
    request.graph_orderby_handled = True


def unsupported_ordering() -> ApiError:
    return ApiError(
        400, "Sorting not supported for current query.", code=UNSUPPORTED_QUERY, target="$orderby"
    )


def parse_orderby(
    request: HttpRequest,
    text: str | None,
    fields: dict[str, OrderField],
    type_name: str,
    *,
    filtered: bool = False,
) -> list[tuple[str, OrderField, bool]]:
    """``$orderby=displayName desc`` → ``[(name, field, descending)]``, checked as Graph checks it.

    Graph sorts directory objects on a few properties; some only in an advanced query (header
    ``ConsistencyLevel: eventual`` and ``$count=true``), and ``$filter`` with ``$orderby`` always needs
    one. Anything else is Graph's 400, never an unsorted answer.
    """
    mark_ordering_handled(request)
    if text is None or not text.strip():
        return []
    known = {name.lower(): name for name in fields}
    advanced = is_advanced(request) and parse_count(request.GET.get("$count"))
    order: list[tuple[str, OrderField, bool]] = []
    for raw in text.split(","):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise bad_request(
                f"Invalid $orderby: '{raw.strip()[:100]}' is not 'property', 'property asc' or 'property desc'.",
                "$orderby",
                code="BadRequest",
            )
        name = known.get(parts[0].lower())
        if name is None:
            raise ApiError(
                400,
                f"Unsupported sort property '{parts[0][:100]}' for '{type_name}'. "
                f"Sortable: {', '.join(sorted(fields)) or 'none'}.",
                code=UNSUPPORTED_QUERY,
                target="$orderby",
            )
        spec = fields[name]
        if spec.advanced_only and not advanced:
            raise unsupported_ordering()
        order.append((name, spec, len(parts) == 2 and parts[1].lower() == "desc"))
    if len(order) > 1:
        raise ApiError(
            400,
            "Sorting on more than one property is not supported.",
            code=UNSUPPORTED_QUERY,
            target="$orderby",
        )
    if order and filtered and not advanced:
        raise unsupported_ordering()
    return order


def page_ordered(
    queryset: QuerySet, order: list[tuple[str, OrderField, bool]], top: int, skiptoken: str | None
) -> Page:
    """Rows in ``$orderby`` order (ties by primary key), keyset-paged; primary-key order without one."""
    if not order:
        return page_by_pk(queryset, top, skiptoken)
    [(_, spec, descending)] = order
    key = Lower(spec.lookup) if spec.kind == "string" else F(spec.lookup)
    return keyset(
        queryset.annotate(_sort_key=key), "_sort_key", spec.kind, top, skiptoken, descending=descending
    )


def entity(
    request: HttpRequest, entity_set: str, body: dict[str, Any], selected: Sequence[str] | None = None
) -> dict[str, Any]:
    """A single read as Graph answers it: ``@odata.context`` first (``…$metadata#users/$entity``, or
    ``…#users(id,mail)/$entity`` for a ``$select``)."""
    chosen = f"({','.join(selected)})" if selected else ""
    return {"@odata.context": context_url(request, f"{entity_set}{chosen}/$entity"), **body}
