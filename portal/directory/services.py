"""Directory operations behind the pages, the import and the tasks.

Single-object writes go through ``save()`` so the change-feed signals record them; the bulk helpers here
bypass signals and call ``record_changes`` themselves, once per batch.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from portal.directory.changes import Change, changes_since, record_changes
from portal.directory.filters import prefix_search
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ObjectKind,
)

UserOrGroup = DirectoryUser | DirectoryGroup
BATCH_SIZE = 1000
PICKER_USER_FIELDS = ("display_name", "user_principal_name", "mail", "surname")


class DirectoryError(Exception):
    """An operation the directory refuses, with a message fit to show the admin."""


def recycle_bin_days() -> int:
    return int(settings.DIRECTORY_RECYCLE_BIN_DAYS)


def refresh_statistics() -> None:
    """Update the query planner's statistics of the directory tables after a large change.

    Without them, SQLite takes ``deleted_at IS NULL`` for a selective condition and sorts all users for
    each list page; PostgreSQL's autovacuum gets there eventually, this makes it immediate.
    """
    tables = [m._meta.db_table for m in (DirectoryUser, DirectoryGroup, GroupMembership)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


# --- lifecycle: soft delete, restore, purge ------------------------------------------------------------


def soft_delete(obj: UserOrGroup) -> None:
    """Move an object to the recycle bin; its memberships and manager links stay for a restore."""
    if obj.is_deleted:
        return
    obj.deleted_at = timezone.now()
    obj._change_kind = ChangeKind.DELETED
    obj.save(update_fields=["deleted_at", "updated_at"])


def restore(obj: UserOrGroup) -> None:
    if not obj.is_deleted:
        return
    obj.deleted_at = None
    obj._change_kind = ChangeKind.RESTORED
    obj.save(update_fields=["deleted_at", "updated_at"])


def purge(obj: UserOrGroup) -> None:
    """Delete permanently. Only from the recycle bin, as in Entra: a live object is soft-deleted first."""
    if not obj.is_deleted:
        raise DirectoryError(f"{obj.display_name} is not in the recycle bin; delete it first.")
    with transaction.atomic():
        if isinstance(obj, DirectoryUser):
            _record_reports_losing_manager([obj.pk])
        obj.delete()


def purge_recycle_bin(now: datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Hard-delete users and groups that have been in the recycle bin longer than the retention."""
    cutoff = (now or timezone.now()) - timedelta(days=recycle_bin_days() if days is None else days)
    purged = {}
    for model in (DirectoryUser, DirectoryGroup):
        ids = list(model.objects.filter(deleted_at__lt=cutoff).values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ids[start : start + BATCH_SIZE]
            with transaction.atomic():
                if model is DirectoryUser:
                    _record_reports_losing_manager(batch)
                model.objects.filter(pk__in=batch).delete()  # signals record each purge
        purged[model.__name__] = len(ids)
    refresh_statistics()  # daily, so statistics follow a directory that grows a little every day
    return purged


def _record_reports_losing_manager(manager_ids: Sequence[int]) -> None:
    """``SET_NULL`` on manager is an UPDATE without signals: record it so provisioning sees the change."""
    reports = (
        DirectoryUser.objects.filter(manager_id__in=manager_ids)
        .exclude(pk__in=manager_ids)
        .values_list("object_id", flat=True)
    )
    record_changes(Change(ObjectKind.USER, oid, ChangeKind.UPDATED) for oid in reports)


def set_account_enabled(user: DirectoryUser, enabled: bool) -> bool:
    """Enable or disable sign-in; returns whether anything changed (no change, no feed entry)."""
    if user.account_enabled == enabled:
        return False
    user.account_enabled = enabled
    user.save(update_fields=["account_enabled", "updated_at"])
    return True


# --- bulk creation --------------------------------------------------------------------------------------


def bulk_create_users(users: Sequence[DirectoryUser]) -> None:
    """Insert many users and record them as created, in one transaction.

    A user's ``manager`` may be another user of the same batch: they are inserted level by level of the
    reporting tree, so every manager has its primary key before its reports are written.
    """
    depth: dict[int, int] = {}
    pending = {id(u): u for u in users}
    for user in users:
        chain = []
        current = user
        while id(current) not in depth:
            manager = current.manager if current.manager_id is None else None
            if manager is None or id(manager) not in pending:
                depth[id(current)] = 0
                break
            chain.append(current)
            if len(chain) > len(users):
                raise DirectoryError(f"{user.user_principal_name}: the new users' managers form a cycle.")
            current = manager
        base = depth[id(current)]
        for offset, member in enumerate(reversed(chain), start=1):
            depth[id(member)] = base + offset
    levels: dict[int, list[DirectoryUser]] = {}
    for user in users:
        levels.setdefault(depth[id(user)], []).append(user)
    with transaction.atomic():
        for level in sorted(levels):
            DirectoryUser.objects.bulk_create(levels[level], batch_size=BATCH_SIZE)
        record_changes(Change(ObjectKind.USER, u.object_id, ChangeKind.CREATED) for u in users)


def update_users_in_bulk(changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Apply per-user field changes fast: one prepared UPDATE per set of changed columns, run with
    ``executemany`` over all the users that change those columns.

    ``bulk_update`` builds a CASE per row and per field (minutes of Python at 20,000 rows) and one
    ``update()`` per user costs a query build each; this is one statement shape per column set.
    Signals are not sent: callers record the changes in the feed.
    """
    now = timezone.now()
    meta = DirectoryUser._meta
    quote = connection.ops.quote_name
    shapes: dict[tuple[str, ...], list[list[Any]]] = {}
    for pk, values in changes:
        names = tuple(sorted(values))
        fields = [meta.get_field(name) for name in names]
        params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
        params += [meta.get_field("updated_at").get_db_prep_save(now, connection), pk]
        shapes.setdefault(names, []).append(params)
    with connection.cursor() as cursor:
        for names, rows in shapes.items():
            columns = [meta.get_field(name).column for name in names] + [meta.get_field("updated_at").column]
            assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
            sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
            for start in range(0, len(rows), BATCH_SIZE):
                cursor.executemany(sql, rows[start : start + BATCH_SIZE])


# --- membership -----------------------------------------------------------------------------------------


def nested_group_ids(group_ids: Iterable[int]) -> set[int]:
    """Every group nested in ``group_ids``, at any depth: one query per nesting level."""
    found: set[int] = set()
    frontier = set(group_ids)
    while frontier:
        children = set(
            GroupMembership.objects.filter(group_id__in=frontier, member_group__isnull=False).values_list(
                "member_group_id", flat=True
            )
        )
        frontier = children - found
        found |= children
    return found


def add_member(group: DirectoryGroup, member: UserOrGroup) -> GroupMembership:
    """Add a user or a nested group; refuses self-nesting, cycles, duplicates and recycled objects."""
    if group.is_deleted:
        raise DirectoryError(f"{group.display_name} is in the recycle bin; restore it before adding members.")
    if member.is_deleted:
        raise DirectoryError(f"{member.display_name} is in the recycle bin and cannot be added.")
    if isinstance(member, DirectoryGroup):
        if member.pk == group.pk:
            raise DirectoryError("A group cannot be a member of itself.")
        if group.pk in nested_group_ids([member.pk]):
            raise DirectoryError(
                f"{member.display_name} already contains {group.display_name} through nested groups; "
                "adding it would create a cycle."
            )
        lookup = {"member_group": member}
    else:
        lookup = {"user": member}
    if GroupMembership.objects.filter(group=group, **lookup).exists():
        raise DirectoryError(f"{member.display_name} is already a member of {group.display_name}.")
    return GroupMembership.objects.create(group=group, **lookup)


def remove_member(group: DirectoryGroup, membership_id: int) -> None:
    membership = (
        GroupMembership.objects.select_related("group", "user", "member_group")
        .filter(group=group, pk=membership_id)
        .first()
    )
    if membership is None:
        raise DirectoryError("That member was already removed.")
    membership.delete()  # the signal records MEMBER_REMOVED


def add_memberships_in_bulk(pairs: Sequence[tuple[DirectoryGroup, UserOrGroup]]) -> int:
    """Insert many memberships at once and record them in the feed in the same transaction."""
    rows = []
    changes = []
    for group, member in pairs:
        is_group = isinstance(member, DirectoryGroup)
        rows.append(
            GroupMembership(
                group_id=group.pk,
                member_group_id=member.pk if is_group else None,
                user_id=None if is_group else member.pk,
            )
        )
        changes.append(
            Change(ObjectKind.GROUP, group.object_id, ChangeKind.MEMBER_ADDED, related_id=member.object_id)
        )
    with transaction.atomic():
        GroupMembership.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        record_changes(changes)
    return len(rows)


def member_candidates(group: DirectoryGroup, term: str, limit: int = 10) -> list[dict]:
    """Users and groups whose name, UPN or mail starts with ``term``, for the add-member picker."""
    if not term.strip():
        return []
    users = list(
        _first_by_name(prefix_search(DirectoryUser.objects.active(), PICKER_USER_FIELDS, term), limit)
    )
    groups = list(
        _first_by_name(
            prefix_search(DirectoryGroup.objects.active().exclude(pk=group.pk), ("display_name",), term),
            limit,
        )
    )
    members = GroupMembership.objects.filter(group=group)
    member_users = set(members.filter(user__in=users).values_list("user_id", flat=True)) if users else set()
    member_groups = (
        set(members.filter(member_group__in=groups).values_list("member_group_id", flat=True))
        if groups
        else set()
    )
    return [{"kind": "user", "object": u, "is_member": u.pk in member_users} for u in users] + [
        {"kind": "group", "object": g, "is_member": g.pk in member_groups} for g in groups
    ]


def _first_by_name(queryset: QuerySet, limit: int) -> QuerySet:
    # Sorting on lower(name) || '' keeps the planner on the search indexes (see filters.search_page).
    return queryset.order_by(Concat(Lower("display_name"), Value("")), "pk")[:limit]


def find_member(kind: str, object_id: str) -> UserOrGroup | None:
    """The user or group a picker form posted, or None for a bad or unknown id."""
    model = {"user": DirectoryUser, "group": DirectoryGroup}.get(kind)
    try:
        oid = uuid.UUID(str(object_id))
    except ValueError:
        return None
    return model.objects.filter(object_id=oid).first() if model else None


def user_suggestions(term: str, limit: int = 10) -> QuerySet[DirectoryUser]:
    """Active users for the manager picker."""
    users = prefix_search(DirectoryUser.objects.active(), PICKER_USER_FIELDS, term)
    return _first_by_name(users, limit) if term.strip() else users.none()


# --- reading the change feed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangedObject:
    change: DirectoryChange
    object: UserOrGroup | None  # None once purged


def changed_objects_since(watermark: int, limit: int = 10_000) -> list[ChangedObject]:
    """Changes after ``watermark`` with the objects they concern: three queries whatever N or the population.

    Provisioning reads this to know what to export; users come with their manager already joined.
    """
    changes = changes_since(watermark, limit)
    ids = {kind: {c.object_id for c in changes if c.object_kind == kind} for kind in ObjectKind.values}
    users = {
        u.object_id: u
        for u in DirectoryUser.objects.select_related("manager").filter(object_id__in=ids["User"])
    }
    groups = {g.object_id: g for g in DirectoryGroup.objects.filter(object_id__in=ids["Group"])}
    found = {ObjectKind.USER: users, ObjectKind.GROUP: groups}
    return [ChangedObject(c, found[c.object_kind].get(c.object_id)) for c in changes]
