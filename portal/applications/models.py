"""Enterprise applications (Graph's application + servicePrincipal), their app roles and assignments."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.directory.models import DirectoryGroup, DirectoryUser

DEFAULT_ACCESS = "Default Access"


class Application(models.Model):
    display_name = models.CharField("Name", max_length=256)
    template_id = models.CharField(max_length=64)
    app_id = models.UUIDField("Application ID", default=uuid.uuid4, unique=True, editable=False)
    service_principal_id = models.UUIDField("Object ID", default=uuid.uuid4, unique=True, editable=False)
    logo = models.CharField(max_length=200, blank=True)
    publisher = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["display_name", "id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def template(self):
        from portal.applications.gallery import get_template

        return get_template(self.template_id)


class AppRole(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="app_roles")
    role_id = models.UUIDField(default=uuid.uuid4, editable=False)
    value = models.CharField(max_length=120, blank=True)
    display_name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    is_default = models.BooleanField(default=False)  # "Default Access": assigned but never provisioned

    class Meta:
        ordering = ["-is_default", "display_name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "display_name"], name="app_role_unique_name")
        ]

    def __str__(self) -> str:
        return self.display_name


class AppRoleAssignment(models.Model):
    """A user or group assigned to an application with a role (Graph's appRoleAssignment)."""

    assignment_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assignments")
    app_role = models.ForeignKey(AppRole, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        DirectoryUser, null=True, blank=True, on_delete=models.CASCADE, related_name="app_assignments"
    )
    group = models.ForeignKey(
        DirectoryGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="app_assignments"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="assignment_exactly_one_principal",
            ),
            models.UniqueConstraint(fields=["app_role", "user"], name="assignment_unique_user_role"),
            models.UniqueConstraint(fields=["app_role", "group"], name="assignment_unique_group_role"),
        ]
        indexes = [
            models.Index(fields=["application", "user"]),
            models.Index(fields=["application", "group"]),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.group} → {self.application} ({self.app_role})"

    @property
    def principal(self) -> DirectoryUser | DirectoryGroup:
        return self.user or self.group
