"""Portal roles, modelled on Entra's built-in directory roles, and what each one may do.

A *capability* is one thing a page needs ("apps.write"). A role is a set of capabilities. A user's
capabilities are the union over their roles; Django superusers count as Global Administrators. App
owners are not a role: owning an application (``ApplicationOwner``) grants ``OWNER_CAPABILITIES`` on
that application only, the way Entra lets owners manage their own service principals.

Decisions recorded here (portal/accounts/README.md has the operator's view):

- Application Administrator and Cloud Application Administrator are the same here: the only difference
  in Entra is the on-premises application proxy, which this portal does not have.
- Both may *read* users and groups (they need to, to assign them to apps) but not create, edit or delete
  them: in Entra that takes User Administrator / Groups Administrator, which this portal folds into
  Global Administrator.
- Reports Reader and Security Reader read the provisioning logs and the audit logs, nothing else.
- A user with no role (and no owned app) sees nothing of the admin portal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from portal.applications.models import Application


class Capability(StrEnum):
    """What a page needs. Templates see them as ``perms_portal.apps_write`` (dot → underscore)."""

    PORTAL_ACCESS = "portal.access"  # the shell and the home page
    DIRECTORY_READ = "directory.read"  # users, groups, members, deleted items
    DIRECTORY_WRITE = "directory.write"  # create, edit, delete, restore, import users and groups
    APPS_READ = "apps.read"  # enterprise apps: list, overview, properties, users and groups
    APPS_CREATE = "apps.create"  # add an application from the gallery
    APPS_WRITE = "apps.write"  # edit properties, delete, assign users and groups
    PROVISIONING_READ = "provisioning.read"  # the provisioning blade of an app
    PROVISIONING_WRITE = "provisioning.write"  # credentials, mappings, scope, start/stop/restart
    LOGS_READ = "logs.read"  # provisioning logs
    AUDIT_READ = "audit.read"  # audit logs

    @property
    def description(self) -> str:
        """What the capability allows, in words (for the 403 page)."""
        return _DESCRIPTIONS[self]

    @property
    def template_name(self) -> str:
        """The name templates use: ``perms_portal.apps_write``."""
        return self.value.replace(".", "_")


_DESCRIPTIONS = {
    Capability.PORTAL_ACCESS: "use the admin portal",
    Capability.DIRECTORY_READ: "read users and groups",
    Capability.DIRECTORY_WRITE: "manage users and groups",
    Capability.APPS_READ: "read enterprise applications",
    Capability.APPS_CREATE: "add enterprise applications",
    Capability.APPS_WRITE: "manage enterprise applications",
    Capability.PROVISIONING_READ: "read provisioning settings",
    Capability.PROVISIONING_WRITE: "manage provisioning",
    Capability.LOGS_READ: "read provisioning logs",
    Capability.AUDIT_READ: "read audit logs",
}


class PortalRole(models.TextChoices):
    """Entra's built-in roles that matter to a provisioning portal."""

    GLOBAL_ADMINISTRATOR = "global_administrator", "Global Administrator"
    APPLICATION_ADMINISTRATOR = "application_administrator", "Application Administrator"
    CLOUD_APPLICATION_ADMINISTRATOR = "cloud_application_administrator", "Cloud Application Administrator"
    REPORTS_READER = "reports_reader", "Reports Reader"
    SECURITY_READER = "security_reader", "Security Reader"


C = Capability
_APP_ADMIN = frozenset(
    {
        C.PORTAL_ACCESS,
        C.DIRECTORY_READ,
        C.APPS_READ,
        C.APPS_CREATE,
        C.APPS_WRITE,
        C.PROVISIONING_READ,
        C.PROVISIONING_WRITE,
        C.LOGS_READ,
        C.AUDIT_READ,
    }
)
_LOG_READER = frozenset({C.PORTAL_ACCESS, C.LOGS_READ, C.AUDIT_READ})

ROLE_CAPABILITIES: dict[PortalRole, frozenset[Capability]] = {
    PortalRole.GLOBAL_ADMINISTRATOR: frozenset(Capability),
    PortalRole.APPLICATION_ADMINISTRATOR: _APP_ADMIN,
    PortalRole.CLOUD_APPLICATION_ADMINISTRATOR: _APP_ADMIN,
    PortalRole.REPORTS_READER: _LOG_READER,
    PortalRole.SECURITY_READER: _LOG_READER,
}

# What an owner may do on an application they own (Entra: owners manage their service principal's
# synchronization jobs, schema and credentials, and read its provisioning logs). Not apps.create.
OWNER_CAPABILITIES: frozenset[Capability] = frozenset(
    {C.APPS_READ, C.APPS_WRITE, C.PROVISIONING_READ, C.PROVISIONING_WRITE, C.LOGS_READ}
)

# Entra's role template ids, as sent in the ``wids`` claim of an ID token (optional claim). A user who
# holds the role in Entra holds it here, with no ENTRA_ROLE_MAPPING entry needed.
DIRECTORY_ROLE_TEMPLATES: dict[str, PortalRole] = {
    "62e90394-69f5-4237-9190-012177145e10": PortalRole.GLOBAL_ADMINISTRATOR,
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": PortalRole.APPLICATION_ADMINISTRATOR,
    "158c047a-c907-4556-b7ef-446551a6b5f7": PortalRole.CLOUD_APPLICATION_ADMINISTRATOR,
    "4a5d8f65-41da-4de4-8968-e035b65339cf": PortalRole.REPORTS_READER,
    "5d6b6bb7-de71-4623-b4af-96380a352509": PortalRole.SECURITY_READER,
}

_CACHE = "_portal_access_cache"


def parse_role(value: str) -> PortalRole:
    """A role from its value ("application_administrator") or its label ("Application Administrator")."""
    text = str(value).strip()
    for role in PortalRole:
        if text.lower() in (role.value, role.label.lower()):
            return role
    choices = ", ".join(r.value for r in PortalRole)
    raise ValueError(f"Unknown portal role {value!r}; use one of: {choices}")


def _cache(user: Any) -> dict[str, Any]:
    cache = getattr(user, _CACHE, None)
    if cache is None:
        cache = {}
        setattr(user, _CACHE, cache)
    return cache


def forget(user: Any) -> None:
    """Drop what was cached on this user object (after changing their roles or owned apps)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def roles_of(user: Any) -> frozenset[PortalRole]:
    """The user's portal roles; cached on the user object, which lives for one request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache = _cache(user)
    if "roles" not in cache:
        from portal.accounts.models import RoleAssignment

        roles = {
            PortalRole(r) for r in RoleAssignment.objects.filter(user=user).values_list("role", flat=True)
        }
        if user.is_superuser:
            roles.add(PortalRole.GLOBAL_ADMINISTRATOR)
        cache["roles"] = frozenset(roles)
    return cache["roles"]


def capabilities_of(user: Any) -> frozenset[Capability]:
    """The union of the capabilities of the user's roles (not counting app ownership)."""
    caps: set[Capability] = set()
    for role in roles_of(user):
        caps |= ROLE_CAPABILITIES[role]
    return frozenset(caps)


def owned_application_ids(user: Any) -> frozenset[int]:
    """Primary keys of the applications this user owns."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache = _cache(user)
    if "owned" not in cache:
        from portal.accounts.models import ApplicationOwner

        cache["owned"] = frozenset(
            ApplicationOwner.objects.filter(user=user).values_list("application_id", flat=True)
        )
    return cache["owned"]


def has_capability(user: Any, capability: Capability | str, application: Application | None = None) -> bool:
    """May this user do ``capability`` (on ``application``, when the action is about one app)?

    The one question every check asks — the middleware, templates and the API — so a role means the
    same thing everywhere. Owners get ``OWNER_CAPABILITIES`` on their own applications only.
    """
    capability = Capability(capability)
    if capability in capabilities_of(user):
        return True
    owned = owned_application_ids(user)
    if capability is Capability.PORTAL_ACCESS:
        return bool(owned)
    return application is not None and capability in OWNER_CAPABILITIES and application.pk in owned


def visible_applications(user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """The applications of ``queryset`` the user may see: all with apps.read, else the ones they own.

    For list pages and the API, so an owner's list shows their own apps only.
    """
    if Capability.APPS_READ in capabilities_of(user):
        return queryset
    return queryset.filter(pk__in=owned_application_ids(user))


def readable_principals(
    user: Any, application: Application | None, queryset: models.QuerySet
) -> models.QuerySet:
    """The directory users (or groups) of ``queryset`` the user may read while working on ``application``.

    Everything with directory.read (Global, Application and Cloud Application Administrators). An owner
    reads only the principals assigned to an app they own: groups assigned to it, users assigned directly
    or through one of those groups (direct membership, as entitlement works) -- enough to test its
    mappings, not a window onto the whole directory.
    """
    if Capability.DIRECTORY_READ in capabilities_of(user):
        return queryset
    if application is None or application.pk not in owned_application_ids(user):
        return queryset.none()
    from portal.applications.models import AppRoleAssignment
    from portal.directory.models import DirectoryUser, GroupMembership

    assigned = AppRoleAssignment.objects.filter(application_id=application.pk)
    assigned_groups = assigned.filter(group__isnull=False).values("group_id")
    if queryset.model is DirectoryUser:
        members = GroupMembership.objects.filter(group_id__in=assigned_groups, user__isnull=False)
        return queryset.filter(
            models.Q(pk__in=assigned.filter(user__isnull=False).values("user_id"))
            | models.Q(pk__in=members.values("user_id"))
        )
    return queryset.filter(pk__in=assigned_groups)
