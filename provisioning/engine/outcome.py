"""What processing one object produced: the log entry, the escrow change and the counters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from provisioning.engine.source import EscrowRecord
from provisioning.engine.target_protocol import TargetError
from provisioning.messages import Message

FORGET = "forget"  # escrow marker: drop the link (object deleted in the target)


@dataclass
class Step:
    name: str  # Import | Scoping | Matching | Processing | Export
    status: str  # success | skipped | failure | warning
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "status": self.status,
            "description": self.description,
            "details": self.details,
        }
        if isinstance(self.description, Message):  # kept so the portal can show it in the reader's language
            data["descriptionId"] = self.description.msgid
            data["descriptionParams"] = {
                key: value if isinstance(value, int | float) else str(value)
                for key, value in self.description.params.items()
            }
        return data


@dataclass
class Outcome:
    kind: str
    source_id: str
    source_name: str = ""
    action: str = "Skip"  # Create | Update | Disable | Delete | Skip | Other
    status: str = "skipped"  # success | failure | skipped | warning
    target_id: str = ""
    target_name: str = ""
    steps: list[Step] = field(default_factory=list)
    modified: list[dict[str, Any]] = field(default_factory=list)  # {"name","old","new"}
    error: TargetError | None = None
    escrow: EscrowRecord | str | None = None  # a record to store, FORGET, or None (unchanged)
    pending: str | None = None  # "Disable" | "Delete": staged until the deletion threshold is checked
    deferred_reference: bool = False  # the manager is not provisioned yet: process again after the phase
    duration_ms: int = 0
    retry_count: int = 0
    change_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def step(self, name: str, status: str, description: str, **details: Any) -> None:
        self.steps.append(Step(name, status, description, details))

    def fail(self, error: TargetError, step: str = "Export") -> None:
        self.status = "failure"
        self.error = error
        self.retry_count = error.retry_count
        details: dict[str, Any] = {"code": error.code, "http_status": error.http_status}
        # What was sent and what came back, so the failure can be understood from the log alone.
        if error.request:
            details["request"] = error.request
        if error.response:
            details["response"] = error.response
        self.step(step, "failure", error.reason, **details)

    @property
    def wrote(self) -> bool:
        return self.status in ("success", "warning") and self.action in (
            "Create",
            "Update",
            "Disable",
            "Delete",
        )
