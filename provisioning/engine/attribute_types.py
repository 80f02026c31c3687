"""Values in the type of their target attribute: the one canonical form sent, stored in escrow and diffed.

Entra's expressions return strings (``Switch([IsSoftDeleted], , "False", "True", ...)`` gives
``"True"``). A target declares ``active`` as a SCIM ``boolean``; a strict one answers 400 to
``"True"``, and an escrow holding ``True`` next to a mapping yielding ``"True"`` would see a change on
every cycle. So every value is converted to its attribute's type before it is compared or sent, and the
escrow keeps that form. Wire variants (string booleans for old apps) are the connector's business.

Types come from the target's ``/Schemas`` where it declares the attribute, else from the app's
attribute list (Entra's ``Boolean``, ``Integer``, ``DateTime``, ``Reference``, ``String``, ``Binary``).
Plain Python: no Django.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from provisioning.expressions import InvalidDateError
from provisioning.expressions.dotnet_dates import parse_datetime

__all__ = [
    "AttributeType",
    "TypeMap",
    "ValueTypeError",
    "canonical",
    "canonical_values",
    "types_from_definitions",
]

Kind = Literal["string", "boolean", "integer", "decimal", "dateTime", "reference", "complex", "binary"]

# Entra's attribute-list types → SCIM types (RFC 7643 §2.3).
_ENTRA_KINDS: dict[str, Kind] = {
    "string": "string",
    "boolean": "boolean",
    "integer": "integer",
    "datetime": "dateTime",
    "reference": "reference",
    "binary": "binary",
    "decimal": "decimal",
    "complex": "complex",
}
_INTEGER = re.compile(r"\s*[+-]?\d{1,19}\s*\Z")
_DECIMAL = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*\Z")


@dataclass(frozen=True)
class AttributeType:
    kind: Kind = "string"
    multi_valued: bool = False

    @classmethod
    def parse(cls, kind: str | None, multi_valued: bool = False) -> AttributeType | None:
        """From an Entra or SCIM type name (case-insensitive); None for a name neither uses."""
        found = _ENTRA_KINDS.get(str(kind or "").lower())
        return cls(found, bool(multi_valued)) if found else None


TypeMap = Callable[[str], "AttributeType | None"]
"""Target attribute path → its type (None when nobody declares it: the value is left as it is)."""


class ValueTypeError(ValueError):
    """A value that can't take its attribute's type (``"abc"`` for an integer): nothing is sent."""

    def __init__(self, attribute: str, value: Any, kind: str) -> None:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        super().__init__(f"'{attribute}' is a {kind} attribute of the application; {shown} is not a {kind}.")
        self.attribute = attribute
        self.kind = kind


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    raise TypeError


def _decimal(value: Any) -> int | float:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    if isinstance(value, str) and _DECIMAL.match(value):
        number = float(value)
        return (
            int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        )
    raise TypeError


def _date_time(value: Any) -> str:
    """RFC 7643 ``dateTime``: ISO 8601 in UTC (``2026-12-06T05:00:00Z``); naive times are taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except InvalidDateError:
            raise TypeError from None
    else:
        raise TypeError
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    text = moment.isoformat().replace("+00:00", "Z")
    return text


def _string(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"  # what Entra's expressions print for a Boolean
    if isinstance(value, int | float):
        return str(value)
    return value  # dicts and lists stay: the target judges them


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "boolean": _boolean,
    "integer": _integer,
    "decimal": _decimal,
    "dateTime": _date_time,
    "reference": lambda v: v if isinstance(v, dict) else str(v),
    "string": _string,
}


def canonical(attribute: str, value: Any, attribute_type: AttributeType | None) -> Any:
    """``value`` in the type of ``attribute``; raises :class:`ValueTypeError` when it can't be.

    Complex and binary values, dicts (``{"value": id}``) and None are left as they are. A multi-valued
    attribute converts each plain entry of a list (dict entries such as roles are left to the target).
    """
    if value is None or attribute_type is None:
        return value
    convert = _CONVERT.get(attribute_type.kind)
    if convert is None:
        return value

    def one(item: Any) -> Any:
        if isinstance(item, dict | list) and attribute_type.kind != "reference":
            return item
        try:
            return convert(item)
        except (TypeError, ValueError, OverflowError):
            raise ValueTypeError(attribute, item, attribute_type.kind) from None

    if isinstance(value, list):
        return type(value)(one(item) for item in value) if _is_plain_list(value) else value
    return one(value)


def _is_plain_list(value: list[Any]) -> bool:
    return type(value) is list  # subclasses (AppRoleList) carry their own meaning


def canonical_values(values: Mapping[str, Any], types: TypeMap) -> dict[str, Any]:
    """Every value of a flat path → value dict converted with :func:`canonical` (first failure raises)."""
    return {path: canonical(path, value, types(path)) for path, value in values.items()}


def types_from_definitions(definitions: Iterable[Mapping[str, Any]]) -> dict[str, AttributeType]:
    """Lower-cased attribute name → type, from an app's attribute list (``{"name", "type", "multiValued"}``)."""
    found: dict[str, AttributeType] = {}
    for definition in definitions:
        parsed = AttributeType.parse(definition.get("type"), bool(definition.get("multiValued", False)))
        name = str(definition.get("name") or "").strip()
        if parsed and name:
            found[name.lower()] = parsed
    return found
