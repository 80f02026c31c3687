"""Record app assignments in the directory change feed, so delta sync sees assign and unassign."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.applications.models import AppRoleAssignment
from portal.directory.changes import Change, record_changes
from portal.directory.models import ChangeKind, DirectoryGroup, DirectoryUser


def _change(assignment: AppRoleAssignment, kind: str) -> Change | None:
    try:
        principal = assignment.user if assignment.user_id else assignment.group
    except (DirectoryUser.DoesNotExist, DirectoryGroup.DoesNotExist):
        return None  # cascading from a purge, which is recorded itself
    object_kind = "User" if assignment.user_id else "Group"
    return Change(object_kind, principal.object_id, kind, app_id=assignment.application_id)


@receiver(post_save, sender=AppRoleAssignment)
def _assigned(sender, instance: AppRoleAssignment, created: bool, **kwargs) -> None:
    change = _change(instance, ChangeKind.ASSIGNED)
    if change:
        record_changes([change])


@receiver(post_delete, sender=AppRoleAssignment)
def _unassigned(sender, instance: AppRoleAssignment, **kwargs) -> None:
    change = _change(instance, ChangeKind.UNASSIGNED)
    if change:
        record_changes([change])
