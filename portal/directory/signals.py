"""Record single-object saves and deletes in the change feed.

Bulk operations bypass signals and call ``record_changes`` themselves.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.directory.changes import Change, record_changes
from portal.directory.models import ChangeKind, DirectoryGroup, DirectoryUser, GroupMembership


@receiver(post_save, sender=DirectoryUser)
@receiver(post_save, sender=DirectoryGroup)
def _object_saved(sender, instance, created: bool, **kwargs) -> None:
    kind = getattr(instance, "_change_kind", None) or (ChangeKind.CREATED if created else ChangeKind.UPDATED)
    instance._change_kind = None
    record_changes([Change(sender.__name__.removeprefix("Directory"), instance.object_id, kind)])


@receiver(post_delete, sender=DirectoryUser)
@receiver(post_delete, sender=DirectoryGroup)
def _object_purged(sender, instance, **kwargs) -> None:
    record_changes([Change(sender.__name__.removeprefix("Directory"), instance.object_id, ChangeKind.PURGED)])


def _membership_change(instance: GroupMembership, kind: str) -> Change:
    member = instance.user if instance.user_id else instance.member_group
    return Change("Group", instance.group.object_id, kind, related_id=member.object_id)


@receiver(post_save, sender=GroupMembership)
def _member_added(sender, instance: GroupMembership, created: bool, **kwargs) -> None:
    if created:
        record_changes([_membership_change(instance, ChangeKind.MEMBER_ADDED)])


@receiver(post_delete, sender=GroupMembership)
def _member_removed(sender, instance: GroupMembership, **kwargs) -> None:
    try:
        change = _membership_change(instance, ChangeKind.MEMBER_REMOVED)
    except (DirectoryUser.DoesNotExist, DirectoryGroup.DoesNotExist):
        return  # cascading from a purge: the purge itself is the recorded change
    record_changes([change])
