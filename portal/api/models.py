"""Personal API tokens: what scripts present as ``Authorization: Bearer …`` to the Graph-style API.

Why only a hash is stored: a token is a password that never expires from a script's point of view until
it is revoked, so the database must not be enough to use one. Tokens are 256 random bits, so a plain
SHA-256 (no salt, no stretching) is safe and lets the API find a token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.audit import audit_user

TOKEN_PREFIX = "ppt_"  # "provisioning portal token": recognisable by secret scanners and in logs
DISPLAY_PREFIX_LENGTH = 12  # "ppt_" + 8 characters, shown in lists so a token can be told apart
DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 366
LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most once a minute per token


def hash_token(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        """Not revoked and not expired: the tokens that still open the API."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """One personal API token of one portal user; it acts with that user's roles."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=DISPLAY_PREFIX_LENGTH)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @classmethod
    def issue(cls, user: Any, name: str, days: int = DEFAULT_EXPIRY_DAYS) -> tuple[ApiToken, str]:
        """Create a token for ``user`` valid ``days`` days; returns the row and the plain token.

        The plain token exists only in the return value: show it once, never store or log it.
        """
        if not 1 <= days <= MAX_EXPIRY_DAYS:
            raise ValueError(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days, not {days}.")
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=(name or "").strip()[:100] or "API token",
            prefix=plain[:DISPLAY_PREFIX_LENGTH],
            token_hash=hash_token(plain),
            expires_at=timezone.now() + timedelta(days=days),
        )
        return token, plain

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def revoke(self) -> bool:
        """Revoke now; False when it was already revoked."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
        return True

    def touch(self) -> None:
        """Record a use, at most once a minute, without touching other columns."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


def record_token_issued(actor: Any, token: ApiToken) -> None:
    """The audit entry of a new token: its name and expiry (never the token)."""
    audit_user(
        actor,
        token.user,
        "Create API token",
        [("name", None, token.name), ("expires_at", None, token.expires_at)],
        "Authentication",
    )
