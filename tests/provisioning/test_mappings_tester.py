"""The expression tester of Edit Attribute: pick a directory user or group, evaluate, show value or error."""

import pytest

from portal.applications import services
from portal.directory.models import DirectoryGroup, DirectoryUser
from portal.models import AuditEntry
from provisioning.models import ObjectMapping
from tests.fixtures.mappings import try_expression, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    return services.instantiate("taskize-connect", "Taskize Connect")


@pytest.fixture
def ada():
    boss = DirectoryUser.objects.create(display_name="Grace Hopper", user_principal_name="grace@contoso.test")
    return DirectoryUser.objects.create(
        display_name="Ada Lovelace",
        user_principal_name="ada@contoso.test",
        given_name="Ada",
        surname="Lovelace",
        mail="ada@contoso.test",
        manager=boss,
    )


def test_the_tester_shows_the_value_and_the_inputs_it_read(signed_in_client, app, ada):
    html = try_expression(signed_in_client, app, 'Join(" ", [givenName], [surname])', ada)
    assert '<code data-testid="test-value">Ada Lovelace</code>' in html
    assert "Tested with <strong>Ada Lovelace (ada@contoso.test)</strong>" in html
    assert "<dt><code>[givenName]</code></dt><dd>Ada</dd>" in html
    # What was typed is shown again, nothing was saved.
    assert "Join(&quot; &quot;, [givenName], [surname])</textarea>" in html
    assert len(ObjectMapping.objects.get(job__application=app, key="users").attribute_mappings) == 5
    assert not AuditEntry.objects.filter(activity__contains="mapping").exists()


def test_the_tester_sees_what_the_engine_sees(signed_in_client, app, ada):
    """``manager`` is the manager's object id and IsSoftDeleted is computed, as in directory_source."""
    html = try_expression(signed_in_client, app, "[manager]", ada)
    assert f'<code data-testid="test-value">{ada.manager.object_id}</code>' in html
    html = try_expression(
        signed_in_client, app, 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', ada
    )
    assert '<code data-testid="test-value">True</code>' in html


def test_the_tester_shows_an_expression_error_with_its_position(signed_in_client, app, ada):
    html = try_expression(signed_in_client, app, 'Jion(" ", [givenName])', ada)
    assert 'data-testid="test-error"' in html
    assert "Unknown function &#x27;Jion&#x27;; did you mean &#x27;Join&#x27;?" in html
    assert "Jion(&quot; &quot;, [givenName])\n^</pre>" in html


def test_the_tester_shows_an_evaluation_error(signed_in_client, app, ada):
    html = try_expression(signed_in_client, app, 'CDate("not a date")', ada)
    assert 'data-testid="test-error"' in html and "not a date" in html


def test_null_output_explains_the_default_value(signed_in_client, app, ada):
    html = try_expression(signed_in_client, app, "[jobTitle]", ada, default_value="Staff")
    assert (
        "Output: null — the attribute is not sent." in html and "<code>Staff</code> is sent instead" in html
    )
    html = try_expression(signed_in_client, app, "IgnoreFlowIfNullOrEmpty([jobTitle])", ada)
    assert "IgnoreFlowIfNullOrEmpty leaves the attribute out" in html


def test_direct_and_constant_mappings_can_be_tested_too(signed_in_client, app, ada):
    html = try_expression(signed_in_client, app, "", ada, mapping_type="Direct", source="mail")
    assert '<code data-testid="test-value">ada@contoso.test</code>' in html
    html = try_expression(signed_in_client, app, "", ada, mapping_type="Constant", constant="Taskize")
    assert '<code data-testid="test-value">Taskize</code>' in html


def test_without_a_user_the_tester_asks_for_one(signed_in_client, app):
    html = try_expression(signed_in_client, app, "[mail]")
    assert "Search for a user and pick one to test with." in html
    html = try_expression(signed_in_client, app, "[mail]", test_object="not-a-uuid")
    assert "Search for a user and pick one to test with." in html


def test_group_mappings_test_against_groups(signed_in_client, app, ada):
    traders = DirectoryGroup.objects.create(display_name="Traders", mail_nickname="traders")
    html = try_expression(signed_in_client, app, "ToUpper([displayName])", traders, key="groups")
    assert '<code data-testid="test-value">TRADERS</code>' in html
    html = try_expression(signed_in_client, app, "[displayName]", ada, key="groups")  # a user is not a group
    assert "Search for a group" in html


def test_search_as_you_type_lists_matching_users(signed_in_client, app, ada):
    DirectoryUser.objects.create(display_name="Adam Smith", user_principal_name="adam@contoso.test")
    DirectoryGroup.objects.create(display_name="Admins")
    response = signed_in_client.get(
        url("mapping_test_objects", app), {"test_q": "ad"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html and "Ada Lovelace (ada@contoso.test)" in html and "Adam Smith" in html
    assert "Admins" not in html  # a user mapping tests with users
    html = signed_in_client.get(url("mapping_test_objects", app), {"test_q": "lovelace"}).content.decode()
    assert f'value="{ada.object_id}" checked' in html  # a single match is picked
    html = signed_in_client.get(url("mapping_test_objects", app), {"test_q": "zzz"}).content.decode()
    assert "No user matches" in html


def test_search_without_javascript_redraws_the_editor_with_results(signed_in_client, app, ada):
    response = signed_in_client.post(
        url("mapping_attribute_add", app),
        {"mapping_type": "Expression", "expression": "[mail]", "test_q": "Ada", "action": "search"},
    )
    html = response.content.decode()
    assert f'value="{ada.object_id}" checked' in html and "[mail]</textarea>" in html
    assert "This field is required" not in html  # a search doesn't judge the form
