"""``/auditLogs/provisioning``: the provisioning logs as Graph's ``provisioningObjectSummary``.

One ``ProvisioningLog`` row is one record. Its id is the row's own GUID (``log_id``), as Graph's ids are;
the ids this API showed before (the primary key written as a GUID, ``00000000-0000-0000-0000-00000000002a``)
still open the record. Paging is keyset
on (activityDateTime, id), newest first: the same order and cost as the portal's log page.
Readers of the logs (Reports/Security Reader and the admin roles) see every app; owners see the logs of
the applications they own.
"""

from __future__ import annotations

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
    SELECT,
    SKIPTOKEN,
    TOP_HELP,
    caller,
    responses,
)
from portal.api.errors import not_found
from portal.api.schemas import ProvisioningObjectSummary, ProvisioningObjectSummaryCollection
from provisioning.logs.graph import graph_record, job_identity
from provisioning.models import LogAction, LogStatus, ProvisioningLog

router = Router(tags=["auditLogs"])
C = Capability
DEFAULT_TOP = 50
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


def summary(request: HttpRequest, entry: ProvisioningLog) -> dict[str, Any]:
    """One log row as Graph's provisioningObjectSummary (the one serialiser, shared with the downloads)."""
    return graph_record(entry, job_identity(entry.job))


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
    select: str | None = SELECT,
    top: int = Query(DEFAULT_TOP, alias="$top", ge=1, le=MAX_TOP, description=TOP_HELP),
    skiptoken: str | None = SKIPTOKEN,
) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.provisioningObjectSummary")
    logs = odata.filter_queryset(visible_logs(request), filter_, LOG_FILTERS)
    page = odata.page_newest_first(logs, "activity_at", top, skiptoken)
    return odata.collection(
        request,
        "auditLogs/provisioning",
        [odata.apply_select(summary(request, entry), selected) for entry in page.items],
        page.next_token,
    )


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
    select: str | None = SELECT,
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
