"""Users: list (search, filters), create/edit with validation, enable/disable, detail page."""

import pytest
from django.urls import reverse

from portal.directory.attributes import EXTENSION_ATTRIBUTE_NAMES
from portal.directory.models import DirectoryUser

pytestmark = pytest.mark.django_db


def _valid(**overrides) -> dict:
    data = {
        "display_name": "Zoë Müller",
        "user_principal_name": "zoe.muller@contoso.example",
        "mail": "zoe.muller@contoso.example",
        "given_name": "Zoë",
        "surname": "Müller",
        "account_enabled": "on",
        "usage_location": "de",
        "business_phones": "+49 30 1234, +49 30 5678",
        "manager": "",
    }
    data.update(overrides)
    return data


def test_users_list_shows_users_and_links_to_detail(signed_in_client, make_user):
    user = make_user("Søren Kjær", department="Sales")
    html = signed_in_client.get(reverse("directory:user_list")).content.decode()
    assert "Søren Kjær" in html
    assert user.get_absolute_url() in html
    assert "Sales" in html


def test_users_list_search_is_a_prefix_match_on_name_upn_mail_and_surname(signed_in_client, make_user):
    make_user("Łukasz Wójcik", user_principal_name="lukasz.wojcik@contoso.example")
    make_user("José García", user_principal_name="jgarcia@contoso.example", mail="pepe@contoso.example")
    make_user("Anna Lukas", user_principal_name="anna@contoso.example", surname="Lukas")

    def names(q: str) -> set[str]:
        response = signed_in_client.get(
            reverse("directory:user_list"), {"q": q}, headers={"HX-Request": "true"}
        )
        html = response.content.decode()
        return {n for n in ("Łukasz Wójcik", "José García", "Anna Lukas") if n in html}

    assert names("łuk") == {"Łukasz Wójcik"}  # display name, non-ASCII first letter, any case
    assert names("LUKASZ.") == {"Łukasz Wójcik"}  # UPN
    assert names("pepe") == {"José García"}  # mail
    assert names("luk") == {"Łukasz Wójcik", "Anna Lukas"}  # UPN of one, surname of the other
    assert names("ukasz") == set()  # prefix, not substring
    assert names("100%_") == set()  # LIKE wildcards are literal


def test_htmx_search_returns_only_the_results_fragment(signed_in_client, make_user):
    make_user("Ærø Nielsen")
    response = signed_in_client.get(
        reverse("directory:user_list"), {"q": "ær"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'id="user-results"' in html and "Ærø Nielsen" in html
    assert "<html" not in html and "Search users" not in html
    assert "HX-Request" in response["Vary"]


def test_users_list_filters_department_enabled_and_deleted(signed_in_client, make_user):
    from portal.directory import services

    make_user("Eng One", department="Engineering")
    make_user("Sales Off", department="Sales", account_enabled=False)
    gone = make_user("Gone Person", department="Sales")
    services.soft_delete(gone)
    url = reverse("directory:user_list")

    def shown(**params) -> set[str]:
        html = signed_in_client.get(url, params).content.decode()
        return {n for n in ("Eng One", "Sales Off", "Gone Person") if n in html}

    assert shown() == {"Eng One", "Sales Off"}  # the recycle bin is hidden by default
    assert shown(department="Sales") == {"Sales Off"}
    assert shown(enabled="false") == {"Sales Off"}
    assert shown(enabled="true") == {"Eng One"}
    assert shown(deleted="only") == {"Gone Person"}
    assert shown(deleted="all", department="Sales") == {"Sales Off", "Gone Person"}
    assert shown(enabled="bogus", deleted="bogus") == {
        "Eng One",
        "Sales Off",
    }  # bad values: no filter, no 500


def test_create_user_with_every_kind_of_field(signed_in_client, make_user):
    boss = make_user("The Boss", user_principal_name="boss@contoso.example")
    data = _valid(manager="BOSS@contoso.example", extensionAttribute1="CC-42", extensionAttribute15="last")
    response = signed_in_client.post(reverse("directory:user_create"), data)
    user = DirectoryUser.objects.get(user_principal_name="zoe.muller@contoso.example")
    assert response.status_code == 302 and response["Location"] == user.get_absolute_url()
    assert user.manager == boss
    assert user.usage_location == "DE"
    assert user.business_phones == ["+49 30 1234", "+49 30 5678"]
    assert user.extension_attributes == {"extensionAttribute1": "CC-42", "extensionAttribute15": "last"}

    page = signed_in_client.get(user.get_absolute_url()).content.decode()
    assert "Created Zoë Müller." in page
    assert "+49 30 1234, +49 30 5678" in page and "CC-42" in page and "The Boss" in page


def test_create_form_shows_all_fifteen_extension_attributes(signed_in_client):
    html = signed_in_client.get(reverse("directory:user_create")).content.decode()
    for name in EXTENSION_ATTRIBUTE_NAMES:
        assert f'name="{name}"' in html


def test_htmx_create_redirects_with_hx_redirect(signed_in_client):
    response = signed_in_client.post(
        reverse("directory:user_create"), _valid(), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == DirectoryUser.objects.get().get_absolute_url()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"user_principal_name": "ZOE.existing@CONTOSO.example"},
            "user_principal_name",
            "already has the user principal name",
        ),
        ({"user_principal_name": "no-at-sign"}, "user_principal_name", "Enter a user principal name like"),
        (
            {"user_principal_name": "zoë@contoso.example"},
            "user_principal_name",
            "Enter a user principal name like",
        ),
        ({"mail": "not-an-address"}, "mail", "Enter a valid email address."),
        ({"usage_location": "DEU"}, "usage_location", "two-letter country code"),
        ({"usage_location": "1A"}, "usage_location", "two-letter country code"),
        ({"business_phones": "+1 555 0100, call me"}, "business_phones", "Not a phone number: call me"),
        ({"manager": "nobody@contoso.example"}, "manager", "No user has the user principal name"),
        ({"display_name": "   "}, "display_name", "required"),
        ({"extensionAttribute3": "x" * 1025}, "extensionAttribute3", "at most 1024"),
    ],
)
def test_bad_input_gets_a_message_on_its_field(signed_in_client, make_user, overrides, field, message):
    make_user(user_principal_name="zoe.existing@contoso.example")
    response = signed_in_client.post(reverse("directory:user_create"), _valid(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert f'id="id_{field}_error"' in response.content.decode()  # shown next to the field
    assert DirectoryUser.objects.count() == 1


def test_htmx_bad_input_returns_the_form_fragment_with_errors(signed_in_client):
    response = signed_in_client.post(
        reverse("directory:user_create"), _valid(mail="nope"), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert html.lstrip().startswith("<form") and "Enter a valid email address." in html


def test_manager_cycle_is_refused_on_the_manager_field(signed_in_client, make_user):
    a = make_user("A Top", user_principal_name="a@contoso.example")
    b = make_user("B Mid", user_principal_name="b@contoso.example", manager=a)
    make_user("C Low", user_principal_name="c@contoso.example", manager=b)
    url = reverse("directory:user_edit", args=[a.object_id])
    data = _valid(
        display_name="A Top", user_principal_name="a@contoso.example", mail="", manager="c@contoso.example"
    )
    response = signed_in_client.post(url, data)
    assert response.status_code == 200
    assert "would create a cycle" in " ".join(response.context["form"].errors["manager"])
    self_managed = signed_in_client.post(url, {**data, "manager": "a@contoso.example"})
    assert "would create a cycle" in " ".join(self_managed.context["form"].errors["manager"])
    a.refresh_from_db()
    assert a.manager is None


def test_edit_keeps_own_upn_and_prefills_lists(signed_in_client, make_user):
    user = make_user("Håkon Berg", user_principal_name="hakon@contoso.example", business_phones=["1 2 3", "4 5 6"],
                     extension_attributes={"extensionAttribute2": "Remote"})  # fmt: skip
    url = reverse("directory:user_edit", args=[user.object_id])
    html = signed_in_client.get(url).content.decode()
    assert 'value="1 2 3, 4 5 6"' in html and 'value="Remote"' in html
    response = signed_in_client.post(
        url, _valid(display_name="Håkon Berg", user_principal_name="HAKON@contoso.example")
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.user_principal_name == "HAKON@contoso.example"
    assert user.extension_attributes == {}  # cleared in the form, cleared in the directory


def test_disable_and_enable(signed_in_client, make_user):
    user = make_user("Ida Lund")
    response = signed_in_client.post(reverse("directory:user_disable", args=[user.object_id]))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.account_enabled is False
    page = signed_in_client.get(user.get_absolute_url()).content.decode()
    assert "Disabled sign-in for Ida Lund." in page and "Enable sign-in" in page
    signed_in_client.post(
        reverse("directory:user_enable", args=[user.object_id]), headers={"HX-Request": "true"}
    )
    user.refresh_from_db()
    assert user.account_enabled is True


def test_get_on_an_action_is_refused_not_performed(signed_in_client, make_user):
    user = make_user()
    assert signed_in_client.get(reverse("directory:user_disable", args=[user.object_id])).status_code == 405
    user.refresh_from_db()
    assert user.account_enabled is True


def test_csrf_is_enforced_on_actions(client, admin_user, make_user):
    from django.test import Client

    user = make_user()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(reverse("directory:user_disable", args=[user.object_id])).status_code == 403


def test_detail_shows_properties_groups_manager_and_reports(signed_in_client, make_user, make_group):
    from portal.directory import services

    boss = make_user("Mette Møller", job_title="CEO")
    user = make_user("Jiří Dvořák", manager=boss, job_title="Engineer", city="Brno",
                     extension_attributes={"extensionAttribute10": "ten", "extensionAttribute2": "two"})  # fmt: skip
    report = make_user("Eliška Novák", manager=user)
    services.add_member(make_group("Brno Office"), user)
    html = signed_in_client.get(user.get_absolute_url()).content.decode()
    for text in (
        "Jiří Dvořák",
        "Brno",
        "Engineer",
        "Mette Møller",
        "Eliška Novák",
        "Brno Office",
        str(user.object_id),
    ):
        assert text in html
    assert html.index("extensionAttribute2") < html.index("extensionAttribute10")  # numeric order
    assert "Direct reports (1)" in html
    assert report.get_absolute_url() in html


def test_unknown_user_is_404(signed_in_client):
    assert signed_in_client.get("/directory/users/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert signed_in_client.get("/directory/users/not-a-uuid/").status_code == 404


def test_manager_lookup_suggests_users(signed_in_client, make_user):
    make_user("Sigurður Ólafsson", user_principal_name="sigurdur@contoso.example")
    response = signed_in_client.get(reverse("directory:user_lookup"), {"manager": "sig"})
    assert '<option value="sigurdur@contoso.example">' in response.content.decode()
