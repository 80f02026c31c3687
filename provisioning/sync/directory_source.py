"""The engine's Source on top of the portal's directory: users and groups as plain SourceObjects."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from portal.applications.models import AppRoleAssignment
from portal.directory.attributes import GROUP_PROFILE, USER_PROFILE, USER_READ_ONLY
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
)
from provisioning.engine.source import SourceObject

# Model field → Graph name, from the directory's one table (references and extensions are added below).
USER_ATTRIBUTES = {field: name for name, field in {**USER_PROFILE, **USER_READ_ONLY}.items()}
GROUP_ATTRIBUTES = {field: name for name, field in GROUP_PROFILE.items()}


# The columns a page reads per user: plain rows (``values()``), no model instances.
_USER_ROW = (*USER_ATTRIBUTES, "object_id", "account_enabled", "deleted_at", "extension_attributes")


def user_attributes(user: DirectoryUser, manager_object_id: str | None) -> dict:
    return _row_attributes({field: getattr(user, field) for field in _USER_ROW}, manager_object_id)


def _row_attributes(row: dict, manager_object_id: str | None) -> dict:
    """A user's source attributes by Graph name, from its row (``_USER_ROW``)."""
    attributes = {entra: row[field] or None for field, entra in USER_ATTRIBUTES.items()}
    attributes["accountEnabled"] = row["account_enabled"]
    attributes["objectId"] = str(row["object_id"])
    attributes["manager"] = manager_object_id
    attributes["IsSoftDeleted"] = row["deleted_at"] is not None
    attributes.update({k: v for k, v in (row["extension_attributes"] or {}).items() if v not in ("", None)})
    return attributes


def group_attributes(group: DirectoryGroup) -> dict:
    attributes = {entra: getattr(group, field) for field, entra in GROUP_ATTRIBUTES.items()}
    attributes["objectId"] = str(group.object_id)
    attributes["IsSoftDeleted"] = group.deleted_at is not None
    return attributes


class DirectorySource:
    """Reads the directory for one application; entitlement follows Entra's assignment rules."""

    def __init__(self, application_id: int, *, sync_all: bool = False):
        self.application_id = application_id
        self.sync_all = sync_all

    # -- objects --------------------------------------------------------------------------------

    def get(self, kind: str, ids: list[str]) -> dict[str, SourceObject]:
        return self._users(ids) if kind == "User" else self._groups(ids)

    def _assignments(
        self, *, user_ids: Iterable[int] = (), group_ids: Iterable[int] = ()
    ) -> list[AppRoleAssignment]:
        return list(
            AppRoleAssignment.objects.filter(application_id=self.application_id)
            .filter(Q(user_id__in=list(user_ids)) | Q(group_id__in=list(group_ids)))
            .select_related("app_role")
        )

    def _users(self, ids: list[str]) -> dict[str, SourceObject]:
        users = list(
            DirectoryUser.objects.filter(object_id__in=ids).values("pk", *_USER_ROW, "manager__object_id")
        )
        pks = [u["pk"] for u in users]
        groups_of: dict[int, list[int]] = defaultdict(list)
        for user_id, group_id in GroupMembership.objects.filter(
            user_id__in=pks, group__deleted_at__isnull=True
        ).values_list("user_id", "group_id"):
            groups_of[user_id].append(group_id)
        assignments = self._assignments(user_ids=pks, group_ids={g for gs in groups_of.values() for g in gs})
        direct: dict[int, list[AppRoleAssignment]] = defaultdict(list)
        via_group: dict[int, list[AppRoleAssignment]] = defaultdict(list)
        for a in assignments:
            (direct[a.user_id] if a.user_id else via_group[a.group_id]).append(a)
        found: dict[str, SourceObject] = {}
        for user in users:
            pk, object_id, manager = user["pk"], str(user["object_id"]), user["manager__object_id"]
            mine = direct[pk] + [a for g in groups_of[pk] for a in via_group[g]]
            found[object_id] = SourceObject(
                kind="User",
                id=object_id,
                display_name=user["display_name"],
                attributes=_row_attributes(user, str(manager) if manager is not None else None),
                enabled=user["account_enabled"],
                soft_deleted=user["deleted_at"] is not None,
                entitled=self.sync_all or any(not a.app_role.is_default for a in mine),
                app_role_assignments=[_role(a) for a in mine],
            )
        return _with_missing("User", ids, found)

    def _groups(self, ids: list[str]) -> dict[str, SourceObject]:
        groups = list(DirectoryGroup.objects.filter(object_id__in=ids))
        pks = [g.pk for g in groups]
        members: dict[int, list[str]] = defaultdict(list)
        for group_id, object_id in GroupMembership.objects.filter(
            group_id__in=pks, user__isnull=False, user__deleted_at__isnull=True
        ).values_list("group_id", "user__object_id"):
            members[group_id].append(str(object_id))
        assigned: dict[int, list[AppRoleAssignment]] = defaultdict(list)
        for a in self._assignments(group_ids=pks):
            assigned[a.group_id].append(a)
        found = {
            str(g.object_id): SourceObject(
                kind="Group",
                id=str(g.object_id),
                display_name=g.display_name,
                attributes=group_attributes(g),
                soft_deleted=g.deleted_at is not None,
                entitled=self.sync_all or any(not a.app_role.is_default for a in assigned[g.pk]),
                app_role_assignments=[_role(a) for a in assigned[g.pk]],
                member_ids=members[g.pk],
            )
            for g in groups
        }
        return _with_missing("Group", ids, found)

    # -- candidates -----------------------------------------------------------------------------

    def entitled_ids(self, kind: str) -> list[str]:
        """Every object the initial cycle must look at for this app (before scoping filters)."""
        return [str(i) for i in self.entitled_query(kind)]

    def entitled_query(self, kind: str) -> QuerySet:
        """The object ids of :meth:`entitled_ids` as a query, in primary-key order: a cycle of a million
        users streams it, and the escrow is compared with it in the database."""
        if kind == "User":
            if self.sync_all:  # one row per user: no DISTINCT (a sort of every user) needed
                return DirectoryUser.objects.order_by("pk").values_list("object_id", flat=True)
            assigned = AppRoleAssignment.objects.filter(
                application_id=self.application_id, app_role__is_default=False
            )
            query = DirectoryUser.objects.filter(
                Q(pk__in=assigned.filter(user__isnull=False).values("user_id"))
                | Q(memberships__group_id__in=assigned.filter(group__isnull=False).values("group_id"))
            )
            return query.order_by("pk").values_list("object_id", flat=True).distinct()
        if self.sync_all:
            return DirectoryGroup.objects.order_by("pk").values_list("object_id", flat=True)
        query = DirectoryGroup.objects.filter(
            app_assignments__application_id=self.application_id,
            app_assignments__app_role__is_default=False,
        )
        return query.order_by("pk").values_list("object_id", flat=True).distinct()

    def changed_ids(self, changes: list[DirectoryChange]) -> dict[str, set[str]]:
        """The users and groups that a batch of directory changes may affect for this app."""
        users: set[str] = set()
        groups: set[str] = set()
        expand_groups: set[str] = set()
        for change in changes:
            if change.app_id is not None and change.app_id != self.application_id:
                continue
            oid = str(change.object_id)
            if change.object_kind == "User":
                users.add(oid)
            else:
                groups.add(oid)
                if change.kind in (ChangeKind.MEMBER_ADDED, ChangeKind.MEMBER_REMOVED) and change.related_id:
                    users.add(str(change.related_id))  # entitlement through the group may have changed
                if change.kind in (
                    ChangeKind.ASSIGNED,
                    ChangeKind.UNASSIGNED,
                    ChangeKind.DELETED,
                    ChangeKind.RESTORED,
                ):
                    expand_groups.add(oid)
        if expand_groups:
            users.update(
                str(o)
                for o in GroupMembership.objects.filter(
                    group__object_id__in=[uuid.UUID(g) for g in expand_groups], user__isnull=False
                ).values_list("user__object_id", flat=True)
            )
        return {"User": users, "Group": groups}

    def groups_of(self, user_ids: Iterable[str]) -> set[str]:
        """The groups these users are direct members of: retried users' memberships go in with them."""
        ids = [uuid.UUID(u) for u in user_ids]
        if not ids:
            return set()
        return {
            str(o)
            for o in GroupMembership.objects.filter(
                user__object_id__in=ids, group__deleted_at__isnull=True
            ).values_list("group__object_id", flat=True)
        }


def _role(assignment: AppRoleAssignment) -> dict[str, str]:
    role = assignment.app_role
    return {
        "id": str(role.role_id),
        "value": role.value,
        "displayName": role.display_name,
        "principalType": "User" if assignment.user_id else "Group",
    }


def _with_missing(kind: str, ids: list[str], found: dict[str, SourceObject]) -> dict[str, SourceObject]:
    for oid in ids:
        if oid not in found:
            found[oid] = SourceObject(kind=kind, id=oid, exists=False)  # purged from the directory
    return found
