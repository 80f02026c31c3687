"""seed_directory: deterministic, realistic, idempotent-ish, and recorded in the change feed."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
)
from portal.directory.seeding import ascii_fold, generate_groups, generate_users


def _fingerprint(seed_users) -> list[tuple]:
    return [
        (
            u.user.user_principal_name,
            u.user.display_name,
            u.user.department,
            u.user.object_id,
            u.manager_index,
        )
        for u in seed_users
    ]


def test_same_seed_same_users_other_seed_other_users():
    first, again = generate_users(300, seed=7), generate_users(300, seed=7)
    assert [u.user.user_principal_name for u in first] == [u.user.user_principal_name for u in again]
    assert _fingerprint(first) == _fingerprint(again)
    assert _fingerprint(generate_users(300, seed=8)) != _fingerprint(first)
    assert _fingerprint(generate_users(100, seed=7)) == _fingerprint(first)[:100]  # growing keeps the first N


def test_generated_data_is_realistic():
    users = generate_users(2000, seed=3)
    names = " ".join(u.user.display_name for u in users)
    assert sum(ch in names for ch in "ëŁøÆéüñçş") >= 7  # diacritics from several locales
    upns = [u.user.user_principal_name for u in users]
    assert len(set(upns)) == len(upns) and all(upn.isascii() for upn in upns)
    assert len({u.user.department for u in users}) >= 10 and len({u.user.country for u in users}) >= 10
    top = [u for u in users if u.manager_index is None]
    assert len(top) == 1
    for u in users[1:]:
        manager = users[u.manager_index]
        assert u.manager_index < u.index  # earlier users only: a tree, never a cycle
        assert manager.index == 0 or manager.user.department == u.user.department
    groups = generate_groups(120, users, seed=3)
    sizes = sorted((len(g.user_indexes) for g in groups), reverse=True)
    assert sizes[0] == 2000 and sum(s <= 15 for s in sizes) > 60  # a few big, many small
    assert any(g.nested_in is not None for g in groups)
    assert len({g.group.display_name for g in groups}) == 120


def test_ascii_fold():
    assert ascii_fold("Søren Ærø Łukasz Müller José Þóra Đặng") == "Soren Aero Lukasz Muller Jose Thora Dang"


@pytest.mark.django_db
def test_command_seeds_records_changes_and_skips_what_exists():
    out = StringIO()
    call_command("seed_directory", users=150, groups=40, seed=5, stdout=out)
    assert "Users: 150 created, 0 already there" in out.getvalue()
    assert DirectoryUser.objects.count() == 150 and DirectoryGroup.objects.count() == 40
    memberships = GroupMembership.objects.count()
    assert memberships > 150
    assert GroupMembership.objects.filter(member_group__isnull=False).exists()  # some nesting
    assert DirectoryUser.objects.filter(manager__isnull=True).count() == 1
    kinds = dict(DirectoryChange.objects.values_list("kind").annotate(n=Count("seq")).order_by())
    assert kinds == {ChangeKind.CREATED: 190, ChangeKind.MEMBER_ADDED: memberships}

    out = StringIO()
    call_command("seed_directory", users=150, groups=40, seed=5, stdout=out)
    assert (
        "Users: 0 created, 150 already there (skipped). Groups: 0 created, 40 already there" in out.getvalue()
    )
    assert DirectoryUser.objects.count() == 150 and GroupMembership.objects.count() == memberships

    call_command("seed_directory", users=170, groups=40, seed=5, stdout=StringIO())
    assert DirectoryUser.objects.count() == 170  # only the 20 new ones were added


@pytest.mark.django_db
def test_same_seed_gives_identical_upns_in_the_database():
    def run() -> list[tuple]:
        call_command("seed_directory", users=80, groups=10, seed=11, stdout=StringIO())
        rows = list(
            DirectoryUser.objects.order_by("user_principal_name").values_list(
                "user_principal_name", "object_id", "display_name", "manager__user_principal_name"
            )
        )
        GroupMembership.objects.all().delete()
        DirectoryUser.objects.update(manager=None)
        DirectoryUser.objects.all().delete()
        DirectoryGroup.objects.all().delete()
        return rows

    assert run() == run()
