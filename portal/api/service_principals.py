"""``/servicePrincipals``: the enterprise applications, as Graph's servicePrincipal (and application).

In this portal one ``Application`` row is both Graph objects: ``service_principal_id`` is the
servicePrincipal's id (the "Object ID" the blades show) and ``app_id`` the appId shared by both. The
application object's own id is derived from the appId so that it is stable without a column.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router

from portal.accounts.roles import Capability, visible_applications
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import (
    DUMP,
    SELECT,
    absolute_static,
    caller,
    no_content,
    parse_object_id,
    responses,
)
from portal.api.errors import not_found
from portal.api.listing import Listing, list_route
from portal.api.schemas import ServicePrincipal, ServicePrincipalCollection
from portal.applications import services
from portal.applications.gallery import load_templates
from portal.applications.models import Application, AppRole

router = Router(tags=["servicePrincipals"])
C = Capability

# Graph's id of the implicit "Default Access" role (msiam_access): an assignment without a role.
DEFAULT_ACCESS_ROLE_ID = uuid.UUID(int=0)
APPLICATION_NAMESPACE = uuid.UUID("6f1c8f36-5a53-4c43-9b39-5f58f0a3c0de")
# Gallery templates are files named by a slug (``taskize-connect``); the API shows Graph's GUID ids,
# derived from the slug so that they never change and need no column.
TEMPLATE_NAMESPACE = uuid.UUID("0b6f3c52-8f0e-4d55-a6c1-2d4a1b3e9f70")
TAGS = [
    "WindowsAzureActiveDirectoryIntegratedApp",
    "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
]


def template_guid(gallery_id: str) -> str:
    """The applicationTemplate id Graph clients see for a gallery template."""
    return str(uuid.uuid5(TEMPLATE_NAMESPACE, gallery_id))


def gallery_id(raw: str) -> str:
    """The gallery slug of a template id: its GUID (as the API shows it) or the slug itself (old URLs)."""
    try:
        wanted = str(uuid.UUID(raw))
    except (ValueError, AttributeError, TypeError):
        return raw
    for template in load_templates():
        if template_guid(template.id) == wanted:
            return template.id
    return raw


# Graph sorts service principals only in an advanced query (ConsistencyLevel: eventual and $count=true).
SP_ORDER = {
    "displayName": odata.OrderField("display_name", advanced_only=True),
    "createdDateTime": odata.OrderField("created_at", "datetime", advanced_only=True),
}
SP_FILTERS = {
    "id": odata.FilterField("service_principal_id", "guid"),
    "appId": odata.FilterField("app_id", "guid"),
    "displayName": odata.FilterField("display_name", ops=("eq", "startswith")),
    "applicationTemplateId": odata.FilterField("template_id", exact=True, convert=gallery_id),
    "publisherName": odata.FilterField("publisher", ops=("eq", "startswith")),
}


def find_application(raw: Any) -> Application | None:
    """The app whose service principal id is ``raw`` (None for an unknown or malformed id)."""
    try:
        object_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    return Application.objects.filter(service_principal_id=object_id).first()


def get_application(request: HttpRequest, raw: str) -> Application:
    """The app of ``/servicePrincipals/{id}``: 400 for a malformed id, 404 for an unknown one."""
    parse_object_id(raw)
    application = getattr(request, "graph_application", None) or find_application(raw)
    if application is None:
        raise not_found("id", raw)
    return application


def application_object_id(application: Application) -> str:
    return str(uuid.uuid5(APPLICATION_NAMESPACE, str(application.app_id)))


def role_id(role: AppRole) -> str:
    return str(DEFAULT_ACCESS_ROLE_ID if role.is_default else role.role_id)


def app_role(role: AppRole) -> dict[str, Any]:
    return {
        "id": role_id(role),
        "allowedMemberTypes": ["User"],
        "description": role.description or role.display_name,
        "displayName": role.display_name,
        "isEnabled": True,
        "origin": "Application",
        "value": role.value or None,
    }


def _template_facts(application: Application) -> tuple[str | None, str | None]:
    try:
        template = application.template
    except KeyError:  # the gallery template was removed since
        return None, None
    return template.homepage, template.display_name


def service_principal(request: HttpRequest, application: Application) -> dict[str, Any]:
    homepage, _ = _template_facts(application)
    return {
        "id": str(application.service_principal_id),
        "objectId": str(application.service_principal_id),
        "appId": str(application.app_id),
        "appDisplayName": application.display_name,
        "displayName": application.display_name,
        "applicationTemplateId": template_guid(application.template_id),
        "accountEnabled": True,
        "appRoleAssignmentRequired": True,
        "servicePrincipalNames": [str(application.app_id)],
        "servicePrincipalType": "Application",
        "tags": TAGS,
        "homepage": homepage,
        "publisherName": application.publisher or None,
        "appRoles": [app_role(role) for role in application.app_roles.all()],
        "createdDateTime": application.created_at,
    }


def application_object(application: Application) -> dict[str, Any]:
    return {
        "id": application_object_id(application),
        "objectId": application_object_id(application),
        "appId": str(application.app_id),
        "applicationTemplateId": template_guid(application.template_id),
        "displayName": application.display_name,
        "createdDateTime": application.created_at,
    }


SELECTABLE = odata.selectable(ServicePrincipal)


def _search(apps: QuerySet, text: str | None) -> QuerySet:
    """``$search``: on displayName (the default) or publisherName."""
    for name, term in odata.parse_search(text, ["displayName", "publisherName"]):
        field = {"displayName": "display_name", "publisherName": "publisher"}.get(name or "displayName")
        apps = apps.filter(**{f"{field}__icontains": term})
    return apps


list_route(
    router,
    "/servicePrincipals",
    Listing(
        entity_set="servicePrincipals",
        type_name="ServicePrincipal",
        schema=ServicePrincipal,
        filters=SP_FILTERS,
        order=SP_ORDER,
        rows=lambda request: visible_applications(
            caller(request), Application.objects.prefetch_related("app_roles")
        ),
        search=_search,
        body=service_principal,
    ),
    response=responses({200: ServicePrincipalCollection}),
    auth=requires(C.APPS_READ, owner_list=True),
    operation_id="listServicePrincipals",
    summary="List the enterprise applications (service principals)",
    **DUMP,
)


@router.get(
    "/servicePrincipals/{id}",
    response=responses({200: ServicePrincipal}),
    auth=requires(C.APPS_READ, app=True),
    operation_id="getServicePrincipal",
    summary="Get one service principal",
    **DUMP,
)
def get_service_principal(request: HttpRequest, id: str, select: str | None = SELECT) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.servicePrincipal")
    body = odata.apply_select(service_principal(request, get_application(request, id)), selected)
    return odata.entity(request, "servicePrincipals", body, selected)


@router.delete(
    "/servicePrincipals/{id}",
    response=responses({204: None}),
    auth=requires(C.APPS_WRITE, app=True),
    operation_id="deleteServicePrincipal",
    summary="Delete the application: provisioning stops, accounts in the target are left alone",
)
def delete_service_principal(request: HttpRequest, id: str) -> HttpResponse:
    services.delete_application(get_application(request, id), actor=caller(request))
    return no_content()


__all__ = [
    "absolute_static",
    "application_object",
    "find_application",
    "get_application",
    "router",
    "service_principal",
]
