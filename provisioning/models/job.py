"""One app's provisioning job: admin credentials, settings, state, and the notifications it sent."""

from django.conf import settings
from django.db import models
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
