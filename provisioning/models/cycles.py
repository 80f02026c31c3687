"""Cycles and the pages they are split into, handed to the workers one page at a time."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provisioning.models.job import ProvisioningJob


class CycleKind(models.TextChoices):
    INITIAL = "initial", _("Initial cycle")
    INCREMENTAL = "incremental", _("Incremental cycle")
    ON_DEMAND = "on_demand", _("Provision on demand")


class CycleStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    QUARANTINED = "quarantined", _("Quarantined")


class CyclePhase(models.TextChoices):
    """The phases of a cycle, in the order they run."""

    USERS = "users"
    REFERENCES = "references"  # the manager pass over users whose manager was not provisioned yet
    GROUPS = "groups"
    DEPROVISION = "deprovision"


class Cycle(models.Model):
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="cycles")
    cycle_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=CycleKind.choices)
    status = models.CharField(max_length=16, choices=CycleStatus.choices, default=CycleStatus.RUNNING)
    phase = models.CharField(max_length=16, choices=CyclePhase.choices, default=CyclePhase.USERS)
    force_deletes = models.BooleanField(default=False)
    staged_deletions = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    watermark_end = models.BigIntegerField(default=0)  # the feed position this cycle brings the job to
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    disabled = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    target_pauses = models.PositiveSmallIntegerField(default=0)  # consecutive back-offs on a dead target
    error = models.TextField(blank=True)
    # When progress was last observed (start, a page saved, resume): older than PROVISIONING_STALL_AFTER
    # while running means stalled (provisioning/sync/stalls.py). stall_reported_at: that stall was reported.
    progress_at = models.DateTimeField(default=timezone.now)
    stall_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # two cycles of one app never run at once
            models.UniqueConstraint(
                fields=["job"], condition=Q(status__in=["running", "paused"]), name="one_open_cycle_per_job"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.cycle_id}"

    @property
    def is_open(self) -> bool:
        return self.status in (CycleStatus.RUNNING, CycleStatus.PAUSED)


class PageStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # gave up after repeated errors: its objects are logged as failed, retried next cycle


class CyclePage(models.Model):
    """A slice of a cycle handed to one worker task; finished pages are never sent again on resume."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="pages")
    index = models.PositiveIntegerField()
    phase = models.CharField(max_length=16, choices=CyclePhase.choices)
    items = models.JSONField(default=list)  # source ids (and deletions) to process
    status = models.CharField(max_length=8, choices=PageStatus.choices, default=PageStatus.PENDING)
    finished_at = models.DateTimeField(null=True, blank=True)
    processed_by = models.CharField(max_length=200, blank=True)  # the worker that saved it
    # Delivery bookkeeping, so that no page is ever lost (see cycles.reap): when it was last handed to
    # the broker (or is due, after a back-off), which task runs it and its last sign of life, how many
    # runs it took, and why it failed.
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["cycle", "index"], name="cycle_page_unique_index")]
        indexes = [models.Index(fields=["cycle", "phase", "status"], name="cycle_page_phase_idx")]

    def __str__(self) -> str:
        return f"page {self.index} ({self.phase}) of {self.cycle}"
