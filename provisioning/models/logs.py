"""One provisioning log row per object per cycle (Graph's provisioningObjectSummary)."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from provisioning.models.escrow import ObjectKind
from provisioning.models.job import ProvisioningJob


class LogAction(models.TextChoices):
    CREATE = "Create", _("Create")
    UPDATE = "Update", _("Update")
    DISABLE = "Disable", _("Disable")
    DELETE = "Delete", _("Delete")
    SKIP = "Skip", _("Skip")
    OTHER = "Other", _("Other")


class LogStatus(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    SKIPPED = "skipped", _("Skipped")
    WARNING = "warning", _("Warning")


class ProvisioningLog(models.Model):
    """One object processed in one cycle (Graph's provisioningObjectSummary)."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="logs")
    # The record's id in the Graph API (provisioningObjectSummary.id is a GUID there).
    log_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    activity_at = models.DateTimeField(default=timezone.now)
    cycle_id = models.UUIDField()
    change_id = models.UUIDField(default=uuid.uuid4)
    action = models.CharField(max_length=16, choices=LogAction.choices)
    status = models.CharField(max_length=16, choices=LogStatus.choices)
    duration_ms = models.PositiveIntegerField(default=0)
    object_kind = models.CharField(max_length=8, choices=ObjectKind.choices)
    source_id = models.CharField(max_length=64, blank=True)
    source_name = models.CharField(max_length=256, blank=True)
    target_id = models.CharField(max_length=256, blank=True)
    target_name = models.CharField(max_length=256, blank=True)
    steps = models.JSONField(default=list)  # [{"name","status","description","details"}]
    modified_properties = models.JSONField(default=list)  # [{"name","old","new"}]
    error_code = models.CharField(max_length=80, blank=True)
    error_category = models.CharField(max_length=40, blank=True)
    error_reason = models.TextField(blank=True)
    recommended_action = models.TextField(blank=True)
    retry_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-activity_at", "-id"]
        indexes = [
            models.Index(fields=["-activity_at", "-id"], name="log_time_idx"),
            models.Index(fields=["job", "-activity_at", "-id"], name="log_job_time_idx"),
            models.Index(fields=["cycle_id"], name="log_cycle_idx"),
            models.Index(fields=["status", "-activity_at", "-id"], name="log_status_time_idx"),
            models.Index(fields=["source_id"], name="log_source_idx"),
            # The provisioning logs page (provisioning/logs/query.py): every filter that can narrow the
            # table a lot gets an index whose tail is the page order, so a page is a short range scan.
            # Name prefix search uses lower(...) text_pattern_ops indexes made in migration 0002 (PostgreSQL).
            models.Index(fields=["cycle_id", "-activity_at", "-id"], name="log_cycle_time_idx"),
            models.Index(fields=["action", "-activity_at", "-id"], name="log_action_time_idx"),
            models.Index(fields=["change_id"], name="log_change_idx"),
            models.Index(fields=["target_id"], name="log_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.source_name} {self.status}"
