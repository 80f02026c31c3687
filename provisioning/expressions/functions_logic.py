"""Conditions, null tests, choices and multi-valued helpers: IIF, Switch, Coalesce, CBool, Not, Is*...

Comparisons (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``) are defined here too; they only appear in
IIF and CBool conditions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .dotnet_dates import as_utc, parse_datetime
from .errors import InvalidDateError
from .nodes import LITERALS, Attribute, Call, Keyword, walk
from .registry import Thunk, function, int_params
from .values import IGNORE, first, is_null, is_null_or_empty, parse_number, to_bool, to_int, to_str, to_text


class IgnoreFlow(Exception):
    """Raised by IgnoreFlowIfNullOrEmpty; the evaluator turns it into ``IGNORE`` for the whole mapping."""


# ------------------------------------------------------------------------------------------ comparisons


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _ordered(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "<>":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def compare(op: str, left: Any, right: Any) -> bool:
    """Compare two values the way a VB condition would.

    Numbers compare numerically when the other side reads as a number, Booleans compare with
    ``"True"``/``"False"`` in any case, dates compare with date strings, everything else compares
    as case-sensitive text. Null equals only null and is neither less nor greater than anything.
    """
    left, right = first(left), first(right)
    if left is None or right is None:
        both = left is None and right is None
        return both if op == "=" else (not both if op == "<>" else False)
    if isinstance(left, bool) or isinstance(right, bool):
        lb, rb = _as_bool(left), _as_bool(right)
        if lb is not None and rb is not None:
            return _ordered(op, int(lb), int(rb))
    elif isinstance(left, datetime) or isinstance(right, datetime):
        try:
            ld = as_utc(left if isinstance(left, datetime) else parse_datetime(to_text(left)))
            rd = as_utc(right if isinstance(right, datetime) else parse_datetime(to_text(right)))
            return _ordered(op, ld, rd)
        except InvalidDateError:
            pass
    elif isinstance(left, int | float) or isinstance(right, int | float):
        ln, rn = parse_number(left), parse_number(right)
        if ln is not None and rn is not None:
            return _ordered(op, ln, rn)
    return _ordered(op, to_text(left), to_text(right))


# ------------------------------------------------------------------------------------------------- IIF


def _condition_attributes(condition: Any) -> list[Attribute]:
    return [node for node in walk(condition) if isinstance(node, Attribute)]


def build_iif(call: Call, args: list[Thunk]) -> Thunk:
    condition, if_true, if_false = args
    # Entra: "If the source attribute used within the IIF function is empty or null, the condition
    # check fails" -- the result is null rather than either branch.
    watched = [(node.name, node.name.lower()) for node in _condition_attributes(call.args[0])]

    def iif(ctx: Any) -> Any:
        for name, folded in watched:
            if is_null_or_empty(ctx.lookup(name, folded)):
                return None
        return if_true(ctx) if to_bool(condition(ctx), "IIF") else if_false(ctx)

    return iif


@function("IIF", "condition, valueIfTrue, valueIfFalse", build=build_iif)
def iif() -> None:
    """Returns valueIfTrue or valueIfFalse depending on the condition."""


@function("CBool", "Expression")
def cbool(value: Any) -> bool:
    """True for a non-zero number, "True", or a true comparison."""
    return to_bool(value, "CBool")


@function("Not", "source")
def not_(value: Any) -> bool:
    """False when the source is True (or "True"); True otherwise."""
    value = first(value)
    if isinstance(value, bool):
        return not value
    return not (isinstance(value, str) and value.strip().lower() == "true")


@function("IsNull", "Expression")
def is_null_fn(value: Any) -> bool:
    """True when the value is absent."""
    return is_null(value)


@function("IsNullOrEmpty", "Expression")
def is_null_or_empty_fn(value: Any) -> bool:
    """True when the value is absent or an empty string."""
    return is_null_or_empty(value)


@function("IsPresent", "Expression")
def is_present(value: Any) -> bool:
    """True when the value is neither absent nor empty (the inverse of IsNullOrEmpty)."""
    return not is_null_or_empty(value)


@function("IsString", "Expression")
def is_string(value: Any) -> bool:
    """True when the value is a string."""
    return isinstance(first(value), str)


def build_ignore(call: Call, args: list[Thunk]) -> Thunk:
    (inner,) = args

    def ignore_flow(ctx: Any) -> Any:
        value = inner(ctx)
        if value is IGNORE or is_null_or_empty(value):
            raise IgnoreFlow
        return value

    return ignore_flow


@function("IgnoreFlowIfNullOrEmpty", "expression", build=build_ignore)
def ignore_flow_if_null_or_empty() -> None:
    """Drops the attribute from the flow when the value is null or empty."""


def build_coalesce(call: Call, args: list[Thunk]) -> Thunk:
    def coalesce(ctx: Any) -> Any:
        for arg in args:
            value = arg(ctx)
            if not is_null(value):
                return value
        return None

    return coalesce


@function("Coalesce", "source...", build=build_coalesce)
def coalesce() -> None:
    """The first value that isn't null (the last argument can be a default such as "")."""


def _switch_key(value: Any) -> str:
    return to_text(first(value))  # a null source matches the "" key, as Entra documents


def build_switch(call: Call, args: list[Thunk]) -> Thunk:
    source, default = args[0], args[1]
    keys, values = args[2::2], args[3::2]
    key_nodes = call.args[2::2]
    if all(isinstance(node, LITERALS) and not isinstance(node, Keyword) for node in key_nodes):
        table: dict[str, Thunk] = {}
        for node, value in zip(key_nodes, values, strict=True):
            key = to_text(node.value)
            table.setdefault(key, value)  # the first matching pair wins

        def switch_table(ctx: Any) -> Any:
            chosen = table.get(_switch_key(source(ctx)), default)
            return chosen(ctx)

        return switch_table

    pairs = list(zip(keys, values, strict=True))

    def switch(ctx: Any) -> Any:
        current = _switch_key(source(ctx))
        for key, value in pairs:
            if _switch_key(key(ctx)) == current:
                return value(ctx)
        return default(ctx)

    return switch


@function(
    "Switch",
    "source, defaultValue?, key, value, ...",
    min_args=4,
    max_args=None,
    even_args=True,
    build=build_switch,
)
def switch() -> None:
    """Returns the value paired with the key equal to the source (case-sensitive), else the default."""


# --------------------------------------------------------------------------------- numbers and lists


@function("BitAnd", "value1, value2", checks=int_params("BitAnd", 0, 1))
def bit_and(value1: Any, value2: Any) -> int | None:
    """Bitwise AND of two whole numbers (BitAnd(&HF, &HF7) = 7)."""
    if is_null(value1) or is_null(value2):
        return None
    return to_int(value1, "BitAnd", "value1") & to_int(value2, "BitAnd", "value2")


@function("Count", "attribute")
def count(value: Any) -> int:
    """Number of values in a multi-valued attribute."""
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


@function("Item", "attribute, index", checks=int_params("Item", 1))
def item(value: Any, index: Any) -> Any:
    """The value at a 1-based index of a multi-valued attribute; null when out of range."""
    position = to_int(index, "Item", "index")
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    return values[position - 1] if 1 <= position <= len(values) else None


@function("RemoveDuplicates", "attribute")
def remove_duplicates(value: Any) -> Any:
    """The values of a multi-valued attribute with duplicates removed, first occurrence kept."""
    if not isinstance(value, list):
        return value
    seen: set[Any] = set()
    unique = []
    for element in value:
        key = to_str(element) if not isinstance(element, dict) else repr(sorted(element.items()))
        if key not in seen:
            seen.add(key)
            unique.append(element)
    return unique
