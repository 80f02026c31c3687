"""App roles, generated values and log redaction: SingleAppRoleAssignment, AppRoleAssignmentsComplex,
AssertiveAppRoleAssignmentsComplex, SelectUniqueValue, Guid, RandomString, Redact.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Mapping
from typing import Any

from provisioning.messages import Message, gettext_noop

from .errors import ArgumentTypeError, UniqueValueUnavailableError
from .nodes import Attribute, Call
from .registry import Thunk, function, int_params
from .values import IGNORE, first, is_null_or_empty, to_int, to_text

REDACTED = "[Redact]"  # what provisioning logs show instead of a Redact()ed value
ROLE_KEYS = ("id", "value", "displayName")


class AppRoleList(list):
    """Roles for the target's ``roles`` attribute, one dict per assignment (``id``, ``value``, ``displayName``).

    ``assertive`` is True for AssertiveAppRoleAssignmentsComplex: the connector must PATCH *replace*
    the roles (removing unassigned ones) instead of PATCH *add*.
    """

    def __init__(self, roles: list[dict[str, Any]], *, assertive: bool) -> None:
        super().__init__(roles)
        self.assertive = assertive

    def __repr__(self) -> str:
        return f"AppRoleList({list.__repr__(self)}, assertive={self.assertive})"


def _role_argument(name: str):
    def check(call: Call) -> None:
        arg = call.args[0]
        if not (isinstance(arg, Attribute) and arg.name.lower() == "approleassignments"):
            raise ArgumentTypeError(
                Message(gettext_noop("%(name)s takes the [appRoleAssignments] attribute"), name=name), arg.pos
            )

    return (check,)


def _assignments(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, Mapping)]


def _role(assignment: Mapping[str, Any]) -> dict[str, Any]:
    return {key: assignment.get(key) for key in ROLE_KEYS}


@function("SingleAppRoleAssignment", "[appRoleAssignments]", checks=_role_argument("SingleAppRoleAssignment"))
def single_app_role_assignment(value: Any) -> str | None:
    """The user's one app role, as its value (display name when the role has no value)."""
    for assignment in _assignments(value):
        name = assignment.get("value") or assignment.get("displayName")
        if name:
            return str(name)
    return None


@function(
    "AppRoleAssignmentsComplex", "[appRoleAssignments]", checks=_role_argument("AppRoleAssignmentsComplex")
)
def app_role_assignments_complex(value: Any) -> AppRoleList | None:
    """All of the user's app roles, sent with PATCH add (removed roles stay in the app)."""
    roles = [_role(a) for a in _assignments(value)]
    return AppRoleList(roles, assertive=False) if roles else None


@function(
    "AssertiveAppRoleAssignmentsComplex",
    "[appRoleAssignments]",
    checks=_role_argument("AssertiveAppRoleAssignmentsComplex"),
)
def assertive_app_role_assignments_complex(value: Any) -> AppRoleList:
    """All of the user's app roles, sent with PATCH replace (unassigned roles are removed)."""
    return AppRoleList([_role(a) for a in _assignments(value)], assertive=True)


def build_select_unique_value(call: Call, rules: list[Thunk]) -> Thunk:
    def select_unique_value(ctx: Any) -> str:
        tried: list[str] = []
        for rule in rules:
            value = rule(ctx)
            if value is IGNORE or is_null_or_empty(value):
                continue
            candidate = to_text(first(value))
            if candidate in tried:
                continue
            if ctx.is_unique is None or ctx.is_unique(candidate):
                return candidate
            tried.append(candidate)
        raise UniqueValueUnavailableError(tried, call.pos)

    return select_unique_value


@function(
    "SelectUniqueValue",
    "uniqueValueRule...",
    min_args=2,
    build=build_select_unique_value,
    top_level_only=True,
)
def select_unique_value() -> None:
    """The first rule whose value isn't taken yet in the target (creation only)."""


@function("Guid", "")
def guid() -> str:
    """A new random GUID."""
    return str(uuid.uuid4())


SPECIAL_CHARACTERS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"  # Windows password complexity set
MAX_RANDOM_LENGTH = 256


@function(
    "RandomString",
    "Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital, MinimumLowerCase, CharactersToAvoid?",
    checks=int_params("RandomString", 0, 1, 2, 3, 4),
)
def random_string(
    length: Any, numbers: Any, specials: Any, capitals: Any, lowers: Any, avoid: Any = None
) -> str:
    """A random string with minimum counts of digits, special characters, capitals and lower case."""
    names = ("Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase")
    size, *minimums = (
        to_int(v, "RandomString", n)
        for v, n in zip((length, numbers, specials, capitals, lowers), names, strict=True)
    )
    if not 1 <= size <= MAX_RANDOM_LENGTH:
        raise ArgumentTypeError(
            Message(
                gettext_noop(
                    "RandomString: Length must be between 1 and %(max_random_length)s, got %(size)s"
                ),
                max_random_length=MAX_RANDOM_LENGTH,
                size=size,
            )
        )
    if any(m < 0 for m in minimums):
        raise ArgumentTypeError(Message(gettext_noop("RandomString: minimum counts can't be negative")))
    if sum(minimums) > size:
        raise ArgumentTypeError(
            Message(
                gettext_noop("RandomString: the minimum counts add up to more than Length (%(size)s)"),
                size=size,
            )
        )
    excluded = set(to_text(avoid))
    pools = [
        [c for c in chars if c not in excluded]
        for chars in (string.digits, SPECIAL_CHARACTERS, string.ascii_uppercase, string.ascii_lowercase)
    ]
    everything = [c for pool in pools for c in pool]
    for minimum, pool, name in zip(minimums, pools, names[1:], strict=True):
        if minimum and not pool:
            raise ArgumentTypeError(
                Message(
                    gettext_noop("RandomString: CharactersToAvoid leaves nothing for %(name)s"), name=name
                )
            )
    if not everything:
        raise ArgumentTypeError(
            Message(gettext_noop("RandomString: CharactersToAvoid excludes every character"))
        )
    generator = secrets.SystemRandom()
    chosen = [
        generator.choice(pool) for minimum, pool in zip(minimums, pools, strict=True) for _ in range(minimum)
    ]
    chosen += [generator.choice(everything) for _ in range(size - len(chosen))]
    generator.shuffle(chosen)
    return "".join(chosen)


@function("Redact", "attribute/value")
def redact(value: Any) -> Any:
    """Passes the value through; provisioning logs show "[Redact]" instead of it."""
    return value
