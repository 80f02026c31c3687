"""Provision on demand and the dry-run plan: the same pipeline as a cycle, run here and now.

On demand runs one user or group through import → scope → match → export immediately (a staged
disable is sent at once) and writes the same log entry a cycle writes. The plan runs the pipeline over
everything a cycle would look at with writes refused, and returns what each object would get.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from provisioning.engine.outcome import Outcome
from provisioning.engine.processor import PageProcessor, StopCycle
from provisioning.engine.target_protocol import Target, TargetError
from provisioning.messages import Message, gettext_noop
from provisioning.models import ProvisioningJob
from provisioning.sync import escrow
from provisioning.sync.connector_pool import target_for
from provisioning.sync.cycles import engine_config, source_for

PLAN_LIMIT = 20_000


def provision_on_demand(
    job: ProvisioningJob, kind: str, source_id: str, *, target: Target | None = None
) -> Outcome:
    """Run one object through the pipeline now; the outcome carries every step with its details."""
    objects = source_for(job).get(kind, [source_id])
    records = escrow.load(job.pk, kind, [source_id])
    try:
        processor = PageProcessor(engine_config(job), target or target_for(job), escrow.resolver(job.pk))
        outcomes = processor.process(kind, [objects[source_id]], records)
        outcome = outcomes[0] if outcomes else _not_provisioned(kind, source_id)
        if outcome.pending and source_id in records:
            outcome = processor.deprovision(kind, [(outcome, records[source_id])])[0]
    except StopCycle as stop:
        outcome = Outcome(kind=kind, source_id=source_id, source_name=objects[source_id].display_name)
        outcome.fail(stop.error, step="Test connection")
        outcome.action = "Other"
    escrow.save(job, uuid.uuid4(), [outcome])
    return outcome


def _not_provisioned(kind: str, source_id: str) -> Outcome:
    outcome = Outcome(kind=kind, source_id=source_id, action="Skip", status="skipped")
    outcome.step(
        "Scoping",
        "skipped",
        Message(
            gettext_noop("%(kind)ss are not provisioned to this application (object mapping disabled)."),
            kind=kind,
        ),
    )
    return outcome


@dataclass
class Plan:
    outcomes: list[Outcome] = field(default_factory=list)
    truncated: bool = False
    error: TargetError | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            key = "Failed" if o.status == "failure" else (o.pending or o.action)
            counts[key] = counts.get(key, 0) + 1
        return counts


def plan(job: ProvisioningJob, *, target: Target | None = None, limit: int = PLAN_LIMIT) -> Plan:
    """What an initial cycle would do now, reading the target but writing nothing."""
    source = source_for(job)
    result = Plan()
    try:
        processor = PageProcessor(
            engine_config(job), target or target_for(job), escrow.resolver(job.pk), dry_run=True
        )
    except StopCycle as stop:  # e.g. a stored secret that can't be decrypted
        result.error = stop.error
        return result
    size = 500
    for kind in ("User", "Group"):
        ids = list(dict.fromkeys(source.entitled_ids(kind) + escrow.source_ids(job.pk, kind)))
        if len(result.outcomes) + len(ids) > limit:
            ids, result.truncated = ids[: max(0, limit - len(result.outcomes))], True
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            objects = source.get(kind, chunk)
            try:
                result.outcomes += processor.process(
                    kind, [objects[i] for i in chunk], escrow.load(job.pk, kind, chunk)
                )
            except StopCycle as stop:
                result.error = stop.error
                return result
    return result
