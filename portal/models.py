"""The audit log of configuration changes (who, when, which app, which fields, old → new)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

REDACTED = "******"


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    category = models.CharField(max_length=40, default="ApplicationManagement")
    activity = models.CharField(max_length=120)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=256, blank=True)
    application_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=list, blank=True)  # [{"field", "old", "new"}], secrets redacted

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.activity} {self.target_name}"
