"""Provisioning configuration and state: the job, its mappings, the escrow record, cycles and logs."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.applications.models import Application
from portal.crypto import EncryptedTextField
from provisioning.connectors.scim.compat import Compatibility


class JobState(models.TextChoices):
    NOT_CONFIGURED = "NotConfigured", _("Not Configured")
    NOT_RUN = "NotRun", _("Not Run")
    ACTIVE = "Active", _("Active")
    PAUSED = "Paused", _("Paused")
    QUARANTINE = "Quarantine", _("Quarantine")


class ProvisioningMode(models.TextChoices):
    AUTOMATIC = "Automatic", _("Automatic")
    MANUAL = "Manual", _("Manual")


class Scope(models.TextChoices):
    ASSIGNED = "assigned", _("Sync only assigned users and groups")
    ALL = "all", _("Sync all users and groups")


class AuthMethod(models.TextChoices):
    BEARER = "bearer", _("Bearer token")
    OAUTH_CLIENT_CREDENTIALS = "oauth2_client_credentials", _("OAuth 2 client credentials")
    # Entra's "Authorize" button: the admin signs in at the app, which grants a refresh token.
    OAUTH_AUTHORIZATION_CODE = "oauth2_authorization_code", _("OAuth 2 authorization code (Authorize)")


class QuarantineReason(models.TextChoices):
    """Why the engine quarantined a job (Graph's synchronizationJobStatus.quarantine.reason)."""

    CREDENTIALS = "EncounteredQuarantineException", "The target refused the admin credentials"
    ESCROW_PROPORTION = "EncounteredEscrowProportionThreshold", "Most objects failed to provision"
    TOO_MANY_DELETES = "TooManyDeletes", "Too many deletes staged"


class ProvisioningJob(models.Model):
    """One app's provisioning configuration and job state (Graph's synchronizationJob)."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="provisioning")
    job_id = models.CharField(max_length=120, unique=True)
    mode = models.CharField(
        max_length=16, choices=ProvisioningMode.choices, default=ProvisioningMode.AUTOMATIC
    )

    # Admin credentials
    tenant_url = models.URLField("Tenant URL", max_length=500, blank=True)
    auth_method = models.CharField(max_length=32, choices=AuthMethod.choices, default=AuthMethod.BEARER)
    secret_token = EncryptedTextField("Secret Token", blank=True)
    oauth_token_url = models.URLField("Token endpoint", max_length=500, blank=True)
    oauth_client_id = models.CharField("Client identifier", max_length=256, blank=True)
    oauth_client_secret = EncryptedTextField("Client secret", blank=True)
    oauth_scope = models.CharField("Scope", max_length=256, blank=True)
    oauth_authorize_url = models.URLField("Authorization endpoint", max_length=500, blank=True)
    # Granted by the app through Authorize (authorization code + PKCE); rotated by the app on refresh.
    oauth_refresh_token = EncryptedTextField("Refresh token", blank=True)
    oauth_authorized_at = models.DateTimeField("Authorized", null=True, blank=True)
    credentials_tested_at = models.DateTimeField(null=True, blank=True)
    credentials_fingerprint = models.CharField(max_length=64, blank=True)  # what passed the test

    # Settings
    notification_email = models.EmailField(blank=True)
    # The notification emails' language when the address is not a portal user's (whose language wins).
    notification_language = models.CharField(
        max_length=10, blank=True, default="", choices=settings.LANGUAGES
    )
    notify_on_failure = models.BooleanField("Send an email notification when a failure occurs", default=False)
    prevent_accidental_deletion = models.BooleanField("Prevent accidental deletion", default=True)
    deletion_threshold = models.PositiveIntegerField("Accidental deletion threshold", default=500)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.ASSIGNED)
    skip_out_of_scope_deletions = models.BooleanField(default=False)
    # Compatibility switches (provisioning.connectors.scim.compat): {"memberRemoval": "valueList", ...};
    # only switches that differ from the RFC default are stored.
    compatibility = models.JSONField(default=dict, blank=True)
    near_real_time = models.BooleanField("Near-real-time provisioning", default=True)
    interval_minutes = models.PositiveIntegerField(default=40)

    # Job state
    enabled = models.BooleanField("Provisioning Status", default=False)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.NOT_CONFIGURED)
    watermark = models.BigIntegerField(default=0)  # directory change-feed sequence already processed
    needs_full_sync = models.BooleanField(default=True)  # mapping/scope changed or never run: initial cycle
    force_deletes_once = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_execution_at = models.DateTimeField(null=True, blank=True)
    last_successful_execution_at = models.DateTimeField(null=True, blank=True)
    steady_state_at = models.DateTimeField(null=True, blank=True)
    count_successive_complete_failures = models.PositiveIntegerField(default=0)
    quarantine_reason = models.CharField(max_length=64, blank=True, choices=QuarantineReason.choices)
    quarantine_since = models.DateTimeField(null=True, blank=True)
    quarantine_details = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Provisioning of {self.application}"

    @property
    def not_supported(self) -> str:
        """Why this app can't be provisioned yet (its gallery template says so); empty when it can."""
        try:
            template = self.application.template
        except KeyError:
            return ""
        if not template.not_supported:
            return ""
        return f"Provisioning {template.display_name} is not supported yet: {template.not_supported}"

    @property
    def compat(self) -> Compatibility:
        """The app's compatibility switches (stored values are validated on save by the form and API)."""
        return Compatibility.from_dict(self.compatibility or {})


class NotificationKind(models.TextChoices):
    QUARANTINE = "quarantine"
    DELETIONS = "deletions", "Deletions held"
    FAILURES = "failures"
    STALLED = "stalled"


class JobNotification(models.Model):
    """When each kind of email last went to the app's notification address (one per kind per day)."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "kind"], name="job_notification_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} notification of {self.job}"


class ObjectMapping(models.Model):
    """One row of the Mappings section ("Provision users", "Provision groups"), as plain JSON data."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="object_mappings")
    key = models.CharField(max_length=32)  # "users" | "groups"
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    source_object = models.CharField(max_length=16)  # "User" | "Group"
    target_object = models.CharField(max_length=120)
    actions = models.JSONField(default=list)  # subset of ["Create", "Update", "Delete"]
    scoping_filters = models.JSONField(default=list)  # [[{"attribute","operator","value"}...]...]
    attribute_mappings = models.JSONField(default=list)
    target_attributes = models.JSONField(default=list)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="object_mapping_unique_key")]

    def __str__(self) -> str:
        return self.name


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
