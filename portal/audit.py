"""Write the audit log of configuration changes, with secrets redacted before anything is stored.

Every page and API that changes configuration calls ``record_audit``; nothing else writes
``AuditEntry`` rows, so the redaction rule lives in one place. A field counts as secret by its name
(``secret_token``, ``oauth_client_secret``, ``password``...): its old and new values are stored as
``******`` when set and as an empty string when not, so the log still says *that* a secret changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from portal.models import REDACTED, AuditEntry

__all__ = ["REDACTED", "Activity", "audit_application", "is_secret_field", "record_audit", "redact"]

# "secret" or "password" anywhere; "token" as the last word (secret_token, access_token, "Secret Token")
# but not oauth_token_url / "Token endpoint", which are only addresses.
_SECRET_NAME = re.compile(r"secret|passw(or)?d|(^|[_\s.-])token$", re.IGNORECASE)


class Activity:
    """The activity names the audit log shows, worded as Entra's audit log words them."""

    ADD_APPLICATION = "Add application"
    UPDATE_APPLICATION = "Update application"
    DELETE_APPLICATION = "Delete application"
    ADD_USER_ASSIGNMENT = "Add app role assignment grant to user"
    REMOVE_USER_ASSIGNMENT = "Remove app role assignment from user"
    ADD_GROUP_ASSIGNMENT = "Add app role assignment to group"
    REMOVE_GROUP_ASSIGNMENT = "Remove app role assignment from group"
    UPDATE_PROVISIONING = "Update provisioning setting or credentials"
    START_PROVISIONING = "Enable/start provisioning configuration"
    STOP_PROVISIONING = "Disable/pause provisioning configuration"
    RESTART_PROVISIONING = "Enable/restart provisioning configuration"
    UPDATE_MAPPINGS = "Update attribute mappings or scope"
    QUARANTINE = "Quarantine provisioning job"
    RELEASE_QUARANTINE = "Release provisioning job from quarantine"
    ADD_USER = "Add user"
    UPDATE_USER = "Update user"
    DELETE_USER = "Delete user"
    RESTORE_USER = "Restore user"
    HARD_DELETE_USER = "Hard delete user"
    ADD_GROUP = "Add group"
    UPDATE_GROUP = "Update group"
    DELETE_GROUP = "Delete group"
    RESTORE_GROUP = "Restore group"
    HARD_DELETE_GROUP = "Hard delete group"
    ADD_MEMBER = "Add member to group"
    REMOVE_MEMBER = "Remove member from group"
    BULK_IMPORT = "Bulk import (CSV)"


def is_secret_field(field: str) -> bool:
    """True when a field's values must never be stored or shown (decided by its name)."""
    return bool(_SECRET_NAME.search(field or ""))


def redact(field: str, value: Any) -> Any:
    """The value as it may be stored in the audit log: secrets become ``******`` (or "" when unset)."""
    if not is_secret_field(field):
        return _plain(value)
    return REDACTED if value not in (None, "", b"") else ""


def _plain(value: Any) -> Any:
    """JSON-safe rendering of a changed value (dates, UUIDs and choices become text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def record_audit(
    actor: Any,
    activity: str,
    *,
    target_type: str,
    target_id: Any,
    target_name: str,
    application: Any = None,
    changes: Iterable[tuple[str, Any, Any]] = (),
    category: str = "ApplicationManagement",
) -> AuditEntry:
    """Store one audit entry; ``changes`` is ``[(field, old, new)]`` and is redacted here.

    ``actor`` is a Django user or ``None`` (a background job, the demo loader). ``application`` is an
    ``Application`` (or its primary key) so the log can be filtered by app even after it is deleted.
    """
    rows = [
        {"field": field, "old": redact(field, old), "new": redact(field, new)} for field, old, new in changes
    ]
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_name = actor.get_username()
        actor_obj = actor
    else:
        actor_name = "Provisioning service" if actor is None else str(actor)
        actor_obj = None
    app_id = getattr(application, "pk", application)
    return AuditEntry.objects.create(
        actor=actor_obj,
        actor_name=actor_name[:150],
        category=category,
        activity=activity,
        target_type=target_type,
        target_id=str(target_id)[:64],
        target_name=(target_name or "")[:256],
        application_id=app_id,
        changes=rows,
    )


def audit_application(
    actor: Any, application: Any, activity: str, changes: Iterable[tuple[str, Any, Any]] = ()
) -> AuditEntry:
    """One entry about an application (its settings, provisioning or mappings), in the one shape they share."""
    return record_audit(
        actor,
        activity,
        target_type="Application",
        target_id=application.app_id,
        target_name=application.display_name,
        application=application,
        changes=changes,
    )


def audit_user(
    actor: Any, user: Any, activity: str, changes: Iterable[tuple[str, Any, Any]], category: str
) -> AuditEntry:
    """One entry about a portal user (a role given or taken, an API token made or revoked)."""
    return record_audit(
        actor,
        activity,
        target_type="User",
        target_id=user.pk,
        target_name=user.get_username(),
        changes=changes,
        category=category,
    )
