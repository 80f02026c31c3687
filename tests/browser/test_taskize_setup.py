"""Seed 002, steps 3-5, in Chromium: add Taskize Connect, assign, configure provisioning, test, save.

A real scim2-server on loopback plays Taskize; the portal runs in live_server; everything the admin
does goes through the pages (htmx included), and what they read is what the test asserts.
"""

import os

import pytest
from playwright.sync_api import Page, expect

from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership
from provisioning.models import JobState, ProvisioningJob
from provisioning.sync.credentials import credentials_tested

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("TASKIZE_SCREENSHOTS")  # a folder: save a screenshot of each step there


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def engine_calls(monkeypatch) -> list[str]:
    """The engine side of provisioning.sync.control stood in for: the page's job ends at calling start();
    no task reaches a broker that other test runs share (the engine has its own tests)."""
    calls: list[str] = []

    def start(job):
        calls.append("start")
        ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True, state=JobState.ACTIVE)

    def stop(job):
        calls.append("stop")
        ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False, state=JobState.PAUSED)

    monkeypatch.setattr("provisioning.sync.control.start", start)
    monkeypatch.setattr("provisioning.sync.control.stop", stop)
    return calls


@pytest.fixture
def directory():
    ada = DirectoryUser.objects.create(display_name="Ada Lovelace", user_principal_name="ada@contoso.test")
    DirectoryUser.objects.create(display_name="Alan Turing", user_principal_name="alan@contoso.test")
    traders = DirectoryGroup.objects.create(display_name="Traders")
    mia = DirectoryUser.objects.create(display_name="Mia Member", user_principal_name="mia@contoso.test")
    GroupMembership.objects.create(group=traders, user=mia)
    return ada, traders


def test_taskize_connect_setup_end_to_end(
    signed_in_page: Page, live_server, scim_server, directory, engine_calls
):
    page = signed_in_page

    # Step 3: add Taskize Connect from the gallery.
    page.click("nav.sidenav >> text=Enterprise applications")
    expect(page.locator("h1")).to_contain_text("Enterprise applications")
    page.click("text=+ New application")
    page.fill("input[name=q]", "taskize")  # search as you type (htmx)
    tiles = page.locator("#gallery-results .tile")
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("Taskize Connect")
    shot(page, "1-gallery")
    tiles.first.click()
    expect(page.locator("#id_display_name")).to_have_value("Taskize Connect")
    page.click("button:has-text('Create')")
    expect(page.locator("h1")).to_have_text("Taskize Connect | Overview")
    expect(page.locator(".messages")).to_contain_text("Taskize Connect was added")

    # Step 4: assign a user and a group with a role other than Default Access.
    page.click('.blade-menu >> text="Users and groups"')
    expect(page.locator("[data-testid=default-access-note]")).to_contain_text("are not provisioned")
    page.click("text=+ Add user/group")
    page.fill("#principal-search", "Ada")
    page.locator("label.candidate", has_text="Ada Lovelace").locator("input").check()
    page.fill("#principal-search", "Trad")
    page.locator("label.candidate", has_text="Traders").locator("input").check()
    expect(page.locator("label.candidate", has_text="Ada Lovelace").locator("input")).to_be_checked()
    page.select_option("#id_app_role", label="User")
    shot(page, "2-add-assignment")
    page.click("button:has-text('Assign')")
    expect(page.locator(".messages")).to_contain_text("Assigned Ada Lovelace, Traders with the role User.")
    rows = page.locator("#assignments tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ada Lovelace")).to_contain_text("User")
    expect(rows.filter(has_text="Traders")).to_contain_text("Group")
    page.click("text=Effective users")
    expect(page.locator("#effective")).to_contain_text("Group: Traders")

    # Step 5: Provisioning: mode, admin credentials, Test Connection (wrong token first).
    page.click('.blade-menu >> text="Provisioning"')
    expect(page.locator("h1")).to_have_text("Taskize Connect | Provisioning")
    page.select_option("#id_mode", "Automatic")
    page.fill("#id_tenant_url", scim_server.base_url)
    page.fill("#id_secret_token", "not-the-token")
    page.click("button:has-text('Test Connection')")
    result = page.locator("#test-result")
    expect(result).to_contain_text("Invalid token")
    expect(result).to_contain_text("admin rights in the application")
    shot(page, "3-invalid-token")

    page.fill("#id_secret_token", scim_server.token)
    page.click("button:has-text('Test Connection')")
    expect(result).to_contain_text("Connection successful")
    expect(result).to_contain_text("The application supports: PATCH")
    expect(page.locator("#id_secret_token")).to_have_value(scim_server.token)  # still typed, not saved yet

    page.fill("#id_notification_email", "provisioning-alerts@contoso.test")
    page.check("#id_notify_on_failure")
    page.select_option("#id_scope", label="Sync only assigned users and groups")
    page.click("button:has-text('Save')")
    expect(page.locator("[data-testid=saved-message]")).to_have_text("Saved the provisioning configuration.")
    expect(page.locator("[data-testid=secret-token-status]")).to_contain_text("•••••••• set")
    expect(page.locator("#id_secret_token")).to_have_value("")  # never sent back to the browser
    expect(page.locator("[data-testid=credentials-status]")).to_contain_text("passed Test Connection")
    shot(page, "4-saved")

    job = ProvisioningJob.objects.get(application__display_name="Taskize Connect")
    assert job.tenant_url == scim_server.base_url and job.secret_token == scim_server.token
    assert job.notification_email == "provisioning-alerts@contoso.test" and job.notify_on_failure
    assert job.scope == "assigned" and credentials_tested(job)
    assert scim_server.token not in page.content()

    # ... and provisioning On, as the tutorial ends.
    page.check("input[name=enabled][value=on]")
    page.click("button:has-text('Save')")
    expect(page.locator("[data-testid=saved-message]")).to_contain_text("Provisioning is On")
    expect(page.locator("[data-testid=job-state]")).to_have_text("Active")
    job.refresh_from_db()
    assert job.enabled and engine_calls == ["start"]


def test_on_without_a_test_is_refused_in_the_browser(signed_in_page: Page, live_server, scim_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/applications/gallery/taskize-connect/")
    page.click("button:has-text('Create')")
    page.click('.blade-menu >> text="Provisioning"')
    page.fill("#id_tenant_url", scim_server.base_url)
    page.fill("#id_secret_token", scim_server.token)
    page.check("input[name=enabled][value=on]")
    page.click("button:has-text('Save')")
    expect(page.locator("[data-testid=form-errors]")).to_be_visible()
    expect(page.locator("#field-enabled .errorlist")).to_contain_text("Select Test Connection")
    expect(page.locator("#id_secret_token")).to_have_value("")  # the typed secret is not echoed back
    assert not ProvisioningJob.objects.get().enabled
