"""``/servicePrincipals/{id}/appRoleAssignedTo``: who is assigned to an application, with which role.

As in Graph, an assignment names ``principalId`` (a user or group), ``resourceId`` (the service
principal) and ``appRoleId``; the all-zero GUID is the implicit "Default Access" role (assigned but
not provisioned). Assigning goes through ``portal.applications.services.add_assignment``, so the
change feed sees it and the next cycle provisions the user (or the group's members).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, UUIDField, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Status

from portal.accounts.roles import Capability
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import (
    DUMP,
    FILTER,
    SELECT,
    SKIPTOKEN,
    TOP,
    caller,
    no_content,
    parse_object_id,
    responses,
)
from portal.api.errors import bad_request, conflict, not_found
from portal.api.schemas import AppRoleAssignment, AppRoleAssignmentCollection, AppRoleAssignmentCreate
from portal.api.service_principals import DEFAULT_ACCESS_ROLE_ID, get_application, role_id
from portal.applications import services
from portal.applications.models import Application, AppRole
from portal.applications.models import AppRoleAssignment as Assignment
from portal.directory.models import DirectoryGroup, DirectoryUser

router = Router(tags=["appRoleAssignments"])
C = Capability

ASSIGNMENT_FILTERS = {
    "id": odata.FilterField("assignment_id", "guid"),
    "principalId": odata.FilterField("principal_oid", "guid"),
    "principalType": odata.FilterField("principal_type", choices={"user": "User", "group": "Group"}),
    "principalDisplayName": odata.FilterField("principal_name", ops=("eq", "startswith")),
    "appRoleId": odata.FilterField("graph_role_id", "guid"),
    "creationTimestamp": odata.FilterField("created_at", "datetime", ops=("eq", "ge", "gt", "le", "lt")),
    # v1.0's name for the same date, still accepted in $filter for scripts written against v1.0
    "createdDateTime": odata.FilterField("created_at", "datetime", ops=("eq", "ge", "gt", "le", "lt")),
}
SELECTABLE = odata.selectable(AppRoleAssignment)


def assignment_body(assignment: Assignment, application: Application) -> dict[str, Any]:
    principal = assignment.principal
    return {
        "id": str(assignment.assignment_id),
        "appRoleId": role_id(assignment.app_role),
        "principalId": str(principal.object_id),
        "principalType": principal.object_kind,
        "principalDisplayName": principal.display_name,
        "resourceId": str(application.service_principal_id),
        "resourceDisplayName": application.display_name,
        "creationTimestamp": assignment.created_at,  # beta's name (v1.0 calls it createdDateTime)
    }


def _assignments_set(application: Application) -> str:
    return f"servicePrincipals('{application.service_principal_id}')/appRoleAssignedTo"


def _assignments(application: Application):
    """Assignments of live principals, annotated with the columns ``$filter`` compares."""
    return (
        Assignment.objects.filter(application=application)
        .filter(
            Q(user__deleted_at__isnull=True, group__isnull=True)
            | Q(group__deleted_at__isnull=True, user__isnull=True)
        )
        .select_related("app_role", "user", "group")
        .annotate(
            principal_oid=Coalesce("user__object_id", "group__object_id", output_field=UUIDField()),
            principal_type=Case(When(user__isnull=False, then=Value("User")), default=Value("Group")),
            principal_name=Coalesce("user__display_name", "group__display_name"),
            graph_role_id=Case(
                When(app_role__is_default=True, then=Value(DEFAULT_ACCESS_ROLE_ID, output_field=UUIDField())),
                default=F("app_role__role_id"),
                output_field=UUIDField(),
            ),
        )
    )


@router.get(
    "/servicePrincipals/{id}/appRoleAssignedTo",
    response=responses({200: AppRoleAssignmentCollection}),
    auth=requires(C.APPS_READ, app=True),
    operation_id="listAppRoleAssignedTo",
    summary="Users and groups assigned to the application",
    **DUMP,
)
def list_assignments(
    request: HttpRequest,
    id: str,
    filter_: str | None = FILTER,
    select: str | None = SELECT,
    top: int = TOP,
    skiptoken: str | None = SKIPTOKEN,
) -> dict[str, Any]:
    application = get_application(request, id)
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.appRoleAssignment")
    rows = odata.filter_queryset(_assignments(application), filter_, ASSIGNMENT_FILTERS)
    page = odata.page_by_pk(rows, top, skiptoken)
    return odata.collection(
        request,
        _assignments_set(application),
        [odata.apply_select(assignment_body(a, application), selected) for a in page.items],
        page.next_token,
    )


def _role(application: Application, app_role_id: uuid.UUID) -> AppRole:
    roles = application.app_roles.all()
    role = (
        roles.filter(is_default=True).first()
        if app_role_id == DEFAULT_ACCESS_ROLE_ID
        else roles.filter(role_id=app_role_id).first()
    )
    if role is None:
        raise bad_request(
            f"'{app_role_id}' is not an app role of this application; see appRoles on the service principal.",
            "appRoleId",
        )
    return role


@router.post(
    "/servicePrincipals/{id}/appRoleAssignedTo",
    response=responses({201: AppRoleAssignment}),
    auth=requires(C.APPS_WRITE, app=True),
    operation_id="createAppRoleAssignedTo",
    summary="Assign a user or group to the application with an app role",
    **DUMP,
)
def create_assignment(
    request: HttpRequest, id: str, payload: AppRoleAssignmentCreate
) -> Status[dict[str, Any]]:
    application = get_application(request, id)
    if payload.resourceId != application.service_principal_id:
        raise bad_request("resourceId must be the id of the service principal in the URL.", "resourceId")
    role = _role(application, payload.appRoleId)
    principal: DirectoryUser | DirectoryGroup | None = (
        DirectoryUser.objects.active().filter(object_id=payload.principalId).first()
        or DirectoryGroup.objects.active().filter(object_id=payload.principalId).first()
    )
    if principal is None:
        raise not_found("principalId", payload.principalId)
    field = "user" if isinstance(principal, DirectoryUser) else "group"
    if Assignment.objects.filter(app_role=role, **{field: principal}).exists():
        raise conflict(
            f"{principal.display_name} is already assigned to this application with the role {role.display_name}.",
            "principalId",
        )
    try:
        with transaction.atomic():
            assignment = services.add_assignment(application, principal, role, actor=caller(request))
    except services.ApplicationError as error:
        raise bad_request(
            error.message, "appRoleId" if error.field == "app_role" else "principalId"
        ) from None
    except IntegrityError:
        raise conflict("This assignment was made a moment ago.", "principalId") from None
    return Status(
        201, odata.entity(request, _assignments_set(application), assignment_body(assignment, application))
    )


@router.delete(
    "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}",
    response=responses({204: None}),
    auth=requires(C.APPS_WRITE, app=True),
    operation_id="deleteAppRoleAssignedTo",
    summary="Remove an assignment; the next cycle deprovisions whoever is no longer entitled",
)
def delete_assignment(
    request: HttpRequest, id: str, assignment_id: str = Path(..., alias="assignmentId")
) -> HttpResponse:
    application = get_application(request, id)
    value = parse_object_id(assignment_id, "assignmentId")
    assignment = (
        Assignment.objects.filter(application=application, assignment_id=value)
        .select_related("app_role", "user", "group", "application")
        .first()
    )
    if assignment is None:
        raise not_found("assignmentId", value)
    services.remove_assignment(assignment, actor=caller(request))
    return no_content()
