"""Value model and conversions shared by the functions.

Expressions see directory values as ``str``, ``bool``, ``int``/``float``, ``datetime``, lists of
those (multi-valued attributes), dicts (app role assignments) and ``None`` (absent). Entra's engine is
.NET, so conversions follow .NET: booleans print as ``True``/``False``, dates print as
``M/d/yyyy h:mm:ss tt`` in UTC, numbers parse invariantly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from provisioning.messages import Message, gettext_noop

from .errors import ArgumentTypeError


class _Ignore:
    """Sentinel returned by IgnoreFlowIfNullOrEmpty: drop the attribute from this flow entirely."""

    _instance: _Ignore | None = None

    def __new__(cls) -> _Ignore:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IGNORE"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "IGNORE"


IGNORE: Final = _Ignore()

_INTEGER = re.compile(r"\s*[+-]?\d{1,30}\s*\Z")
_DECIMAL = re.compile(r"\s*[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})\s*\Z")
_HEX = re.compile(r"\s*&[Hh]([0-9A-Fa-f]{1,16})\s*\Z")


def is_null(value: Any) -> bool:
    """Entra's null: an absent attribute (``None``) or a multi-valued attribute with no values."""
    return value is None or (isinstance(value, list) and not value)


def is_null_or_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list) and not value)


def first(value: Any) -> Any:
    """A multi-valued value used where one value is expected contributes its first value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def format_datetime_default(value: datetime) -> str:
    """``M/d/yyyy h:mm:ss tt`` in UTC: the shape CDate, DateAdd and Now return in Entra."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {half}"


def to_str(value: Any) -> str | None:
    """.NET ``ToString`` of a single value; ``None`` stays ``None``."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return format_datetime_default(value)
    if isinstance(value, list):
        return to_str(first(value))
    if isinstance(value, dict):
        return to_str(value.get("value") or value.get("displayName"))
    return str(value)


def to_text(value: Any) -> str:
    """Like ``to_str`` but null becomes ``""`` (functions whose documented null result is empty)."""
    text = to_str(value)
    return "" if text is None else text


def parse_number(value: Any) -> int | float | None:
    """A number from a literal, a numeric attribute or numeric text; ``None`` when it isn't one."""
    value = first(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if _INTEGER.match(value):
            return int(value)
        if _DECIMAL.match(value):
            return float(value)
        match = _HEX.match(value)
        if match:
            return int(match.group(1), 16)
    return None


def to_int(value: Any, function: str, parameter: str) -> int:
    """An integer argument (index, length, count...); anything else is a type error."""
    number = parse_number(value)
    if number is None:
        raise ArgumentTypeError(
            Message(
                gettext_noop("%(function)s: %(parameter)s must be a whole number, got %(describe)s"),
                function=function,
                parameter=parameter,
                describe=describe(value),
            )
        )
    if isinstance(number, float):
        if not number.is_integer():
            raise ArgumentTypeError(
                Message(
                    gettext_noop("%(function)s: %(parameter)s must be a whole number, got %(number)s"),
                    function=function,
                    parameter=parameter,
                    number=number,
                )
            )
        number = int(number)
    return number


def to_bool(value: Any, function: str) -> bool:
    """VB ``CBool``: booleans as-is, ``"True"``/``"False"`` in any case, numbers non-zero."""
    value = first(value)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        number = parse_number(value)
        if number is not None:
            return number != 0
    raise ArgumentTypeError(
        Message(
            gettext_noop("%(function)s: cannot convert %(describe)s to a Boolean"),
            function=function,
            describe=describe(value),
        )
    )


def describe(value: Any) -> str:
    """Short, log-safe description of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'"{shown}"'
    if isinstance(value, list):
        return f"a multi-valued attribute with {len(value)} values"
    return to_text(value)
