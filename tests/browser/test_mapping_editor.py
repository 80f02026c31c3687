"""The mapping editor in Chromium: an expression mapping for displayName on Taskize Connect, tested
against a directory user, saved; then an invalid expression is refused with its position marked."""

import pytest
from playwright.sync_api import Page, expect

from portal.applications import services
from portal.directory.models import DirectoryUser
from provisioning.models import ObjectMapping, ProvisioningJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOIN = 'Join(" ", [givenName], [surname])'


def display_name_mapping(app) -> dict:
    mapping = ObjectMapping.objects.get(job__application=app, key="users")
    return next(m for m in mapping.attribute_mappings if m["target"] == "displayName")


def test_expression_mapping_tested_saved_and_an_invalid_one_refused(signed_in_page: Page, live_server):
    page = signed_in_page
    app = services.instantiate("taskize-connect", "Taskize Connect")
    ProvisioningJob.objects.filter(application=app).update(needs_full_sync=False)
    DirectoryUser.objects.create(
        display_name="A. Lovelace",
        user_principal_name="ada@contoso.test",
        given_name="Ada",
        surname="Lovelace",
    )

    # The Provisioning page links the user mapping to its editor.
    page.goto(f"{live_server.url}/applications/{app.service_principal_id}/provisioning/")
    page.click("text=Provision Microsoft Entra ID Users")
    expect(page.locator("#mapping-title")).to_have_text("Provision Microsoft Entra ID Users")
    page.locator("tr[data-target=displayName]").get_by_role("link", name="Edit").click()
    expect(page.locator("h2", has_text="Edit Attribute")).to_be_visible()

    # Direct → Expression shows the expression box and hides the source attribute; the matching
    # precedence shows only for a matching attribute.
    expect(page.locator("#id_source")).to_be_visible()
    expect(page.locator("#id_expression")).to_be_hidden()
    expect(page.locator("#id_matching_precedence")).to_be_hidden()
    page.check("#id_match")
    expect(page.locator("#id_matching_precedence")).to_be_visible()
    page.uncheck("#id_match")
    page.select_option("#id_mapping_type", "Expression")
    expect(page.locator("#id_source")).to_be_hidden()
    page.fill("#id_expression", JOIN)

    # Test it against a directory user found with the search box (htmx search as you type).
    page.fill("input[name=test_q]", "ada")
    candidate = page.locator("#test-objects input[type=radio]")
    expect(candidate).to_have_count(1)
    expect(page.locator("#test-objects")).to_contain_text("A. Lovelace (ada@contoso.test)")
    candidate.check()
    page.click("button[name=action][value=test]")
    expect(page.get_by_test_id("test-value")).to_have_text("Ada Lovelace")
    expect(page.locator("#id_expression")).to_have_value(JOIN)  # the editor kept what was typed

    # Ok saves and goes back to the mapping, which now shows the expression.
    page.click("button[name=action][value=save]")
    expect(page.locator("#mapping-title")).to_be_visible()
    row = page.locator("tr[data-target=displayName]")
    expect(row).to_contain_text("Expression")
    expect(row).to_contain_text(JOIN)
    assert display_name_mapping(app) == {
        "target": "displayName",
        "type": "Expression",
        "expression": JOIN,
        "apply": "Always",
    }
    assert ProvisioningJob.objects.get(application=app).needs_full_sync

    # An invalid expression: the error and a caret at its position, and nothing saved.
    row.get_by_role("link", name="Edit").click()
    page.fill("#id_expression", 'Join(" ", [givenName], Uper([surname]))')
    page.click("button[name=action][value=save]")
    error = page.locator("#field-expression").get_by_test_id("expression-error")
    expect(error).to_contain_text("Unknown function 'Uper'; did you mean 'ToUpper'? (line 1, column 24)")
    caret = error.get_by_test_id("expression-caret")
    expect(caret).to_have_text('Join(" ", [givenName], Uper([surname]))\n' + " " * 23 + "^")
    page.reload()
    expect(page.locator("#id_expression")).to_have_value(JOIN)
    assert display_name_mapping(app)["expression"] == JOIN
