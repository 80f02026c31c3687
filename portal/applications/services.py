"""Enterprise-application operations shared by the pages, the Graph-style API and the demo loader.

No request objects here: callers pass the acting user (or ``None`` for the system) and get domain
objects back. Every configuration change is written to the audit log in the same transaction as the
change itself; assignment changes reach the directory change feed through the model signals.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from portal.applications.gallery import AppTemplate, get_template
from portal.applications.models import DEFAULT_ACCESS, Application, AppRole, AppRoleAssignment
from portal.audit import Activity, audit_application, record_audit
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership
from provisioning.models import JobState, ObjectMapping, ProvisioningJob, ProvisioningMode
from provisioning.sync import control

__all__ = [
    "ApplicationError",
    "EffectiveAssignment",
    "Principal",
    "add_assignment",
    "delete_application",
    "effective_assignments",
    "find_principal",
    "instantiate",
    "make_job_id",
    "remove_assignment",
    "rename",
    "restore_default_mappings",
    "search_applications",
    "search_principals",
]

Principal = DirectoryUser | DirectoryGroup
# Assignment changes reach the directory change feed through ``portal.applications.signals``
# (post_save / post_delete of AppRoleAssignment), so bulk deletes and cascades are covered too.
NAME_MAX_LENGTH = Application._meta.get_field("display_name").max_length


class ApplicationError(ValueError):
    """An operation refused with a message fit to show the admin; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- applications --------------------------------------------------------------------------------


def clean_display_name(display_name: str) -> str:
    """A display name as stored: trimmed, non-empty, within the column's length."""
    name = " ".join((display_name or "").split())
    if not name:
        raise ApplicationError("Enter a name for the application.", "display_name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(
            f"The name can have at most {NAME_MAX_LENGTH} characters (it has {len(name)}).", "display_name"
        )
    return name


def make_job_id(template: AppTemplate, application: Application) -> str:
    """A Graph-style job id, ``<templatekey>.<32 hex>.<32 hex>`` (e.g. ``taskizeconnect.1f0c….9ab2…``)."""
    key = template.id.replace("-", "")
    return f"{key}.{application.service_principal_id.hex}.{uuid.uuid4().hex}"


def instantiate(template_id: str, display_name: str, *, actor: Any = None) -> Application:
    """Add an app from the gallery: the app, its roles, its provisioning job and default mappings.

    The job starts ``NotConfigured`` and Off; the mappings are copies of the template's so that later
    edits never touch the shared gallery. Raises ``ApplicationError`` for an unknown template or a bad
    name.
    """
    try:
        template = get_template(template_id)
    except KeyError:
        raise ApplicationError(f"There is no gallery application {template_id!r}.", "template_id") from None
    name = clean_display_name(display_name)
    with transaction.atomic():
        application = Application.objects.create(
            display_name=name, template_id=template.id, logo=template.logo, publisher=template.publisher
        )
        AppRole.objects.create(
            application=application,
            value="",
            display_name=DEFAULT_ACCESS,
            description="Users and groups with this role are assigned but not provisioned.",
            is_default=True,
        )
        AppRole.objects.bulk_create(
            AppRole(
                application=application,
                value=role.value,
                display_name=role.display_name,
                description=role.description,
            )
            for role in template.app_roles
        )
        job = ProvisioningJob.objects.create(
            application=application,
            job_id=make_job_id(template, application),
            mode=ProvisioningMode.AUTOMATIC if template.supports_provisioning else ProvisioningMode.MANUAL,
            state=JobState.NOT_CONFIGURED,
            enabled=False,
            compatibility=template.compatibility_switches,
        )
        _copy_mappings(job, template)
        audit_application(
            actor,
            application,
            Activity.ADD_APPLICATION,
            [("display_name", None, name), ("template_id", None, template.id)],
        )
    return application


def _copy_mappings(job: ProvisioningJob, template: AppTemplate) -> list[ObjectMapping]:
    return ObjectMapping.objects.bulk_create(
        ObjectMapping(
            job=job,
            key=mapping.id,
            name=mapping.name,
            enabled=mapping.enabled,
            source_object=mapping.source_object,
            target_object=mapping.target_object,
            actions=list(mapping.actions),
            scoping_filters=copy.deepcopy(list(mapping.scoping_filters)),
            attribute_mappings=copy.deepcopy(list(mapping.attribute_mappings)),
            target_attributes=copy.deepcopy(list(mapping.target_attributes)),
            position=position,
        )
        for position, mapping in enumerate(template.object_mappings)
    )


def restore_default_mappings(job: ProvisioningJob, *, actor: Any = None) -> list[ObjectMapping]:
    """Replace the job's object mappings with the template's defaults ("Restore default mappings").

    A mapping change means the next cycle must be an initial one, as in Entra.
    """
    template = get_template(job.application.template_id)
    with transaction.atomic():
        job.object_mappings.all().delete()
        mappings = _copy_mappings(job, template)
        job.needs_full_sync = True
        job.save(update_fields=["needs_full_sync"])
        audit_application(
            actor,
            job.application,
            Activity.UPDATE_MAPPINGS,
            [("object_mappings", "customised", "restored to the gallery defaults")],
        )
    return mappings


def rename(application: Application, display_name: str, *, actor: Any = None) -> bool:
    """Change the app's display name; False when it is unchanged (nothing written, nothing audited)."""
    name = clean_display_name(display_name)
    if name == application.display_name:
        return False
    with transaction.atomic():
        old = application.display_name
        application.display_name = name
        application.save(update_fields=["display_name"])
        audit_application(actor, application, Activity.UPDATE_APPLICATION, [("display_name", old, name)])
    return True


def delete_application(application: Application, *, actor: Any = None) -> None:
    """Delete the app with its roles, assignments and provisioning job.

    Provisioning is stopped first; accounts already in the target are left alone (Entra does not
    deprovision on delete). The removed assignments go to the change feed like any unassignment.
    """
    job = ProvisioningJob.objects.filter(application=application).first()
    if job is not None and job.enabled:
        control.stop(job)
    with transaction.atomic():
        audit_application(
            actor,
            application,
            Activity.DELETE_APPLICATION,
            [("display_name", application.display_name, None)],
        )
        application.delete()  # each cascaded assignment is fed as UNASSIGNED by the signal


def search_term(term: str | None) -> str:
    """A search box's text made safe for any database (PostgreSQL rejects NUL characters)."""
    return (term or "").replace("\x00", "").strip()[:200]


def search_applications(term: str = "") -> QuerySet[Application]:
    """Apps whose name, application id or object id contains ``term`` (the list's search box)."""
    apps = Application.objects.select_related("provisioning")
    term = search_term(term)
    if not term:
        return apps
    query = Q(display_name__icontains=term) | Q(publisher__icontains=term)
    try:
        value = uuid.UUID(term)
    except ValueError:
        pass
    else:
        query |= Q(app_id=value) | Q(service_principal_id=value)
    return apps.filter(query)


# --- assignments ---------------------------------------------------------------------------------


def add_assignment(
    application: Application, principal: Principal, role: AppRole, *, actor: Any = None
) -> AppRoleAssignment:
    """Assign a user or group to the app with a role; recorded in the change feed and the audit log."""
    if role.application_id != application.pk:
        raise ApplicationError("This role belongs to another application.", "app_role")
    if principal.is_deleted:
        raise ApplicationError(f"{principal.display_name} is in the recycle bin and can't be assigned.")
    is_user = isinstance(principal, DirectoryUser)
    lookup = {"user": principal} if is_user else {"group": principal}
    if AppRoleAssignment.objects.filter(app_role=role, **lookup).exists():
        raise ApplicationError(f"{principal.display_name} already has the role {role.display_name}.")
    with transaction.atomic():
        # The post_save signal (portal.applications.signals) writes ASSIGNED to the change feed.
        assignment = AppRoleAssignment.objects.create(application=application, app_role=role, **lookup)
        _audit_assignment(
            actor,
            Activity.ADD_USER_ASSIGNMENT if is_user else Activity.ADD_GROUP_ASSIGNMENT,
            principal,
            application,
            [("app_role", None, role.display_name), ("application", None, application.display_name)],
        )
    return assignment


def _audit_assignment(
    actor: Any,
    activity: str,
    principal: Principal,
    application: Application,
    changes: list[tuple[str, Any, Any]],
) -> None:
    """The audit entry of an assignment added or removed: about the principal, in the app's log."""
    record_audit(
        actor,
        activity,
        target_type=principal.object_kind,
        target_id=principal.object_id,
        target_name=principal.display_name,
        application=application,
        changes=changes,
        category="UserManagement" if isinstance(principal, DirectoryUser) else "GroupManagement",
    )


def remove_assignment(assignment: AppRoleAssignment, *, actor: Any = None) -> None:
    """Remove one assignment; the engine deprovisions on its next cycle if nothing else entitles."""
    principal = assignment.principal
    is_user = assignment.user_id is not None
    with transaction.atomic():
        role_name = assignment.app_role.display_name
        application = assignment.application
        assignment.delete()  # the post_delete signal writes UNASSIGNED to the change feed
        _audit_assignment(
            actor,
            Activity.REMOVE_USER_ASSIGNMENT if is_user else Activity.REMOVE_GROUP_ASSIGNMENT,
            principal,
            application,
            [("app_role", role_name, None), ("application", application.display_name, None)],
        )


def find_principal(token: str) -> Principal | None:
    """Resolve a picker value ``user:<object id>`` / ``group:<object id>`` to an active object."""
    kind, _, raw_id = (token or "").partition(":")
    try:
        object_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    model = {"user": DirectoryUser, "group": DirectoryGroup}.get(kind)
    if model is None:
        return None
    return model.objects.active().filter(object_id=object_id).first()


def principal_token(principal: Principal) -> str:
    """The picker value of a user or group (the inverse of ``find_principal``)."""
    return f"{principal.object_kind.lower()}:{principal.object_id}"


def search_principals(
    term: str,
    limit: int = 10,
    *,
    users: QuerySet[DirectoryUser] | None = None,
    groups: QuerySet[DirectoryGroup] | None = None,
) -> list[Principal]:
    """Users (by name, UPN or mail) and groups (by name) whose text starts with ``term``: the picker.

    ``users`` and ``groups`` narrow the search (default: every active one).
    """
    term = search_term(term)
    if not term:
        return []
    users = DirectoryUser.objects.active() if users is None else users
    groups = DirectoryGroup.objects.active() if groups is None else groups
    found_users = users.filter(
        Q(display_name__istartswith=term)
        | Q(user_principal_name__istartswith=term)
        | Q(mail__istartswith=term)
        | Q(given_name__istartswith=term)
        | Q(surname__istartswith=term)
    )[:limit]
    found_groups = groups.filter(display_name__istartswith=term)[:limit]
    return [*found_groups, *found_users]


@dataclass(frozen=True)
class EffectiveAssignment:
    """One user's entitlement to the app through one assignment: directly or as a member of a group."""

    user: DirectoryUser
    role: AppRole
    via_group: DirectoryGroup | None

    @property
    def provisioned(self) -> bool:
        """Whether this assignment alone puts the user in scope ("Default Access" never does)."""
        return not self.role.is_default


def effective_assignments(
    application: Application, user: DirectoryUser | None = None
) -> list[EffectiveAssignment]:
    """Every (user, role, path) that entitles users to the app, direct first, then through groups.

    Only direct members of an assigned group count: Entra does not follow nested groups.
    """
    assignments = list(
        application.assignments.select_related("app_role", "user", "group").filter(
            Q(user__deleted_at__isnull=True, group__isnull=True)
            | Q(group__deleted_at__isnull=True, user__isnull=True)
        )
    )
    rows: list[EffectiveAssignment] = []
    group_roles: dict[int, list[AppRoleAssignment]] = {}
    for assignment in assignments:
        if assignment.user_id:
            if user is None or assignment.user_id == user.pk:
                rows.append(EffectiveAssignment(assignment.user, assignment.app_role, None))
        else:
            group_roles.setdefault(assignment.group_id, []).append(assignment)
    memberships = GroupMembership.objects.filter(
        group_id__in=group_roles, user__isnull=False, user__deleted_at__isnull=True
    ).select_related("user")
    if user is not None:
        memberships = memberships.filter(user=user)
    for membership in memberships:
        for assignment in group_roles[membership.group_id]:
            rows.append(EffectiveAssignment(membership.user, assignment.app_role, assignment.group))
    rows.sort(key=lambda r: (r.user.display_name.casefold(), r.user.pk, r.via_group is not None))
    return rows
