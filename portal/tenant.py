"""The tenant this portal stands for, as Graph records name it."""

from __future__ import annotations

import uuid

from django.conf import settings


def tenant_id() -> str:
    """Entra's tenant id when sign-in is configured, else a stable one derived from this portal's URL."""
    configured = settings.ENTRA_TENANT_ID
    try:
        return str(uuid.UUID(configured))
    except (ValueError, TypeError, AttributeError):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, settings.PORTAL_BASE_URL))
