"""The tenant directory: users, groups and memberships, the source that provisioning reads.

Soft delete mirrors Entra's recycle bin: ``deleted_at`` set means "in the recycle bin"; a scheduled task
purges (hard-deletes) what has been there longer than the retention period.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class DirectoryObjectQuerySet(models.QuerySet):
    def active(self) -> "DirectoryObjectQuerySet":
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> "DirectoryObjectQuerySet":
        return self.filter(deleted_at__isnull=False)


class DirectoryObject(models.Model):
    object_id = models.UUIDField("Object ID", default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField("Display name", max_length=256)
    created_date_time = models.DateTimeField("Created", default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    objects = DirectoryObjectQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def object_kind(self) -> str:
        """The change feed's name for this kind of object ("User", "Group")."""
        return type(self).__name__.removeprefix("Directory")


def _recycle_bin_index(name: str) -> models.Index:
    """The recycle bin in name order: small, and no planner has to guess how rare deleted rows are."""
    return models.Index(Lower("display_name"), "id", condition=models.Q(deleted_at__isnull=False), name=name)


class DirectoryUser(DirectoryObject):
    user_principal_name = models.CharField("User principal name", max_length=256)
    mail = models.EmailField("Mail", max_length=256, blank=True)
    mail_nickname = models.CharField("Mail nickname", max_length=64, blank=True)
    given_name = models.CharField("First name", max_length=64, blank=True)
    surname = models.CharField("Last name", max_length=64, blank=True)
    job_title = models.CharField("Job title", max_length=128, blank=True)
    department = models.CharField("Department", max_length=64, blank=True, db_index=True)
    company_name = models.CharField("Company name", max_length=64, blank=True)
    employee_id = models.CharField("Employee ID", max_length=16, blank=True)
    employee_type = models.CharField("Employee type", max_length=64, blank=True)
    office_location = models.CharField("Office location", max_length=128, blank=True)
    street_address = models.CharField("Street address", max_length=1024, blank=True)
    city = models.CharField("City", max_length=128, blank=True)
    state = models.CharField("State or province", max_length=128, blank=True)
    postal_code = models.CharField("ZIP or postal code", max_length=40, blank=True)
    country = models.CharField("Country or region", max_length=128, blank=True)
    usage_location = models.CharField("Usage location", max_length=2, blank=True)
    preferred_language = models.CharField("Preferred language", max_length=16, blank=True)
    mobile_phone = models.CharField("Mobile phone", max_length=64, blank=True)
    business_phones = models.JSONField("Business phones", default=list, blank=True)
    fax_number = models.CharField("Fax number", max_length=64, blank=True)
    account_enabled = models.BooleanField("Account enabled", default=True, db_index=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    extension_attributes = models.JSONField("Extension attributes", default=dict, blank=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("user_principal_name"), name="directory_user_upn_unique_ci"),
        ]
        indexes = [
            models.Index(Lower("display_name"), "id", name="directory_user_name_idx"),
            models.Index(Lower("mail"), name="directory_user_mail_idx"),
            _recycle_bin_index("directory_user_bin_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.user_principal_name}>"

    def get_absolute_url(self) -> str:
        return reverse("directory:user_detail", args=[self.object_id])

    def clean(self) -> None:
        if self.manager_id and self._manager_chain_reaches_self():
            raise ValidationError(
                {
                    "manager": "This manager would create a cycle: a user cannot manage itself, directly or through reports."
                }
            )
        if self.user_principal_name and "@" not in self.user_principal_name:
            raise ValidationError({"user_principal_name": "A user principal name looks like alias@domain."})

    def _manager_chain_reaches_self(self) -> bool:
        seen: set[int] = set()
        current = self.manager_id
        while current is not None and current not in seen:
            if self.pk is not None and current == self.pk:
                return True
            seen.add(current)
            current = DirectoryUser.objects.filter(pk=current).values_list("manager_id", flat=True).first()
        return False


class DirectoryGroup(DirectoryObject):
    mail_nickname = models.CharField("Mail nickname", max_length=64, blank=True)
    description = models.CharField("Description", max_length=1024, blank=True)
    mail = models.EmailField("Mail", max_length=256, blank=True)
    security_enabled = models.BooleanField("Security enabled", default=True)
    mail_enabled = models.BooleanField("Mail enabled", default=False)

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(Lower("display_name"), "id", name="directory_group_name_idx"),
            _recycle_bin_index("directory_group_bin_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("directory:group_detail", args=[self.object_id])


class GroupMembership(models.Model):
    """A member of a group: a user, or a nested group."""

    group = models.ForeignKey(DirectoryGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        DirectoryUser, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    member_group = models.ForeignKey(
        DirectoryGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="parent_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, member_group__isnull=True)
                    | models.Q(user__isnull=True, member_group__isnull=False)
                ),
                name="membership_exactly_one_member",
            ),
            models.UniqueConstraint(fields=["group", "user"], name="membership_unique_user"),
            models.UniqueConstraint(fields=["group", "member_group"], name="membership_unique_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.member_group} in {self.group}"


class ChangeKind(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"  # soft delete: into the recycle bin
    RESTORED = "restored"
    PURGED = "purged"  # hard delete
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"


class ObjectKind(models.TextChoices):
    USER = "User"
    GROUP = "Group"


class DirectoryChange(models.Model):
    """The change feed: one row per change, read by delta sync as "everything after sequence W".

    The primary key is the sequence, so "since W" is an index range scan whatever the population.
    Rows are written in commit order (see ``portal.directory.changes``) so a reader never skips one.
    """

    seq = models.BigAutoField(primary_key=True)
    object_kind = models.CharField(max_length=8, choices=ObjectKind.choices)
    object_id = models.UUIDField()
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    related_id = models.UUIDField(null=True, blank=True)  # the member for membership changes
    app_id = models.BigIntegerField(null=True, blank=True)  # the application for assignment changes
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.object_kind} {self.object_id} {self.kind}"


class ImportKind(models.TextChoices):
    USERS = "users", "Users"
    MEMBERSHIPS = "memberships", "Group memberships"


class ImportStatus(models.TextChoices):
    """Where an import stands; ``badge`` gives the colour the pages show it in."""

    VALIDATING = "validating", "Validating"
    READY = "ready", "Ready to import"
    INVALID = "invalid", "Has errors"
    APPLYING = "applying", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @property
    def badge(self) -> str:
        return {
            "validating": "info",
            "ready": "info",
            "invalid": "danger",
            "applying": "info",
            "done": "success",
            "failed": "danger",
            "cancelled": "warning",
        }[self.value]


class DirectoryImport(models.Model):
    """An uploaded CSV between preview and confirm, and the progress of its validation and import.

    The file's text lives in the database (not on a local disk) so that a worker on another host can read
    it: in ``parts`` of about a mebibyte each, read one at a time, so no process holds the whole file.
    (``content`` is where imports uploaded before that kept it.)
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.VALIDATING)
    file_name = models.CharField(max_length=256)
    content = models.TextField(blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)  # counts and sample rows of the preview / result
    errors = models.JSONField(default=list, blank=True)  # [[row, column, message], ...]
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.file_name} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.APPLYING)

    @property
    def status_badge(self) -> str:
        return ImportStatus(self.status).badge

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class DirectoryImportPart(models.Model):
    """One piece of an uploaded CSV's text, in upload order (``seq``)."""

    directory_import = models.ForeignKey(DirectoryImport, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["directory_import", "seq"], name="directory_import_part_seq")
        ]

    def __str__(self) -> str:
        return f"part {self.seq} of {self.directory_import_id}"
