"""``/auditLogs/provisioning``: the provisioning logs as Graph's ``provisioningObjectSummary``.

One ``ProvisioningLog`` row is one record. Its id is the row's own GUID (``log_id``), as Graph's ids are;
the ids this API showed before (the primary key written as a GUID, ``00000000-0000-0000-0000-00000000002a``)
still open the record. Paging is keyset
on (activityDateTime, id), newest first: the same order and cost as the portal's log page.
Readers of the logs (Reports/Security Reader and the admin roles) see every app; owners see the logs of
the applications they own.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router

from portal.accounts.roles import Capability, has_capability, owned_application_ids
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import (
    DUMP,
    FILTER_HELP,
    MAX_TOP,
    SELECT_HELP,
    SKIPTOKEN_HELP,
    TOP_HELP,
    caller,
    responses,
    tenant_id,
)
from portal.api.errors import not_found
from portal.api.schemas import ProvisioningObjectSummary, ProvisioningObjectSummaryCollection
from provisioning.logs.export import exchange_text
from provisioning.models import LogAction, LogStatus, ProvisioningLog

router = Router(tags=["auditLogs"])
C = Capability
DEFAULT_TOP = 50
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
ACTION_CHOICES: dict[str, Any] = {
    "create": LogAction.CREATE,
    "update": LogAction.UPDATE,
    "disable": LogAction.DISABLE,
    "delete": LogAction.DELETE,
    "other": [LogAction.OTHER, LogAction.SKIP],
    "skip": LogAction.SKIP,
    "stageddelete": [],
}
STATUS_CHOICES = {s.value: s.value for s in LogStatus}
STEP_TYPES = {
    "import": ("EntryImport", "import"),
    "scoping": ("EntrySynchronizationScoping", "scoping"),
    "matching": ("EntrySynchronization", "matching"),
    "processing": ("EntrySynchronization", "processing"),
    "reference": ("EntryReferenceResolution", "referenceResolution"),
    "export": ("EntryExport", "export"),
}
ACTION_SUFFIX = {"Create": "Add", "Update": "Update", "Disable": "Update", "Delete": "Delete"}


def _old_pk(value: uuid.UUID) -> int | None:
    """The primary key in an id of the old form (the pk written as a GUID), None for any other GUID."""
    return value.int if 0 < value.int < 2**63 else None


LOG_FILTERS = {
    "id": odata.FilterField("log_id", "guid"),
    "activityDateTime": odata.FilterField("activity_at", "datetime", ops=("eq", "ge", "gt", "le", "lt")),
    "jobId": odata.FilterField("job__job_id", exact=True),
    "cycleId": odata.FilterField("cycle_id", "guid"),
    "changeId": odata.FilterField("change_id", "guid"),
    "action": odata.FilterField("action", choices=ACTION_CHOICES),
    "provisioningAction": odata.FilterField("action", choices=ACTION_CHOICES),
    "statusInfo/status": odata.FilterField("status", choices=STATUS_CHOICES),
    "provisioningStatusInfo/status": odata.FilterField("status", choices=STATUS_CHOICES),
    "servicePrincipal/id": odata.FilterField("job__application__service_principal_id", "guid"),
    "servicePrincipal/displayName": odata.FilterField(
        "job__application__display_name", ops=("eq", "startswith")
    ),
    "sourceIdentity/id": odata.FilterField("source_id", exact=True),
    "sourceIdentity/displayName": odata.FilterField("source_name", ops=("eq", "startswith")),
    "sourceIdentity/identityType": odata.FilterField(
        "object_kind", choices={"user": "User", "group": "Group"}
    ),
    "targetIdentity/id": odata.FilterField("target_id", exact=True),
    "targetIdentity/displayName": odata.FilterField("target_name", ops=("eq", "startswith")),
}
SELECTABLE = odata.selectable(ProvisioningObjectSummary)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _details(details: Any) -> dict[str, str]:
    if not isinstance(details, dict):
        return {}
    return {str(k): _text(v) or "" for k, v in details.items()}


def _steps(entry: ProvisioningLog) -> list[dict[str, Any]]:
    steps = []
    for step in entry.steps or []:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name") or "")
        base, kind = STEP_TYPES.get(
            name.split()[0].lower() if name else "", (f"Entry{name.replace(' ', '')}", "processing")
        )
        if kind in ("matching", "export"):
            base += ACTION_SUFFIX.get(entry.action, "Skip" if kind == "matching" else "")
        steps.append(
            {
                "name": base,
                "provisioningStepType": kind,
                "status": step.get("status") or "success",
                "description": step.get("description") or "",
                "details": _details(step.get("details")),
            }
        )
    return steps


def summary(request: HttpRequest, entry: ProvisioningLog) -> dict[str, Any]:
    """One log row as Graph's provisioningObjectSummary."""
    application = entry.job.application
    failed = entry.status == LogStatus.FAILURE
    error = {
        "errorCode": entry.error_code or None,
        "reason": entry.error_reason or None,
        "additionalDetails": exchange_text(entry),
        "errorCategory": entry.error_category or None,
        "recommendedAction": entry.recommended_action or None,
    }
    has_error = any(error.values())
    tenant = tenant_id()
    return {
        "id": str(entry.log_id),
        "activityDateTime": entry.activity_at,
        "tenantId": tenant,
        "jobId": entry.job.job_id,
        "cycleId": str(entry.cycle_id),
        "changeId": str(entry.change_id),
        "action": entry.action,
        "provisioningAction": GRAPH_ACTION.get(entry.action, "other"),
        "durationInMilliseconds": entry.duration_ms,
        "sourceSystem": {"id": tenant, "displayName": SOURCE_SYSTEM, "details": {}},
        "targetSystem": {
            "id": str(application.app_id),
            "displayName": application.display_name,
            "details": {
                "ApplicationId": str(application.app_id),
                "ServicePrincipalId": str(application.service_principal_id),
                "ServicePrincipalDisplayName": application.display_name,
            },
        },
        "initiatedBy": {"id": "", "displayName": PROVISIONING_SERVICE, "initiatorType": "system"},
        "servicePrincipal": {
            "id": str(application.service_principal_id),
            "displayName": application.display_name,
        },
        "sourceIdentity": {
            "id": entry.source_id,
            "displayName": entry.source_name,
            "identityType": entry.object_kind,
            "details": {},
        },
        "targetIdentity": {
            "id": entry.target_id,
            "displayName": entry.target_name,
            "identityType": entry.object_kind,
            "details": {},
        },
        # Graph's statusInfo is a statusBase (just the status) or, with error details, a statusDetails.
        "statusInfo": {"@odata.type": "#microsoft.graph.statusDetails", "status": entry.status, **error}
        if failed or has_error
        else {"@odata.type": "#microsoft.graph.statusBase", "status": entry.status},
        "provisioningStatusInfo": {
            "status": entry.status,
            "errorInformation": error if failed or has_error else None,
        },
        "provisioningSteps": _steps(entry),
        "modifiedProperties": [
            {
                "displayName": str(prop.get("name") or prop.get("displayName") or ""),
                "oldValue": _text(prop.get("old", prop.get("oldValue"))),
                "newValue": _text(prop.get("new", prop.get("newValue"))),
            }
            for prop in entry.modified_properties or []
            if isinstance(prop, dict)
        ],
    }


def visible_logs(request: HttpRequest) -> QuerySet[ProvisioningLog]:
    """All logs for log readers; the logs of owned applications for owners."""
    logs = ProvisioningLog.objects.select_related("job__application")
    user = caller(request)
    if has_capability(user, C.LOGS_READ):
        return logs
    return logs.filter(job__application_id__in=owned_application_ids(user))


@router.get(
    "/auditLogs/provisioning",
    response=responses({200: ProvisioningObjectSummaryCollection}),
    auth=requires(C.LOGS_READ, owner_list=True),
    operation_id="listProvisioningObjectSummary",
    summary="The provisioning logs, newest first",
    **DUMP,
)
def list_provisioning_logs(
    request: HttpRequest,
    filter_: str | None = Query(
        None,
        alias="$filter",
        description=FILTER_HELP
        + "; e.g. activityDateTime ge 2024-01-01T00:00:00Z and statusInfo/status eq 'failure'",
    ),
    select: str | None = Query(None, alias="$select", description=SELECT_HELP),
    top: int = Query(DEFAULT_TOP, alias="$top", ge=1, le=MAX_TOP, description=TOP_HELP),
    skiptoken: str | None = Query(None, alias="$skiptoken", description=SKIPTOKEN_HELP),
) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.provisioningObjectSummary")
    logs = odata.filter_queryset(visible_logs(request), filter_, LOG_FILTERS)
    page = odata.page_newest_first(logs, "activity_at", top, skiptoken)
    body: dict[str, Any] = {
        "@odata.context": odata.context_url(request, "auditLogs/provisioning"),
        "value": [odata.apply_select(summary(request, entry), selected) for entry in page.items],
    }
    if link := odata.next_link(request, page.next_token):
        body["@odata.nextLink"] = link
    return body


@router.get(
    "/auditLogs/provisioning/{id}",
    response=responses({200: ProvisioningObjectSummary}),
    auth=requires(C.LOGS_READ, owner_list=True),
    operation_id="getProvisioningObjectSummary",
    summary="One provisioning log record",
    **DUMP,
)
def get_provisioning_log(
    request: HttpRequest,
    id: str,
    select: str | None = Query(None, alias="$select", description=SELECT_HELP),
) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.provisioningObjectSummary")
    try:
        value = uuid.UUID(id) if "\x00" not in id and len(id) <= 64 else None
    except ValueError:
        value = None
    entry = None
    if value is not None:
        old_pk = _old_pk(value)
        logs = visible_logs(request)
        entry = logs.filter(pk=old_pk).first() if old_pk is not None else logs.filter(log_id=value).first()
    if entry is None:
        raise not_found("id", id[:100])
    return odata.entity(
        request, "auditLogs/provisioning", odata.apply_select(summary(request, entry), selected), selected
    )
