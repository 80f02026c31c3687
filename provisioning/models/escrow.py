"""The escrow record: which target object each source object is linked to, and what was exported."""

from django.db import models

from provisioning.models.job import ProvisioningJob


class ObjectKind(models.TextChoices):
    USER = "User"
    GROUP = "Group"


class EscrowState(models.TextChoices):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class EscrowEntry(models.Model):
    """The engine's record of every target object it created or matched: only these are ever changed."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="escrow")
    object_kind = models.CharField(max_length=8, choices=ObjectKind.choices)
    source_id = models.UUIDField()
    target_id = models.CharField(max_length=256)
    exported = models.JSONField(default=dict)  # the values last exported, by target attribute path
    members = models.JSONField(default=list)  # groups: target ids of members last exported
    state = models.CharField(max_length=16, choices=EscrowState.choices, default=EscrowState.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "object_kind", "source_id"], name="escrow_unique_source"),
            models.UniqueConstraint(fields=["job", "object_kind", "target_id"], name="escrow_unique_target"),
        ]
        # The overview counts an app's links by kind and state: an index-only scan of this index, not a
        # read of every escrow row with its exported values (a million links: 1 s → tens of ms).
        indexes = [models.Index(fields=["job", "object_kind", "state"], name="escrow_job_state_idx")]

    def __str__(self) -> str:
        return f"{self.object_kind} {self.source_id} → {self.target_id}"
