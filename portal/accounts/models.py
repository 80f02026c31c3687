"""Who holds which portal role, which Entra identity a portal user is, and who owns which application."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.accounts.roles import PortalRole


class RoleSource(models.TextChoices):
    LOCAL = "local", "Assigned in the portal"
    ENTRA = "entra", "From the Entra ID sign-in"


class RoleAssignment(models.Model):
    """One portal role held by one user (Entra's directory role assignment).

    Assignments from the ID token's claims (``source=entra``) are replaced at every Microsoft sign-in;
    assignments made in the portal (``assign_role``, the admin) are left alone by sign-in.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_roles")
    role = models.CharField(max_length=40, choices=PortalRole.choices)
    source = models.CharField(max_length=10, choices=RoleSource.choices, default=RoleSource.LOCAL)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "source"], name="role_assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} ({self.get_source_display()})"


class ExternalIdentity(models.Model):
    """The link from a portal user to an identity at the OpenID provider.

    For Entra that is (tenant id ``tid``, object id ``oid``), which never change — unlike the UPN. Another
    OpenID provider without those claims is linked by (issuer ``iss``, subject ``sub``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    preferred_username = models.CharField(max_length=255, blank=True)
    first_sign_in_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sign_in_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.preferred_username or self.subject} @ {self.issuer}"


class ApplicationOwner(models.Model):
    """An owner of an enterprise application: may manage that application and its provisioning only."""

    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="owners"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_applications"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["application_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "user"], name="application_owner_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} owns {self.application}"


class LanguagePreference(models.Model):
    """The display language a portal user chose in the header; it also decides their emails' language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_preference"
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"
