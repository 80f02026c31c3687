"""Provisioning configuration and state: the job, its mappings, the escrow record, cycles and logs.

One module per object; every model and choice is importable from ``provisioning.models``."""

from provisioning.models.cycles import Cycle, CycleKind, CyclePage, CyclePhase, CycleStatus, PageStatus
from provisioning.models.escrow import EscrowEntry, EscrowState, ObjectKind
from provisioning.models.job import (
    AuthMethod,
    JobNotification,
    JobState,
    NotificationKind,
    ProvisioningJob,
    ProvisioningMode,
    QuarantineReason,
    Scope,
)
from provisioning.models.logs import LogAction, LogStatus, ProvisioningLog
from provisioning.models.mappings import ObjectMapping

__all__ = [
    "AuthMethod",
    "Cycle",
    "CycleKind",
    "CyclePage",
    "CyclePhase",
    "CycleStatus",
    "EscrowEntry",
    "EscrowState",
    "JobNotification",
    "JobState",
    "LogAction",
    "LogStatus",
    "NotificationKind",
    "ObjectKind",
    "ObjectMapping",
    "PageStatus",
    "ProvisioningJob",
    "ProvisioningLog",
    "ProvisioningMode",
    "QuarantineReason",
    "Scope",
]
