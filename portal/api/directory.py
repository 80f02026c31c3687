"""``/users`` and ``/groups``: the tenant directory, Graph-shaped.

Writes go through the directory's own forms (``DirectoryUserForm``, ``DirectoryGroupForm``: the same
rules as the pages, e.g. the UPN format and uniqueness) and model saves, so the change feed that
provisioning reads records every change. Deleting moves to the recycle bin, as Graph's DELETE does.
Form errors come back as 400s naming the Graph property (``userPrincipalName``, not ``user_principal_name``).
Both resources are served by one set of routes (``_declare``); a ``Resource`` says what differs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Status

from portal.accounts.roles import Capability
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import (
    DUMP,
    FILTER,
    SEARCH,
    SELECT,
    SKIPTOKEN,
    TOP,
    no_content,
    parse_object_id,
    responses,
)
from portal.api.errors import ApiError, bad_request, conflict, not_found
from portal.api.listing import Listing, list_route
from portal.api.schemas import (
    DirectoryObjectCollection,
    Group,
    GroupCollection,
    GroupCreate,
    GroupWrite,
    ReferenceRequest,
    User,
    UserCollection,
    UserCreate,
    UserWrite,
)
from portal.directory import services
from portal.directory.attributes import EXTENSION_ATTRIBUTE_NAMES, GROUP_PROFILE, USER_PROFILE
from portal.directory.forms import DirectoryGroupForm, DirectoryUserForm, upn_taken, validate_upn
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership

router = Router(tags=["directory"])
C = Capability
READ = requires(C.DIRECTORY_READ)
WRITE = requires(C.DIRECTORY_WRITE)

# Graph property → form field (and model field): the directory's one table.
USER_FIELDS = USER_PROFILE
GROUP_FIELDS = GROUP_PROFILE
_TEXT_OPS = ("eq", "ne", "startswith")
USER_FILTERS = {
    "id": odata.FilterField("object_id", "guid"),
    **{
        name: odata.FilterField(field, ops=_TEXT_OPS, nullable=True)
        for name, field in USER_FIELDS.items()
        if name not in ("businessPhones", "accountEnabled")
    },
    "accountEnabled": odata.FilterField("account_enabled", "bool", ops=("eq", "ne")),
    "createdDateTime": odata.FilterField("created_date_time", "datetime", ops=("eq", "ge", "gt", "le", "lt")),
}
GROUP_FILTERS = {
    "id": odata.FilterField("object_id", "guid"),
    "displayName": odata.FilterField("display_name", ops=_TEXT_OPS),
    "description": odata.FilterField("description", ops=_TEXT_OPS, nullable=True),
    "mailNickname": odata.FilterField("mail_nickname", ops=_TEXT_OPS, nullable=True),
    "mail": odata.FilterField("mail", ops=_TEXT_OPS, nullable=True),
    "mailEnabled": odata.FilterField("mail_enabled", "bool", ops=("eq", "ne")),
    "securityEnabled": odata.FilterField("security_enabled", "bool", ops=("eq", "ne")),
    "createdDateTime": odata.FilterField("created_date_time", "datetime", ops=("eq", "ge", "gt", "le", "lt")),
}
# ``…/$count`` answers text/plain, as Graph does.
COUNT_RESPONSE = {
    "responses": {
        "200": {"description": "The number", "content": {"text/plain": {"schema": {"type": "integer"}}}}
    }
}
# Graph sorts users on these (createdDateTime only in an advanced query) and groups on displayName.
USER_ORDER = {
    "displayName": odata.OrderField("display_name"),
    "userPrincipalName": odata.OrderField("user_principal_name"),
    "createdDateTime": odata.OrderField("created_date_time", "datetime", advanced_only=True),
}
GROUP_ORDER = {"displayName": odata.OrderField("display_name")}
USER_SEARCH = {
    "displayName": "display_name",
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "givenName": "given_name",
    "surname": "surname",
}
GROUP_SEARCH = {"displayName": "display_name", "description": "description", "mail": "mail"}
_ID_IN_REFERENCE = re.compile(
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?$"
)


# --- shapes ------------------------------------------------------------------------------------------


def user_body(user: DirectoryUser) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(user.object_id)}
    for name, field in USER_FIELDS.items():
        value = getattr(user, field)
        body[name] = value if value != "" else None
    body["businessPhones"] = list(user.business_phones or [])
    body["createdDateTime"] = user.created_date_time
    extensions = user.extension_attributes or {}
    body["onPremisesExtensionAttributes"] = {name: extensions.get(name) for name in EXTENSION_ATTRIBUTE_NAMES}
    return body


def group_body(group: DirectoryGroup) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(group.object_id)}
    for name, field in GROUP_FIELDS.items():
        value = getattr(group, field)
        body[name] = value if value != "" else None
    body["groupTypes"] = []
    body["createdDateTime"] = group.created_date_time
    return body


def member_body(member: DirectoryUser | DirectoryGroup) -> dict[str, Any]:
    is_user = isinstance(member, DirectoryUser)
    return {
        "@odata.type": "#microsoft.graph.user" if is_user else "#microsoft.graph.group",
        "id": str(member.object_id),
        "displayName": member.display_name,
        "userPrincipalName": member.user_principal_name if is_user else None,
        "mail": member.mail or None,
    }


# --- lookups ------------------------------------------------------------------------------------------


def get_user(raw: str) -> DirectoryUser:
    """A live user by id, or by user principal name as Graph also allows (``/users/ada@contoso.com``)."""
    if "@" in raw and "\x00" not in raw and len(raw) <= 256:
        user = (
            DirectoryUser.objects.active()
            .alias(_upn=Lower("user_principal_name"))
            .filter(_upn=raw.lower())
            .first()
        )
    else:
        user = DirectoryUser.objects.active().filter(object_id=parse_object_id(raw)).first()
    if user is None:
        raise not_found("id", raw[:256])
    return user


def get_group(raw: str) -> DirectoryGroup:
    group = DirectoryGroup.objects.active().filter(object_id=parse_object_id(raw)).first()
    if group is None:
        raise not_found("id", raw)
    return group


def _search(queryset: QuerySet, text: str | None, fields: dict[str, str]) -> QuerySet:
    for name, term in odata.parse_search(text, list(fields)):
        if name is None:
            query = Q()
            for column in fields.values():
                query |= Q(**{f"{column}__icontains": term})
            queryset = queryset.filter(query)
        else:
            queryset = queryset.filter(**{f"{fields[name]}__icontains": term})
    return queryset


# --- form plumbing -------------------------------------------------------------------------------------


def _form_error(form: Any, fields: dict[str, str]) -> ApiError:
    graph_name = {form_field: graph for graph, form_field in fields.items()}
    for name in EXTENSION_ATTRIBUTE_NAMES:
        graph_name[name] = f"onPremisesExtensionAttributes.{name}"
    problems = []
    for field, messages in form.errors.items():
        target = graph_name.get(field, "" if field == "__all__" else field)
        for message in messages:
            problems.append((target, str(message)))
    target, message = problems[0]
    return bad_request(
        f"Invalid value for '{target}': {message}" if target else message,
        target or None,
        details=[{"code": "InvalidValue", "message": m, "target": t} for t, m in problems],
    )


def _user_form_data(user: DirectoryUser | None, payload: UserWrite) -> dict[str, Any]:
    """The form's POST data: the stored values, overwritten by what the payload sets."""
    data: dict[str, Any] = {}
    if user is not None:
        for field in USER_FIELDS.values():
            data[field] = getattr(user, field)
        data["business_phones"] = ", ".join(user.business_phones or [])
        data["manager"] = user.manager.user_principal_name if user.manager_id else ""
        data.update((user.extension_attributes or {}).items())
    else:
        data["account_enabled"] = True
    sent = payload.model_dump(exclude_unset=True)
    for name, field in USER_FIELDS.items():
        if name not in sent:
            continue
        value = sent[name]
        if name == "businessPhones":
            if any("," in phone for phone in value or []):
                raise bad_request("A phone number can't contain a comma.", "businessPhones")
            value = ", ".join(value or [])
        elif name == "accountEnabled":
            value = True if value is None else value
        data[field] = "" if value is None else value
    for name, value in (sent.get("onPremisesExtensionAttributes") or {}).items():
        data[name] = value or ""
    if data.get("account_enabled") is False:
        data.pop("account_enabled")  # an unchecked checkbox is an absent key
    return data


def _save_user(user: DirectoryUser | None, payload: UserWrite) -> DirectoryUser:
    data = _user_form_data(user, payload)
    upn = str(data.get("user_principal_name") or "")
    try:
        upn = validate_upn(upn)
    except ValidationError:
        pass  # the form reports the format problem with its own message
    else:
        if upn_taken(upn, exclude_pk=user.pk if user else None):
            raise conflict(
                f"Another object with the same value for property userPrincipalName ({upn}) already exists.",
                "userPrincipalName",
            )
    form = DirectoryUserForm(data, instance=user)
    if not form.is_valid():
        raise _form_error(form, USER_FIELDS)
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError:
        raise conflict(
            "Another object with the same value for property userPrincipalName already exists.",
            "userPrincipalName",
        ) from None


def _save_group(group: DirectoryGroup | None, payload: GroupWrite) -> DirectoryGroup:
    data: dict[str, Any] = {}
    if group is not None:
        for field in GROUP_FIELDS.values():
            data[field] = getattr(group, field)
    else:
        data["security_enabled"] = True
    sent = payload.model_dump(exclude_unset=True)
    sent.pop("groupTypes", None)
    for name, field in GROUP_FIELDS.items():
        if name in sent:
            data[field] = "" if sent[name] is None else sent[name]
    for flag in ("security_enabled", "mail_enabled"):
        if data.get(flag) in (False, ""):
            data.pop(flag, None)
    form = DirectoryGroupForm(data, instance=group)
    if not form.is_valid():
        raise _form_error(form, GROUP_FIELDS)
    with transaction.atomic():
        return form.save()


# --- users and groups: one implementation, two resources ----------------------------------------------


@dataclass(frozen=True)
class Resource:
    """What tells ``/users`` from ``/groups``: their six routes are declared once, by ``_declare``."""

    entity_set: str  # "users"
    type_name: str  # "User": in operation ids, $orderby errors and $select's type
    collection: type[Any]
    schema: type[Any]
    create_payload: type[Any]
    update_payload: type[Any]
    filters: dict[str, odata.FilterField]
    order: dict[str, odata.OrderField]
    search: dict[str, str]
    active: Callable[[], QuerySet]
    body: Callable[[Any], dict[str, Any]]
    get: Callable[[str], Any]
    save: Callable[[Any, Any], Any]
    create_summary: str
    get_summary: str
    delete_summary: str


def _declare(r: Resource) -> None:
    """The routes of one resource, ``$count`` before ``{id}`` (the first match wins)."""
    listing = Listing(
        entity_set=r.entity_set,
        type_name=r.type_name,
        schema=r.schema,
        filters=r.filters,
        order=r.order,
        rows=lambda request: r.active(),
        search=lambda rows, text: _search(rows, text, r.search),
        body=lambda request, row: r.body(row),
    )
    selectable = odata.selectable(r.schema)
    list_route(
        router,
        f"/{r.entity_set}",
        listing,
        response=responses({200: r.collection}),
        auth=READ,
        operation_id=f"list{r.type_name}s",
        summary=f"List {r.entity_set} (not those in the recycle bin)",
        **DUMP,
    )

    @router.get(
        f"/{r.entity_set}/$count",
        response=responses({}),
        openapi_extra=COUNT_RESPONSE,
        auth=READ,
        operation_id=f"count{r.type_name}s",
        summary=f"The number of {r.entity_set} (text/plain); needs the header ConsistencyLevel: eventual, as in Graph",
    )
    def count(
        request: HttpRequest, filter_: str | None = FILTER, search: str | None = SEARCH
    ) -> HttpResponse:
        # text/plain, as Graph answers it; Graph refuses it outside an advanced query
        if not odata.is_advanced(request):
            raise bad_request("$count is not currently supported.", "$count")
        rows = listing.search(odata.filter_queryset(r.active(), filter_, r.filters), search)
        return HttpResponse(str(rows.count()), content_type="text/plain; charset=utf-8")

    def create(request: HttpRequest, payload: Any) -> Status[dict[str, Any]]:
        return Status(201, odata.entity(request, r.entity_set, r.body(r.save(None, payload))))

    create.__annotations__["payload"] = r.create_payload  # ninja reads the body's schema from here
    router.post(
        f"/{r.entity_set}",
        response=responses({201: r.schema}),
        auth=WRITE,
        operation_id=f"create{r.type_name}",
        summary=r.create_summary,
        **DUMP,
    )(create)

    @router.get(
        f"/{r.entity_set}/{{id}}",
        response=responses({200: r.schema}),
        auth=READ,
        operation_id=f"get{r.type_name}",
        summary=r.get_summary,
        **DUMP,
    )
    def get(request: HttpRequest, id: str, select: str | None = SELECT) -> dict[str, Any]:
        selected = odata.parse_select(select, selectable, listing.graph_type)
        return odata.entity(request, r.entity_set, odata.apply_select(r.body(r.get(id)), selected), selected)

    def update(request: HttpRequest, id: str, payload: Any) -> HttpResponse:
        r.save(r.get(id), payload)
        return no_content()

    update.__annotations__["payload"] = r.update_payload
    router.patch(
        f"/{r.entity_set}/{{id}}",
        response=responses({204: None}),
        auth=WRITE,
        operation_id=f"update{r.type_name}",
        summary=f"Update a {r.type_name.lower()}'s properties",
    )(update)

    @router.delete(
        f"/{r.entity_set}/{{id}}",
        response=responses({204: None}),
        auth=WRITE,
        operation_id=f"delete{r.type_name}",
        summary=r.delete_summary,
    )
    def delete(request: HttpRequest, id: str) -> HttpResponse:
        services.soft_delete(r.get(id))
        return no_content()


USERS = Resource(
    entity_set="users",
    type_name="User",
    collection=UserCollection,
    schema=User,
    create_payload=UserCreate,
    update_payload=UserWrite,
    filters=USER_FILTERS,
    order=USER_ORDER,
    search=USER_SEARCH,
    active=DirectoryUser.objects.active,
    body=lambda user: user_body(user),  # looked up at each call, so that it can be replaced
    get=get_user,
    save=_save_user,
    create_summary="Create a user (passwordProfile is accepted and ignored)",
    get_summary="Get a user by id or user principal name",
    delete_summary="Delete a user (to the recycle bin; provisioning deprovisions them)",
)
GROUPS = Resource(
    entity_set="groups",
    type_name="Group",
    collection=GroupCollection,
    schema=Group,
    create_payload=GroupCreate,
    update_payload=GroupWrite,
    filters=GROUP_FILTERS,
    order=GROUP_ORDER,
    search=GROUP_SEARCH,
    active=DirectoryGroup.objects.active,
    body=lambda group: group_body(group),
    get=get_group,
    save=_save_group,
    create_summary="Create a security group",
    get_summary="Get a group",
    delete_summary="Delete a group (to the recycle bin)",
)
_declare(USERS)
_declare(GROUPS)


# --- members -----------------------------------------------------------------------------------------------


@router.get(
    "/groups/{id}/members",
    response=responses({200: DirectoryObjectCollection}),
    auth=READ,
    operation_id="listGroupMembers",
    summary="Direct members of a group: users and nested groups",
    **DUMP,
)
def list_members(
    request: HttpRequest,
    id: str,
    top: int = TOP,
    skiptoken: str | None = SKIPTOKEN,
) -> dict[str, Any]:
    group = get_group(id)
    memberships = GroupMembership.objects.filter(group=group).select_related("user", "member_group")
    memberships = memberships.filter(
        Q(user__deleted_at__isnull=True, member_group__isnull=True)
        | Q(member_group__deleted_at__isnull=True, user__isnull=True)
    )
    page = odata.page_by_pk(memberships, top, skiptoken)
    items = [member_body(m.user or m.member_group) for m in page.items]
    return odata.collection(request, "directoryObjects", items, page.next_token)


def _member_from_reference(reference: str) -> DirectoryUser | DirectoryGroup:
    match = _ID_IN_REFERENCE.search(reference.strip())
    if match is None:
        raise bad_request(
            "Use the member's URL, such as https://graph.microsoft.com/v1.0/directoryObjects/{id}.",
            "@odata.id",
        )
    object_id = uuid.UUID(match.group(1))
    member = (
        DirectoryUser.objects.active().filter(object_id=object_id).first()
        or DirectoryGroup.objects.active().filter(object_id=object_id).first()
    )
    if member is None:
        raise not_found("@odata.id", object_id)
    return member


@router.post(
    "/groups/{id}/members/$ref",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="addGroupMember",
    summary='Add a member: {"@odata.id": "…/directoryObjects/{id}"}',
)
def add_member(request: HttpRequest, id: str, payload: ReferenceRequest) -> HttpResponse:
    group = get_group(id)
    member = _member_from_reference(payload.odata_id)
    lookup = {"user": member} if isinstance(member, DirectoryUser) else {"member_group": member}
    if GroupMembership.objects.filter(group=group, **lookup).exists():
        raise _already_member()
    try:
        with transaction.atomic():
            services.add_member(group, member)
    except services.DirectoryError as error:
        raise bad_request(str(error), "@odata.id") from None
    except IntegrityError:  # added by a concurrent request a moment ago: the same answer
        raise _already_member() from None
    return no_content()


def _already_member() -> ApiError:
    """Graph's answer to adding a member twice: 400, not 409."""
    return bad_request(
        "One or more added object references already exist for the following modified properties: 'members'.",
        "@odata.id",
    )


@router.delete(
    "/groups/{id}/members/{memberId}/$ref",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="removeGroupMember",
    summary="Remove a member from a group",
)
def remove_member(
    request: HttpRequest, id: str, member_id: str = Path(..., alias="memberId", description="The member's id")
) -> HttpResponse:
    group = get_group(id)
    object_id = parse_object_id(member_id, "memberId")
    membership = (
        GroupMembership.objects.filter(group=group)
        .filter(Q(user__object_id=object_id) | Q(member_group__object_id=object_id))
        .first()
    )
    if membership is None:
        raise not_found("memberId", object_id)
    try:
        services.remove_member(group, membership.pk)
    except services.DirectoryError:
        raise not_found("memberId", object_id) from None
    return no_content()
