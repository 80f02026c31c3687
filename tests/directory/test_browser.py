"""The htmx interactions in a real browser: search-as-you-type, inline form errors, the member picker."""

import re

import pytest
from playwright.sync_api import expect

from portal.directory import services
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership
from tests.fixtures.htmx import settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_users_search_form_errors_and_member_picker(signed_in_page, live_server):
    page = signed_in_page
    DirectoryUser.objects.create(display_name="Łukasz Wójcik", user_principal_name="lukasz@contoso.example")
    DirectoryUser.objects.create(display_name="Søren Kjær", user_principal_name="soren@contoso.example")
    outer, inner = (
        DirectoryGroup.objects.create(display_name="Outer"),
        DirectoryGroup.objects.create(display_name="Inner"),
    )
    services.add_member(outer, inner)

    # search as you type: the table updates in place and the URL follows
    page.goto(f"{live_server.url}/directory/users/")
    page.fill("input[name=q]", "łuk")
    expect(page.locator("#user-results")).not_to_contain_text("Søren Kjær")
    expect(page.locator("#user-results")).to_contain_text("Łukasz Wójcik")
    expect(page).to_have_url(re.compile(r"q=%C5%82uk"))

    # a bad field comes back next to the field, without a reload; a good one lands on the user's page
    page.goto(f"{live_server.url}/directory/users/new/")
    page.fill("#id_display_name", "Zoë Müller")
    page.fill("#id_user_principal_name", "LUKASZ@contoso.example")
    page.fill("#id_mail", "not-mail")
    page.click("button:text('Create')")
    expect(page.locator("#id_user_principal_name_error")).to_contain_text(
        "already has the user principal name"
    )
    expect(page.locator("#id_mail_error")).to_contain_text("Enter a valid email address.")
    settled(page)  # the form that came back posts through htmx once its swap has settled
    page.fill("#id_user_principal_name", "zoe@contoso.example")
    page.fill("#id_mail", "zoe@contoso.example")
    page.click("button:text('Create')")
    expect(page.locator("h1")).to_have_text("Zoë Müller")
    expect(page.locator(".messages")).to_contain_text("Created Zoë Müller.")

    # the picker adds a user; adding the outer group to the inner one is refused with a clear message
    page.goto(f"{live_server.url}{inner.get_absolute_url()}")
    page.fill("#member-search", "zo")
    expect(page.locator("#candidates")).to_contain_text("Zoë Müller")
    settled(page)  # its Add button posts through htmx (into #members) only once the rows are wired
    page.click("#candidates button:text('Add')")
    expect(page.locator("#members")).to_contain_text("Added Zoë Müller to Inner.")
    expect(page.locator("#members h2").first).to_have_text("Members (1)")
    settled(page)  # the search box came back with #members: typing searches only once it is wired
    page.fill("#member-search", "out")
    expect(page.locator("#candidates")).to_contain_text("Outer")
    settled(page)
    page.click("#candidates button:text('Add')")
    expect(page.locator("#members .form-error")).to_contain_text("would create a cycle")
    assert not GroupMembership.objects.filter(group=inner, member_group=outer).exists()

    # delete asks first, then lands on the list with the recycle-bin message
    page.goto(f"{live_server.url}/directory/users/")
    page.click("text=Søren Kjær")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:text('Delete')")
    expect(page.locator(".messages")).to_contain_text("Deleted Søren Kjær. It stays in Deleted items")
