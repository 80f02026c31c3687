"""Groups: list, create/edit, detail with member add/remove, the picker, nesting rules."""

import pytest
from django.urls import reverse

from portal.directory import services
from portal.directory.models import DirectoryGroup, GroupMembership

pytestmark = pytest.mark.django_db


def _add(client, group, member, htmx: bool = False):
    kind = "group" if isinstance(member, DirectoryGroup) else "user"
    headers = {"HX-Request": "true"} if htmx else {}
    url = reverse("directory:member_add", args=[group.object_id])
    return client.post(url, {"kind": kind, "member": str(member.object_id)}, headers=headers)


def test_group_list_search_and_deleted_filter(signed_in_client, make_group, make_user):
    eng = make_group("Engineering Team")
    make_group("Sales Team")
    old = make_group("Engineering Alumni")
    services.add_member(eng, make_user())
    services.soft_delete(old)
    url = reverse("directory:group_list")

    def shown(**params) -> set[str]:
        html = signed_in_client.get(url, params).content.decode()
        return {n for n in ("Engineering Team", "Sales Team", "Engineering Alumni") if n in html}

    assert shown() == {"Engineering Team", "Sales Team"}
    assert shown(q="eng") == {"Engineering Team"}
    assert shown(q="eng", deleted="all") == {"Engineering Team", "Engineering Alumni"}
    assert shown(deleted="only") == {"Engineering Alumni"}
    html = signed_in_client.get(url, {"q": "Engineering T"}).content.decode()
    assert "<td>1</td>" in html  # direct member count


def test_create_and_edit_group(signed_in_client):
    response = signed_in_client.post(
        reverse("directory:group_create"),
        {"display_name": "Ærø Office", "description": "Island staff", "security_enabled": "on"},
    )
    group = DirectoryGroup.objects.get()
    assert response["Location"] == group.get_absolute_url()
    response = signed_in_client.post(
        reverse("directory:group_edit", args=[group.object_id]),
        {
            "display_name": "Ærø HQ",
            "mail_enabled": "on",
            "mail_nickname": "aero-hq",
            "security_enabled": "on",
        },
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == group.get_absolute_url()
    group.refresh_from_db()
    assert (group.display_name, group.mail_enabled, group.mail_nickname) == ("Ærø HQ", True, "aero-hq")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"display_name": ""}, "display_name", "required"),
        (
            {"display_name": "X", "security_enabled": "on", "mail_enabled": "on"},
            "mail_nickname",
            "needs a mail nickname",
        ),
        (
            {"display_name": "X", "security_enabled": "on", "mail_nickname": "a b"},
            "mail_nickname",
            "Use only letters",
        ),
        ({"display_name": "X"}, "security_enabled", "security-enabled, mail-enabled or both"),
        ({"display_name": "X", "security_enabled": "on", "mail": "@@"}, "mail", "valid email"),
    ],
)
def test_group_form_errors_are_on_the_field(signed_in_client, data, field, message):
    response = signed_in_client.post(reverse("directory:group_create"), data)
    assert response.status_code == 200
    assert message.lower() in " ".join(response.context["form"].errors[field]).lower()
    assert not DirectoryGroup.objects.exists()


def test_detail_lists_members_nested_groups_and_parents(signed_in_client, make_group, make_user):
    group, child, parent = make_group("Team Fjord"), make_group("Fjord Leads"), make_group("All Projects")
    user = make_user("Øystein Haugen")
    services.add_member(group, user)
    services.add_member(group, child)
    services.add_member(parent, group)
    html = signed_in_client.get(group.get_absolute_url()).content.decode()
    assert "Members (2)" in html
    assert "Øystein Haugen" in html and "Fjord Leads" in html
    assert "Member of" in html and "All Projects" in html


def test_picker_searches_users_and_groups_and_marks_members(signed_in_client, make_group, make_user):
    group = make_group("Nordlys")
    member = make_user("Nora Berg", user_principal_name="nora@contoso.example")
    make_user("Nora Dahl", user_principal_name="nora.dahl@contoso.example")
    make_group("Nordic Sales")
    services.add_member(group, member)
    url = reverse("directory:member_search", args=[group.object_id])
    html = signed_in_client.get(url, {"q": "nor"}, headers={"HX-Request": "true"}).content.decode()
    assert "Nora Berg" in html and "Nora Dahl" in html and "Nordic Sales" in html
    assert html.count('value="Add"') == 0 and html.count(">Add</button>") == 2  # not the member
    assert "Nordlys" not in html  # not the group itself
    assert "Nothing starts with" in signed_in_client.get(url, {"q": "zzz"}).content.decode()


def test_add_and_remove_a_member_with_htmx(signed_in_client, make_group, make_user):
    group, user = make_group("Squad Vega"), make_user("Vega Person")
    response = _add(signed_in_client, group, user, htmx=True)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="members"')
    assert "Added Vega Person to Squad Vega." in html and "Members (1)" in html
    membership = GroupMembership.objects.get(group=group, user=user)
    url = reverse("directory:member_remove", args=[group.object_id, membership.pk])
    html = signed_in_client.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "Members (0)" in html and "No user members." in html
    assert not GroupMembership.objects.exists()
    again = signed_in_client.post(url).status_code
    assert again == 302  # already gone: a message, not a 500


def test_a_group_cannot_contain_itself(signed_in_client, make_group):
    group = make_group("Loop")
    response = _add(signed_in_client, group, group, htmx=True)
    assert "A group cannot be a member of itself." in response.content.decode()
    assert not GroupMembership.objects.exists()


def test_a_group_cannot_contain_itself_through_nesting(signed_in_client, make_group):
    a, b, c = make_group("Alpha"), make_group("Bravo"), make_group("Charlie")
    services.add_member(a, b)
    services.add_member(b, c)
    response = _add(signed_in_client, c, a)  # c ⊂ b ⊂ a, so a ⊂ c would loop
    html = response.content.decode()
    assert response.status_code == 200
    assert "Alpha already contains Charlie through nested groups; adding it would create a cycle." in html
    assert not GroupMembership.objects.filter(group=c).exists()
    assert _add(signed_in_client, a, c).status_code == 302  # the other direction is fine


def test_duplicate_and_bad_member_posts_get_messages(signed_in_client, make_group, make_user):
    group, user = make_group("Guild Atlas"), make_user("Atlas Member")
    _add(signed_in_client, group, user)
    html = _add(signed_in_client, group, user, htmx=True).content.decode()
    assert "already a member" in html
    url = reverse("directory:member_add", args=[group.object_id])
    html = signed_in_client.post(url, {"kind": "user", "member": "nope"}).content.decode()
    assert "Pick a user or a group from the list." in html
    html = signed_in_client.post(
        url, {"kind": "user", "member": "00000000-0000-4000-8000-000000000000"}
    ).content.decode()
    assert "no longer exists" in html


def test_deleted_objects_cannot_be_added(signed_in_client, make_group, make_user):
    group, user = make_group("Team Orion"), make_user("Gone User")
    services.soft_delete(user)
    assert "is in the recycle bin" in _add(signed_in_client, group, user, htmx=True).content.decode()


def test_member_list_pages_by_keyset(signed_in_client, make_group, make_user):
    group = make_group("Big Group")
    users = [make_user(f"Member {i:03d}") for i in range(55)]
    services.add_memberships_in_bulk([(group, u) for u in users])
    first = signed_in_client.get(group.get_absolute_url()).context["member_page"]
    assert len(first.items) == 50 and first.next_url
    second = signed_in_client.get(group.get_absolute_url() + first.next_url, headers={"HX-Request": "true"})
    assert [u.display_name for u in second.context["member_page"].items] == [
        f"Member {i:03d}" for i in range(50, 55)
    ]
