"""What the engine reads from the directory: plain objects, no ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioning.engine.target_protocol import ObjectType


@dataclass
class SourceObject:
    """A directory user or group as provisioning sees it.

    ``attributes`` uses Entra's attribute names (``userPrincipalName``, ``manager`` = the manager's
    object id, ``IsSoftDeleted``...). ``exists`` is False for an object that was hard-deleted (purged).
    ``entitled`` is the assignment half of scope: assigned with a non-default role (directly or through
    a group), or the app syncs everyone.
    """

    kind: ObjectType
    id: str
    display_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    exists: bool = True
    enabled: bool = True
    soft_deleted: bool = False
    entitled: bool = False
    app_role_assignments: list[dict[str, str]] = field(default_factory=list)
    member_ids: list[str] = field(default_factory=list)  # groups: direct user members


class Source(Protocol):
    def get(self, kind: ObjectType, ids: list[str]) -> dict[str, SourceObject]:
        """The objects with these ids; an id that no longer exists maps to ``exists=False``."""
        ...


@dataclass
class EscrowRecord:
    """The engine's link between one source object and the target object it manages."""

    target_id: str
    exported: dict[str, Any] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    state: str = "active"  # active | disabled | deleted
