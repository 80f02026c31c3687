"""``/applicationTemplates``: the gallery, and adding an app from it (``instantiate``).

Template ids are GUIDs, as Graph's are, derived from the gallery's own ids (``taskize-connect``, what the
portal's pages and ``docs/gallery.md`` use); URLs still accept the gallery id, as they did before.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Router, Status

from portal.accounts.roles import Capability
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import (
    DUMP,
    FILTER,
    SEARCH,
    SELECT,
    TOP,
    absolute_static,
    caller,
    responses,
)
from portal.api.errors import bad_request, not_found
from portal.api.schemas import (
    ApplicationServicePrincipal,
    ApplicationTemplate,
    ApplicationTemplateCollection,
    InstantiateRequest,
)
from portal.api.service_principals import application_object, gallery_id, service_principal, template_guid
from portal.applications import services
from portal.applications.gallery import AppTemplate, get_template, load_templates, search_templates

router = Router(tags=["applicationTemplates"])
C = Capability

TEMPLATE_FILTERS = {
    "id": odata.FilterField("id", exact=True),
    "displayName": odata.FilterField("displayName", ops=("eq", "startswith")),
    "publisher": odata.FilterField("publisher", ops=("eq", "startswith")),
}
SELECTABLE = odata.selectable(ApplicationTemplate)
TEMPLATE_ID = Path(
    ...,
    alias="id",
    description="The template id (a GUID; the gallery id is accepted too)",
    examples=["scim-generic"],
)


def application_template(request: HttpRequest, template: AppTemplate) -> dict[str, Any]:
    return {
        "id": template_guid(template.id),
        "displayName": template.display_name,
        "description": template.description,
        "publisher": template.publisher,
        "homePageUrl": template.homepage,
        "logoUrl": absolute_static(request, template.logo),
        "categories": list(template.categories),
        "supportedProvisioningTypes": list(template.supported_provisioning_types),
        "supportedSingleSignOnModes": ["notSupported"],
    }


def _template(template_id: str) -> AppTemplate:
    try:
        return get_template(gallery_id(template_id))
    except KeyError:
        raise not_found("id", template_id[:200]) from None


@router.get(
    "/applicationTemplates",
    response=responses({200: ApplicationTemplateCollection}),
    auth=requires(C.APPS_CREATE),
    operation_id="listApplicationTemplates",
    summary="List the gallery's application templates",
    **DUMP,
)
def list_templates(
    request: HttpRequest,
    filter_: str | None = FILTER,
    search: str | None = SEARCH,
    select: str | None = SELECT,
    top: int = TOP,
) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.applicationTemplate")
    templates = load_templates()
    for _name, term in odata.parse_search(search, ["displayName"]):
        found = {t.id for t in search_templates(term)}
        templates = [t for t in templates if t.id in found]
    items = odata.filter_objects(
        [application_template(request, t) for t in templates], filter_, TEMPLATE_FILTERS
    )
    return odata.collection(
        request, "applicationTemplates", [odata.apply_select(item, selected) for item in items[:top]]
    )


@router.get(
    "/applicationTemplates/{id}",
    response=responses({200: ApplicationTemplate}),
    auth=requires(C.APPS_CREATE),
    operation_id="getApplicationTemplate",
    summary="Get one gallery template",
    **DUMP,
)
def get_application_template(
    request: HttpRequest,
    template_id: str = TEMPLATE_ID,
    select: str | None = SELECT,
) -> dict[str, Any]:
    selected = odata.parse_select(select, SELECTABLE, "microsoft.graph.applicationTemplate")
    body = odata.apply_select(application_template(request, _template(template_id)), selected)
    return odata.entity(request, "applicationTemplates", body, selected)


@router.post(
    "/applicationTemplates/{id}/instantiate",
    response=responses({201: ApplicationServicePrincipal}),
    auth=requires(C.APPS_CREATE),
    operation_id="instantiateApplicationTemplate",
    summary="Add an application from the gallery: 201 with the application and its service principal",
    **DUMP,
)
def instantiate(
    request: HttpRequest, payload: InstantiateRequest, template_id: str = TEMPLATE_ID
) -> Status[dict[str, Any]]:
    template = _template(template_id)
    try:
        with transaction.atomic():
            application = services.instantiate(template.id, payload.displayName, actor=caller(request))
    except services.ApplicationError as error:
        raise bad_request(
            error.message, "displayName" if error.field == "display_name" else error.field
        ) from None
    return Status(
        201,
        {
            "application": application_object(application),
            "servicePrincipal": service_principal(request, application),
        },
    )
