"""The engine's view of an app's configuration: plain, parsed once per task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioning.engine.attribute_types import AttributeType, types_from_definitions
from provisioning.mappings.evaluation import AttributeMapping
from provisioning.mappings.scoping import ScopingFilter, filters_from_dicts

MANAGER_SUFFIX = ":manager"
MEMBERS = "members"


@dataclass(frozen=True)
class ObjectMappingConfig:
    key: str
    source_object: str
    enabled: bool
    actions: frozenset[str]
    scoping_filters: list[ScopingFilter]
    attribute_mappings: list[AttributeMapping]
    attribute_types: dict[str, AttributeType] = field(default_factory=dict)
    """Lower-cased target attribute name → type, from the app's attribute list (Edit attribute list)."""

    @property
    def matching(self) -> list[AttributeMapping]:
        """Matching attributes in precedence order (1 is tried first)."""
        ranked = [m for m in self.attribute_mappings if m.matching_precedence]
        return sorted(ranked, key=lambda m: m.matching_precedence or 0)

    @property
    def value_mappings(self) -> list[AttributeMapping]:
        """Mappings that flow as attribute values (members are handled as memberships)."""
        return [m for m in self.attribute_mappings if m.target != MEMBERS]

    @property
    def syncs_members(self) -> bool:
        return any(m.target == MEMBERS and m.type != "None" for m in self.attribute_mappings)

    @property
    def manager_target(self) -> str | None:
        for m in self.attribute_mappings:
            if m.target == "manager" or m.target.endswith(MANAGER_SUFFIX):
                return m.target
        return None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectMappingConfig:
        return cls(
            key=data["key"],
            source_object=data["source_object"],
            enabled=data.get("enabled", True),
            actions=frozenset(data.get("actions", ("Create", "Update", "Delete"))),
            scoping_filters=filters_from_dicts(data.get("scoping_filters", [])),
            attribute_mappings=[AttributeMapping.from_dict(m) for m in data.get("attribute_mappings", [])],
            attribute_types=types_from_definitions(data.get("target_attributes", [])),
        )


@dataclass(frozen=True)
class EngineConfig:
    users: ObjectMappingConfig | None
    groups: ObjectMappingConfig | None
    sync_all: bool = False
    skip_out_of_scope_deletions: bool = False
    concurrency: int = 4
    match_batch_size: int = 1  # values per `or` filter; 1 = Entra's one GET per object
    record_value_limit: int = 4096  # larger values are kept as a digest in the escrow record (bounded.py)
    # consecutive connection failures (or 401/403 once something worked) before a page stops sending
    failure_threshold: int = 5
    extra: dict[str, Any] = field(default_factory=dict)

    def mapping_for(self, kind: str) -> ObjectMappingConfig | None:
        mapping = self.users if kind == "User" else self.groups
        return mapping if mapping and mapping.enabled else None
