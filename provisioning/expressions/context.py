"""What an expression is evaluated against: one directory object plus what the engine knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

APP_ROLE_ASSIGNMENTS = "approleassignments"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EvaluationContext:
    """One source object and the engine's hooks.

    ``source`` maps Entra attribute names (``givenName``, ``IsSoftDeleted``...) to values; names are
    matched case-insensitively like Entra does. ``app_role_assignments`` feeds the role functions and
    ``[appRoleAssignments]``. ``is_unique`` lets SelectUniqueValue ask the target whether a value is
    free. ``now`` is injectable so that tests and "Test expression" are repeatable.
    """

    source: Mapping[str, Any]
    app_role_assignments: Sequence[Mapping[str, str]] = ()
    is_unique: Callable[[str], bool] | None = None
    now: Callable[[], datetime] = utc_now
    _folded: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def lookup(self, name: str, folded_name: str) -> Any:
        """Value of ``[name]``: exact spelling first (the common case), then case-insensitive."""
        source = self.source
        try:
            value = source[name]
        except KeyError:
            if folded_name == APP_ROLE_ASSIGNMENTS and self.app_role_assignments:
                return list(self.app_role_assignments)
            folded = self._folded
            if folded is None:
                folded = self._folded = {str(key).lower(): val for key, val in source.items()}
            if folded_name in folded:
                value = folded[folded_name]
            else:
                return None
        if value.__class__ is list:
            return value or None
        if value.__class__ is tuple:
            return list(value) or None
        return value
