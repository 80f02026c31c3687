"""One provisioning log row as Graph's ``provisioningObjectSummary``.

The one serialiser of a log row: the API (``/auditLogs/provisioning``, provision on demand), the JSON and
CSV downloads and the detail panel all show the same ids (the row's GUID), step names and values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_noop

from portal.tenant import tenant_id
from provisioning.models import LogAction, LogStatus, ProvisioningJob, ProvisioningLog

SOURCE_SYSTEM = "Azure Active Directory"
PROVISIONING_SERVICE = "Azure AD Provisioning Service"

# Graph's provisioningAction ← the log's action (the portal's Skip is Graph's "other": nothing was written).
GRAPH_ACTION = {
    LogAction.CREATE: "create",
    LogAction.UPDATE: "update",
    LogAction.DISABLE: "disable",
    LogAction.DELETE: "delete",
    LogAction.SKIP: "other",
    LogAction.OTHER: "other",
}
# The engine's step name (first word, lower case) → Graph's step name and provisioningStepType.
STEP_TYPES = {
    "import": ("EntryImport", "import"),
    "scoping": ("EntrySynchronizationScoping", "scoping"),
    "matching": ("EntrySynchronization", "matching"),
    "processing": ("EntrySynchronization", "processing"),
    "reference": ("EntryReferenceResolution", "referenceResolution"),
    "referenceresolution": ("EntryReferenceResolution", "referenceResolution"),
    "export": ("EntryExport", "export"),
}
ACTION_SUFFIX = {"Create": "Add", "Update": "Update", "Disable": "Update", "Delete": "Delete"}

# What Entra's docs say about codes the engine does not already explain in recommended_action.
ERROR_GUIDANCE = {
    "Conflict": gettext_noop(
        "Conflicting values: fix them in the source or the target, or adjust the matching attributes."
    ),
    "EntryConflict": gettext_noop(
        "Conflicting values: fix them in the source or the target, or adjust the matching attributes."
    ),
    "TooManyRequests": gettext_noop("The target throttled the request; it is retried automatically."),
    "InternalServerError": gettext_noop(
        "The target failed (5xx); the operation is retried in the next cycle."
    ),
    "InsufficientRights": gettext_noop("The credentials are valid but not authorized for this operation."),
    "Unauthorized": gettext_noop(
        "The target refused the credentials: enter a valid secret token and test the connection."
    ),
    "InvalidAnchor": gettext_noop(
        "An object created or matched earlier no longer exists in the target. Restart provisioning to match again."
    ),
    "MandatoryFieldsMissing": gettext_noop(
        "A required value is missing on the source object, or the mapping yields none."
    ),
    "SchemaAttributeNotFound": gettext_noop(
        "The target attribute does not exist in the target: remove it from the mappings."
    ),
    "Timeout": gettext_noop("The target was too slow; the operation is retried in the next cycle."),
    "WebExceptionProtocolError": gettext_noop(
        "HTTP protocol error; the operation is retried in the next cycle."
    ),
    "DuplicateTargetEntries": gettext_noop(
        "More than one target object matches: make the matching attribute unique."
    ),
    "DuplicateSourceEntries": gettext_noop(
        "More than one source object matches: make the matching attribute unique."
    ),
    "ImportSkipped": gettext_noop("The matching attribute has no value on the source object."),
    "EntrySynchronizationSkipped": gettext_noop("Out of scope, or already in sync: nothing to do."),
}


def guidance(log: ProvisioningLog) -> str:
    """The recommended action: the engine's, else Entra's for the error code."""
    return log.recommended_action or ERROR_GUIDANCE.get(log.error_code, "")


def failed_exchange(log: ProvisioningLog) -> dict[str, Any] | None:
    """The request the failed step sent and the answer it got (``{"request", "response"}``), if recorded."""
    for step in reversed(log.steps or []):
        details = step.get("details") if isinstance(step, dict) else None
        if (
            step.get("status") == "failure"
            and isinstance(details, dict)
            and (details.get("request") or details.get("response"))
        ):
            return {"request": details.get("request"), "response": details.get("response")}
    return None


def exchange_text(log: ProvisioningLog) -> str | None:
    """:func:`failed_exchange` as one line of text (Graph's ``errorInformation.additionalDetails``)."""
    exchange = failed_exchange(log)
    if exchange is None:
        return None
    parts = []
    request, response = exchange["request"] or {}, exchange["response"] or {}
    if request:
        parts.append(
            f"Request: {request.get('operation') or ''} {request.get('method') or ''} {request.get('path') or ''}"
            + (f" {json.dumps(request['body'], sort_keys=True)}" if request.get("body") is not None else "")
        )
    if response:
        parts.append(
            f"Response: HTTP {response.get('status')}"
            + (f" scimType {response['scimType']}" if response.get("scimType") else "")
            + (f": {response['detail']}" if response.get("detail") else "")
        )
    return " | ".join(" ".join(p.split()) for p in parts) or None


def job_directory() -> dict[int, dict[str, str]]:
    """Every job with its app's identifiers, loaded once per download (a handful of rows)."""
    rows = ProvisioningJob.objects.values_list(
        "pk",
        "job_id",
        "application__display_name",
        "application__app_id",
        "application__service_principal_id",
    )
    return {
        pk: {"job_id": jid, "app_name": name, "app_id": str(app_id), "sp_id": str(sp_id)}
        for pk, jid, name, app_id, sp_id in rows
    }


def job_identity(job: ProvisioningJob | None) -> dict[str, str]:
    """One job's entry of :func:`job_directory` (for a single record)."""
    if job is None:
        return {}
    app = job.application
    return {
        "job_id": job.job_id,
        "app_name": app.display_name,
        "app_id": str(app.app_id),
        "sp_id": str(app.service_principal_id),
    }


def text(value: Any) -> str | None:
    """A value as Graph's string properties carry it (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def graph_steps(log: ProvisioningLog) -> list[dict[str, Any]]:
    """The log's steps with Graph's names (``EntryImport``, ``EntryExportAdd``…) and step types."""
    steps = []
    for step in log.steps or []:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name") or "")
        base, kind = STEP_TYPES.get(
            name.split()[0].lower() if name else "", (f"Entry{name.replace(' ', '')}", "processing")
        )
        if kind in ("matching", "export"):
            base += ACTION_SUFFIX.get(log.action, "Skip" if kind == "matching" else "")
        details = step.get("details")
        steps.append(
            {
                "name": base,
                "provisioningStepType": kind,
                "status": step.get("status") or "success",
                "description": step.get("description") or "",
                "details": {str(k): text(v) or "" for k, v in details.items()}
                if isinstance(details, dict)
                else {},
            }
        )
    return steps


def modified_properties(log: ProvisioningLog) -> list[dict[str, Any]]:
    return [
        {
            "displayName": str(prop.get("name") or prop.get("displayName") or ""),
            "oldValue": text(prop.get("old", prop.get("oldValue"))),
            "newValue": text(prop.get("new", prop.get("newValue"))),
        }
        for prop in log.modified_properties or []
        if isinstance(prop, dict)
    ]


def graph_record(log: ProvisioningLog, job: Mapping[str, str], tenant: str | None = None) -> dict[str, Any]:
    """One log row as Graph's provisioningObjectSummary. ``job`` is its :func:`job_directory` entry."""
    tenant = tenant or tenant_id()
    failed = log.status == LogStatus.FAILURE
    error = {
        "errorCode": log.error_code or None,
        "reason": log.error_reason or None,
        "additionalDetails": exchange_text(log),
        "errorCategory": log.error_category or None,
        "recommendedAction": guidance(log) or None,
    }
    has_error = failed or any(error.values())
    app_id, sp_id, app_name = job.get("app_id", ""), job.get("sp_id", ""), job.get("app_name", "")
    return {
        "id": str(log.log_id),
        "activityDateTime": log.activity_at,
        "tenantId": tenant,
        "jobId": job.get("job_id", ""),
        "cycleId": str(log.cycle_id),
        "changeId": str(log.change_id),
        "action": log.action,
        "provisioningAction": GRAPH_ACTION.get(log.action, "other"),
        "durationInMilliseconds": log.duration_ms,
        "sourceSystem": {"id": tenant, "displayName": SOURCE_SYSTEM, "details": {}},
        "targetSystem": {
            "id": app_id,
            "displayName": app_name,
            "details": {
                "ApplicationId": app_id,
                "ServicePrincipalId": sp_id,
                "ServicePrincipalDisplayName": app_name,
            },
        },
        "initiatedBy": {"id": "", "displayName": PROVISIONING_SERVICE, "initiatorType": "system"},
        "servicePrincipal": {"id": sp_id, "displayName": app_name},
        "sourceIdentity": {
            "id": log.source_id,
            "displayName": log.source_name,
            "identityType": log.object_kind,
            "details": {},
        },
        "targetIdentity": {
            "id": log.target_id,
            "displayName": log.target_name,
            "identityType": log.object_kind,
            "details": {},
        },
        # Graph's statusInfo is a statusBase (just the status) or, with error details, a statusDetails.
        "statusInfo": {"@odata.type": "#microsoft.graph.statusDetails", "status": log.status, **error}
        if has_error
        else {"@odata.type": "#microsoft.graph.statusBase", "status": log.status},
        "provisioningStatusInfo": {"status": log.status, "errorInformation": error if has_error else None},
        "provisioningSteps": graph_steps(log),
        "modifiedProperties": modified_properties(log),
    }
