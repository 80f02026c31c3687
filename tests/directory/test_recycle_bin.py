"""Soft delete into the recycle bin, restore, permanent delete, the Deleted items page and the purge task."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.directory import services, tasks
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
)

pytestmark = pytest.mark.django_db


def test_delete_moves_a_user_to_the_recycle_bin_keeping_memberships(signed_in_client, make_user, make_group):
    user, group = make_user("Saga Ström"), make_group("Squad Zephyr")
    services.add_member(group, user)
    response = signed_in_client.post(
        reverse("directory:user_delete", args=[user.object_id]), headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == reverse("directory:user_list")
    user.refresh_from_db()
    assert user.is_deleted
    assert GroupMembership.objects.filter(user=user, group=group).exists()
    html = signed_in_client.get(reverse("directory:user_list")).content.decode()
    assert "Deleted Saga Ström. It stays in Deleted items for 30 days" in html
    assert "Saga Ström</a>" not in html
    assert DirectoryChange.objects.filter(object_id=user.object_id).last().kind == ChangeKind.DELETED


def test_deleted_items_lists_users_and_groups_and_restores(signed_in_client, make_user, make_group):
    user, group = make_user("Göran Åberg"), make_group("Committee Vega")
    services.soft_delete(user)
    services.soft_delete(group)
    page = signed_in_client.get(reverse("directory:deleted_items")).content.decode()
    assert "Göran Åberg" in page and "Committee Vega" not in page
    groups_page = signed_in_client.get(
        reverse("directory:deleted_items"), {"type": "groups"}
    ).content.decode()
    assert "Committee Vega" in groups_page and "Göran Åberg" not in groups_page

    next_url = reverse("directory:deleted_items") + "?type=users"
    response = signed_in_client.post(
        reverse("directory:user_restore", args=[user.object_id]), {"next": next_url}
    )
    assert response["Location"] == next_url
    user.refresh_from_db()
    assert not user.is_deleted
    assert DirectoryChange.objects.filter(object_id=user.object_id).last().kind == ChangeKind.RESTORED
    assert "Restored Göran Åberg." in signed_in_client.get(next_url).content.decode()


def test_restore_ignores_an_offsite_next(signed_in_client, make_user):
    user = make_user()
    services.soft_delete(user)
    response = signed_in_client.post(
        reverse("directory:user_restore", args=[user.object_id]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == user.get_absolute_url()


def test_deleted_user_page_offers_restore_and_permanent_delete(signed_in_client, make_user):
    user = make_user("Ólafur Jónsson")
    services.soft_delete(user)
    html = signed_in_client.get(user.get_absolute_url()).content.decode()
    assert "In the recycle bin since" in html and "Restore" in html and "Delete permanently" in html
    edit = signed_in_client.get(reverse("directory:user_edit", args=[user.object_id]), follow=True)
    assert "restore the user to edit it" in edit.content.decode()


def test_permanent_delete_only_from_the_recycle_bin(signed_in_client, make_user, make_group):
    boss, user, group = make_user("Boss"), make_user("Temp"), make_group("Team")
    report = make_user("Report", manager=user)
    services.add_member(group, user)
    refused = signed_in_client.post(reverse("directory:user_purge", args=[user.object_id]), follow=True)
    assert "is not in the recycle bin" in refused.content.decode()
    assert DirectoryUser.objects.filter(pk=user.pk).exists()

    services.soft_delete(user)
    since = DirectoryChange.objects.order_by("-seq").first().seq
    response = signed_in_client.post(reverse("directory:user_purge", args=[user.object_id]))
    assert response["Location"] == reverse("directory:deleted_items") + "?type=users"
    assert not DirectoryUser.objects.filter(pk=user.pk).exists()
    assert not GroupMembership.objects.filter(group=group).exists()
    report.refresh_from_db()
    assert report.manager is None and boss.pk
    kinds = {(c.object_id, c.kind) for c in DirectoryChange.objects.filter(seq__gt=since)}
    assert (user.object_id, ChangeKind.PURGED) in kinds
    assert (report.object_id, ChangeKind.UPDATED) in kinds  # its manager went away


def test_group_delete_restore_and_purge(signed_in_client, make_group, make_user):
    group = make_group("Working group Atlas")
    services.add_member(group, make_user())
    signed_in_client.post(reverse("directory:group_delete", args=[group.object_id]))
    group.refresh_from_db()
    assert group.is_deleted and group.memberships.count() == 1
    signed_in_client.post(reverse("directory:group_restore", args=[group.object_id]))
    group.refresh_from_db()
    assert not group.is_deleted and group.memberships.count() == 1
    signed_in_client.post(reverse("directory:group_delete", args=[group.object_id]))
    signed_in_client.post(reverse("directory:group_purge", args=[group.object_id]))
    assert not DirectoryGroup.objects.filter(pk=group.pk).exists()


def test_purge_task_removes_only_what_is_older_than_the_retention(make_user, make_group, settings):
    settings.DIRECTORY_RECYCLE_BIN_DAYS = 30
    old_user, recent_user, live_user = make_user("Old"), make_user("Recent"), make_user("Live")
    old_group = make_group("Old group")
    for obj in (old_user, recent_user, old_group):
        services.soft_delete(obj)
    long_ago = timezone.now() - timedelta(days=31)
    DirectoryUser.objects.filter(pk=old_user.pk).update(deleted_at=long_ago)
    DirectoryGroup.objects.filter(pk=old_group.pk).update(deleted_at=long_ago)

    result = tasks.purge_recycle_bin.apply().get()
    assert result == {"DirectoryUser": 1, "DirectoryGroup": 1}
    assert set(DirectoryUser.objects.values_list("display_name", flat=True)) == {"Recent", "Live"}
    assert not DirectoryGroup.objects.exists()
    purged = set(DirectoryChange.objects.filter(kind=ChangeKind.PURGED).values_list("object_id", flat=True))
    assert purged == {old_user.object_id, old_group.object_id}
    assert live_user.pk


def test_purge_task_honours_the_setting(make_user, settings):
    settings.DIRECTORY_RECYCLE_BIN_DAYS = 1
    user = make_user()
    services.soft_delete(user)
    DirectoryUser.objects.filter(pk=user.pk).update(deleted_at=timezone.now() - timedelta(days=2))
    assert tasks.purge_recycle_bin() == {"DirectoryUser": 1, "DirectoryGroup": 0}


def test_purge_stale_imports(db):
    from portal.directory.models import DirectoryImport

    DirectoryImport.objects.create(
        kind="users", file_name="a.csv", content="x", created_at=timezone.now() - timedelta(days=8)
    )
    DirectoryImport.objects.create(kind="users", file_name="b.csv", content="x")
    assert tasks.purge_stale_imports() == 1
    assert list(DirectoryImport.objects.values_list("file_name", flat=True)) == ["b.csv"]
