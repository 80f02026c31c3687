"""Attribute scoping filters: which source objects are in scope for provisioning.

A filter is a group of clauses that must all hold (AND); an object is in scope when any filter holds
(OR); with no filters everything is in scope. Operators and their quirks follow Entra's scoping
doc: string comparisons are case-sensitive, the integer operators need integers on both sides, and
every operator except IS NULL is false for a null or empty value. Multi-valued attributes are not
supported by Entra; here they only satisfy IS NOT NULL. Pure Python: no Django imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioning.expressions import dotnet_regex
from provisioning.expressions.budget import ExpressionBudgetError
from provisioning.expressions.dotnet_regex import compile_regex
from provisioning.expressions.errors import InvalidRegexError
from provisioning.expressions.values import to_str

UNARY_OPERATORS = ("IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL")
INTEGER_OPERATORS = ("Greater_Than", "Greater_Than_OR_EQUALS", "Less_Than", "Less_Than_OR_EQUALS")
REGEX_OPERATORS = ("REGEX MATCH", "NOT REGEX MATCH")
OPERATORS = (
    "&",
    "!&",
    "ENDS_WITH",
    "EQUALS",
    "NOT EQUALS",
    *INTEGER_OPERATORS,
    "Includes",
    *UNARY_OPERATORS,
    *REGEX_OPERATORS,
)
UNSUPPORTED_ATTRIBUTES = frozenset({"approleassignments", "manager", "members", "ismemberof"})
_INTEGER = re.compile(r"[+-]?\d{1,30}\Z")


def _fold(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).upper()


_CANONICAL = {_fold(name): name for name in OPERATORS}


def canonical_operator(name: str) -> str | None:
    """``"is not null"``, ``"IS_NOT_NULL"``, ``"IsNotNull"`` -> ``"IS NOT NULL"``; None if unknown."""
    return _CANONICAL.get(_fold(name or ""))


class ScopingError(Exception):
    """A clause that can't be evaluated (unknown operator, invalid regex). Scoping stops rather than
    silently treating everyone as out of scope, which would deprovision them."""


@dataclass(frozen=True)
class ScopingClause:
    """Attribute Name + Operator + Attribute Value, as in the portal's scoping filter editor."""

    attribute: str
    operator: str
    value: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopingClause:
        operator = str(data.get("operator") or "")
        value = data.get("value")
        return cls(
            attribute=str(data.get("attribute") or ""),
            operator=canonical_operator(operator) or operator,
            value=None if value is None else str(value),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "operator": self.operator, "value": self.value}

    def matches(self, source: Mapping[str, Any]) -> bool:
        """Whether this clause holds for one source object."""
        operator = self.operator if self.operator in _PREDICATES else canonical_operator(self.operator)
        if operator is None:
            raise ScopingError(f"Unknown scoping operator '{self.operator}'")
        value = _lookup(source, self.attribute)
        if value is None or value == "" or (isinstance(value, list | tuple) and not value):
            return operator == "IS NULL"
        if isinstance(value, list | tuple):
            return operator == "IS NOT NULL"  # multi-valued attributes aren't supported by scoping
        return _PREDICATES[operator](value, self.value or "")


@dataclass(frozen=True)
class ScopingFilter:
    """One titled filter: its clauses are ANDed."""

    clauses: tuple[ScopingClause, ...]
    title: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScopingFilter:
        return cls(
            clauses=tuple(ScopingClause.from_dict(c) for c in data.get("clauses") or ()),
            title=str(data.get("title") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "clauses": [c.to_dict() for c in self.clauses]}

    def __iter__(self):
        return iter(self.clauses)


Filters = Sequence[ScopingFilter | Sequence[ScopingClause]]


def in_scope(filters: Filters, source: Mapping[str, Any]) -> bool:
    """True when there are no filters or when every clause of at least one filter holds."""
    if not filters:
        return True
    return any(all(clause.matches(source) for clause in group) for group in filters)


def validate_clause(clause: ScopingClause) -> list[str]:
    """Problems an admin must fix before the clause can be saved (empty list when it is fine)."""
    errors: list[str] = []
    if not clause.attribute.strip():
        errors.append("Attribute name is required")
    elif clause.attribute.strip().lower() in UNSUPPORTED_ATTRIBUTES:
        errors.append(f"'{clause.attribute}' can't be used in a scoping filter")
    operator = canonical_operator(clause.operator)
    if operator is None:
        errors.append(f"Unknown operator '{clause.operator}'; use one of: {', '.join(OPERATORS)}")
        return errors
    if operator in UNARY_OPERATORS:
        return errors
    if clause.value is None or clause.value == "":
        errors.append(f"{operator} needs an attribute value")
        return errors
    if operator in INTEGER_OPERATORS and not _INTEGER.match(clause.value.strip()):
        errors.append(f"{operator} compares integers; '{clause.value}' is not an integer")
    if operator in REGEX_OPERATORS:
        try:
            compile_regex(clause.value)
        except InvalidRegexError as error:
            errors.append(error.message)
    return errors


def filters_from_dicts(
    data: Iterable[Mapping[str, Any] | Sequence[Mapping[str, Any]]],
) -> list[ScopingFilter]:
    """Filters from stored JSON. Each item is either ``{"title": ..., "clauses": [clause, ...]}`` or
    just a list of clauses; a clause is ``{"attribute": ..., "operator": ..., "value": ...}``."""
    filters = []
    for item in data:
        if isinstance(item, Mapping):
            filters.append(ScopingFilter.from_dict(item))
        else:
            filters.append(ScopingFilter(clauses=tuple(ScopingClause.from_dict(c) for c in item)))
    return filters


# ---------------------------------------------------------------------------------------- operators


def _lookup(source: Mapping[str, Any], name: str) -> Any:
    try:
        return source[name]
    except KeyError:
        folded = name.lower()
        for key, value in source.items():
            if str(key).lower() == folded:
                return value
        return None


def _text(value: Any) -> str:
    return to_str(value) or ""


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    return None


def _integer_compare(test: Callable[[int, int], bool]) -> Callable[[Any, str], bool]:
    def predicate(value: Any, expected: str) -> bool:
        left, right = _integer(value), _integer(expected)
        return left is not None and right is not None and test(left, right)

    return predicate


def _regex(value: Any, pattern: str) -> bool:
    try:
        return dotnet_regex.search(compile_regex(pattern), _text(value)) is not None
    except (InvalidRegexError, ExpressionBudgetError) as error:
        raise ScopingError(error.message) from None


def _boolean(expected: bool) -> Callable[[Any, str], bool]:
    def predicate(value: Any, _: str) -> bool:
        if isinstance(value, bool):
            return value is expected
        return isinstance(value, str) and value.strip().lower() == ("true" if expected else "false")

    return predicate


_PREDICATES: dict[str, Callable[[Any, str], bool]] = {
    "&": lambda value, expected: _text(value) in expected,
    "!&": lambda value, expected: _text(value) not in expected,
    "ENDS_WITH": lambda value, expected: _text(value).endswith(expected),
    "EQUALS": lambda value, expected: _text(value) == expected,
    "NOT EQUALS": lambda value, expected: _text(value) != expected,
    "Greater_Than": _integer_compare(lambda a, b: a > b),
    "Greater_Than_OR_EQUALS": _integer_compare(lambda a, b: a >= b),
    "Less_Than": _integer_compare(lambda a, b: a < b),
    "Less_Than_OR_EQUALS": _integer_compare(lambda a, b: a <= b),
    "Includes": lambda value, expected: expected in _text(value),
    "IS TRUE": _boolean(True),
    "IS FALSE": _boolean(False),
    "IS NULL": lambda value, expected: False,
    "IS NOT NULL": lambda value, expected: True,
    "REGEX MATCH": _regex,
    "NOT REGEX MATCH": lambda value, pattern: not _regex(value, pattern),
}
