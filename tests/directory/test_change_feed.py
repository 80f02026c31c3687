"""The change feed: exactly the changed objects after mixed operations, read in O(1) queries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.directory import services
from portal.directory.changes import changes_since, current_watermark
from portal.directory.models import ChangeKind, DirectoryGroup, DirectoryUser, GroupMembership

pytestmark = pytest.mark.django_db


def test_feed_holds_exactly_the_changes_of_a_mixed_batch(signed_in_client, make_user, make_group):
    bystanders = [make_user(f"Bystander {i}") for i in range(5)] + [
        make_group(f"Quiet {i}") for i in range(3)
    ]
    to_update = make_user("Update Me", user_principal_name="update.me@contoso.example")
    to_delete = make_user("Delete Me")
    to_restore = make_user("Restore Me")
    services.soft_delete(to_restore)
    group_add, group_remove = make_group("Adds"), make_group("Removes")
    leaving = make_user("Leaving")
    services.add_member(group_remove, leaving)
    import_update = make_user("Import Update", user_principal_name="imp.update@contoso.example")
    watermark = current_watermark()

    # create, update, soft delete, restore (all through the pages)
    signed_in_client.post(
        reverse("directory:user_create"),
        {
            "display_name": "Brand New",
            "user_principal_name": "brand.new@contoso.example",
            "account_enabled": "on",
        },
    )
    created = DirectoryUser.objects.get(user_principal_name="brand.new@contoso.example")
    signed_in_client.post(
        reverse("directory:user_edit", args=[to_update.object_id]),
        {
            "display_name": "Updated",
            "user_principal_name": "update.me@contoso.example",
            "account_enabled": "on",
        },
    )
    signed_in_client.post(reverse("directory:user_delete", args=[to_delete.object_id]))
    signed_in_client.post(reverse("directory:user_restore", args=[to_restore.object_id]))
    # membership add and remove
    signed_in_client.post(
        reverse("directory:member_add", args=[group_add.object_id]),
        {"kind": "user", "member": created.object_id},
    )
    membership = GroupMembership.objects.get(group=group_remove, user=leaving)
    signed_in_client.post(reverse("directory:member_remove", args=[group_remove.object_id, membership.pk]))
    # a no-op (enabling an enabled user) records nothing
    signed_in_client.post(reverse("directory:user_enable", args=[bystanders[0].object_id]))
    # bulk import: one new user, one updated, one unchanged
    text = (
        "userPrincipalName,displayName\n"
        "imported@contoso.example,Imported\n"
        "imp.update@contoso.example,Import Updated\n"
        f"{bystanders[1].user_principal_name},{bystanders[1].display_name}\n"
    )
    upload = signed_in_client.post(
        reverse("directory:user_import"), {"file": SimpleUploadedFile("u.csv", text.encode(), "text/csv")}
    )
    import_id = upload["Location"].rstrip("/").split("/")[-1]
    signed_in_client.post(reverse("directory:import_confirm", args=[import_id]))
    imported = DirectoryUser.objects.get(user_principal_name="imported@contoso.example")

    feed = [(c.object_kind, c.object_id, c.kind, c.related_id) for c in changes_since(watermark)]
    assert sorted(feed, key=str) == sorted(
        [
            ("User", created.object_id, ChangeKind.CREATED, None),
            ("User", to_update.object_id, ChangeKind.UPDATED, None),
            ("User", to_delete.object_id, ChangeKind.DELETED, None),
            ("User", to_restore.object_id, ChangeKind.RESTORED, None),
            ("Group", group_add.object_id, ChangeKind.MEMBER_ADDED, created.object_id),
            ("Group", group_remove.object_id, ChangeKind.MEMBER_REMOVED, leaving.object_id),
            ("User", imported.object_id, ChangeKind.CREATED, None),
            ("User", import_update.object_id, ChangeKind.UPDATED, None),
        ],
        key=str,
    )
    seqs = [c.seq for c in changes_since(watermark)]
    assert seqs == sorted(seqs)

    resolved = services.changed_objects_since(watermark)
    assert {c.object.pk for c in resolved if isinstance(c.object, DirectoryUser)} == {
        created.pk, to_update.pk, to_delete.pk, to_restore.pk, imported.pk, import_update.pk,
    }  # fmt: skip
    assert {c.object.pk for c in resolved if isinstance(c.object, DirectoryGroup)} == {
        group_add.pk,
        group_remove.pk,
    }


def _population(size: int) -> None:
    services.bulk_create_users(
        [
            DirectoryUser(display_name=f"P {i}", user_principal_name=f"p{i}@contoso.example")
            for i in range(size)
        ]
    )
    group = DirectoryGroup.objects.create(display_name="Population")
    services.add_memberships_in_bulk([(group, u) for u in DirectoryUser.objects.all()[: size // 2]])


def _changes(count: int) -> int:
    watermark = current_watermark()
    users = list(DirectoryUser.objects.order_by("pk")[:count])
    group = DirectoryGroup.objects.create(display_name="Changed")  # 1 change
    for user in users[: count // 2]:
        services.set_account_enabled(user, False)  # 1 change each
    services.add_memberships_in_bulk([(group, u) for u in users[count // 2 : count - 1]])  # 1 change each
    return watermark


@pytest.mark.parametrize(("population", "changes"), [(100, 6), (100, 60), (1500, 6), (1500, 60)])
def test_reading_n_changes_costs_constant_queries_whatever_the_population(
    population, changes, django_assert_num_queries
):
    _population(population)
    watermark = _changes(changes)
    with django_assert_num_queries(1):
        feed = changes_since(watermark)
    assert len(feed) == changes
    with django_assert_num_queries(3):  # the changes, their users (with managers), their groups
        resolved = services.changed_objects_since(watermark)
    with django_assert_num_queries(0):
        assert all(r.object is not None for r in resolved)
        [r.object.manager for r in resolved if isinstance(r.object, DirectoryUser)]  # joined, no N+1
