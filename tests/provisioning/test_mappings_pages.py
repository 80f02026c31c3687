"""The Mappings blade as an admin uses it: object mapping settings, Edit Attribute, delete, restore
defaults, and what every saved change does (initial cycle next, audit entry)."""

import pytest
from django.urls import reverse

from portal.applications import services
from portal.audit import Activity
from portal.models import AuditEntry
from provisioning.models import ObjectMapping, ProvisioningJob
from tests.fixtures.html import INLINE
from tests.fixtures.mappings import edit_post, row, save_row, url, users

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def app():
    application = services.instantiate("taskize-connect", "Taskize Connect")
    ProvisioningJob.objects.filter(application=application).update(needs_full_sync=False)
    return application


def needs_full_sync(app) -> bool:
    return ProvisioningJob.objects.get(application=app).needs_full_sync


def mapping_audits(app):
    return AuditEntry.objects.filter(application_id=app.pk, activity=Activity.UPDATE_MAPPINGS)


# --- pages ------------------------------------------------------------------------------------------


def test_the_provisioning_page_links_each_object_mapping_to_its_editor(signed_in_client, app):
    html = signed_in_client.get(
        reverse("provisioning:configuration", args=[app.service_principal_id])
    ).content
    assert url("mapping", app, "users").encode() in html
    assert url("mapping", app, "groups").encode() in html


def test_object_mapping_page_shows_settings_scope_and_the_attribute_table(signed_in_client, app):
    response = signed_in_client.get(url("mapping", app))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Provision Microsoft Entra ID Users" in html
    for text in ("Target Object Actions", "Source Object Scope", "All records", "Attribute Mappings"):
        assert text in html
    assert 'value="Create"' in html and 'value="Delete"' in html
    assert "Join(&quot; &quot;, [givenName], [surname])" in html  # the name.formatted expression
    assert "Add New Mapping" in html and "Show advanced options" in html
    assert url("mapping_target_attributes", app) in html and url("mapping_restore", app) in html
    assert "mapping-problems" not in html  # the gallery defaults are valid


def test_every_mapping_page_renders(signed_in_client, app):
    for name, args in [
        ("mapping", ()),
        ("mapping_attribute_add", ()),
        ("mapping_attribute_edit", (0,)),
        ("mapping_scoping", ()),
        ("mapping_target_attributes", ()),
        ("mapping_restore", ()),
    ]:
        for key in ("users", "groups"):
            response = signed_in_client.get(url(name, app, key, *args))
            assert response.status_code == 200, (name, key)
            assert not INLINE.search(response.content.decode()), (name, key)  # the CSP blocks inline script


def test_unknown_mapping_or_row_is_a_404(signed_in_client, app):
    assert signed_in_client.get(url("mapping", app, "contacts")).status_code == 404
    assert signed_in_client.get(url("mapping_attribute_edit", app, "users", 99)).status_code == 404


def test_edit_attribute_page_offers_pickers_and_the_function_list(signed_in_client, app):
    index, _ = row(app, "name.formatted")
    html = signed_in_client.get(url("mapping_attribute_edit", app, "users", index)).content.decode()
    assert '<option value="Expression" selected>' in html
    assert '<datalist id="source-attributes">' in html and '<option value="givenName">' in html
    assert '<option value="name.formatted" selected>' in html  # the target attribute picker
    assert "Join(separator, source...)" in html and "Switch(source, defaultValue?, key, value, ...)" in html
    assert "Only during object creation" in html and "Match objects using this attribute" in html
    assert "Test this mapping" in html


# --- object mapping settings -------------------------------------------------------------------------


def test_saving_actions_sets_needs_full_sync_and_audits_old_and_new(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping", app, "groups"), {"enabled": "yes", "target_object": "Group", "actions": ["Update"]}
    )
    assert response.status_code == 302
    mapping = ObjectMapping.objects.get(job__application=app, key="groups")
    assert mapping.actions == ["Update"]
    assert needs_full_sync(app)
    entry = mapping_audits(app).get()
    assert entry.changes == [
        {"field": "groups.actions", "old": ["Create", "Update", "Delete"], "new": ["Update"]}
    ]


def test_disabling_the_group_mapping_works_but_users_cant_be_disabled(signed_in_client, app):
    data = {"enabled": "no", "target_object": "Group", "actions": ["Create", "Update", "Delete"]}
    assert signed_in_client.post(url("mapping", app, "groups"), data).status_code == 302
    assert not ObjectMapping.objects.get(job__application=app, key="groups").enabled
    response = signed_in_client.post(url("mapping", app), {**data, "target_object": "User"})
    assert response.status_code == 200
    assert "Disabling user provisioning isn&#x27;t supported" in response.content.decode()
    assert users(app).enabled


def test_saving_unchanged_settings_writes_nothing(signed_in_client, app):
    data = {"enabled": "yes", "target_object": "User", "actions": ["Create", "Update", "Delete"]}
    response = signed_in_client.post(url("mapping", app), data, follow=True)
    assert "No changes to save." in response.content.decode()
    assert not needs_full_sync(app) and not mapping_audits(app).exists()


def test_bad_settings_are_field_errors(signed_in_client, app):
    response = signed_in_client.post(url("mapping", app), {"enabled": "maybe", "target_object": "  "})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in html and "This field is required" in html


# --- Edit Attribute: saving ------------------------------------------------------------------------


def test_changing_a_mapping_to_an_expression_saves_it_marks_full_sync_and_audits(signed_in_client, app):
    response = save_row(
        signed_in_client,
        app,
        "displayName",
        mapping_type="Expression",
        expression='Join(" ", [givenName], [surname])',
    )
    assert response.status_code == 302 and response["Location"] == url("mapping", app)
    _, saved = row(app, "displayName")
    assert saved == {
        "target": "displayName",
        "type": "Expression",
        "expression": 'Join(" ", [givenName], [surname])',
        "apply": "Always",
    }
    assert needs_full_sync(app)
    entry = mapping_audits(app).get()
    assert entry.target_name == "Taskize Connect"
    assert entry.changes[0]["field"] == "users.attributeMappings[displayName]"
    assert entry.changes[0]["old"]["source"] == "displayName"
    assert entry.changes[0]["new"]["expression"] == 'Join(" ", [givenName], [surname])'


def test_htmx_save_redirects_the_browser_and_errors_swap_only_the_form(signed_in_client, app):
    index, _ = row(app, "displayName")
    target = url("mapping_attribute_edit", app, "users", index)
    ok = signed_in_client.post(target, edit_post(app, "displayName", default_value="Unknown"), **HTMX)
    assert ok.status_code == 200 and ok["HX-Redirect"] == url("mapping", app)
    bad = signed_in_client.post(
        target,
        edit_post(app, "displayName", mapping_type="Expression", expression="Jion([x])"),
        **HTMX,
        HTTP_HX_TARGET="attribute-editor",
    )
    html = bad.content.decode()
    assert bad.status_code == 200 and "<html" not in html and 'id="attribute-editor"' in html


def test_adding_a_mapping_with_a_new_target_attribute(signed_in_client, app):
    mapping = users(app)
    mapping.target_attributes.append({"name": "title", "type": "String"})
    mapping.save()
    response = signed_in_client.post(
        url("mapping_attribute_add", app),
        {"mapping_type": "Direct", "source": "jobtitle", "target": "title", "apply": "ObjectAddOnly"},
    )
    assert response.status_code == 302
    _, saved = row(app, "title")
    assert saved == {"target": "title", "type": "Direct", "source": "jobTitle", "apply": "ObjectAddOnly"}
    assert needs_full_sync(app)
    assert mapping_audits(app).get().changes[0]["old"] is None


def test_a_constant_and_a_none_mapping_with_default_value(signed_in_client, app):
    assert (
        save_row(signed_in_client, app, "externalId", mapping_type="Constant", constant="taskize").status_code
        == 302
    )
    assert row(app, "externalId")[1] == {
        "target": "externalId",
        "type": "Constant",
        "constant": "taskize",
        "apply": "Always",
    }
    response = save_row(signed_in_client, app, "externalId", mapping_type="None", default_value="n/a")
    assert response.status_code == 302
    assert row(app, "externalId")[1] == {
        "target": "externalId",
        "type": "None",
        "defaultValue": "n/a",
        "apply": "Always",
    }


def test_saving_a_row_unchanged_writes_nothing(signed_in_client, app):
    assert save_row(signed_in_client, app, "userName").status_code == 302
    assert not needs_full_sync(app) and not mapping_audits(app).exists()


# --- Edit Attribute: validation errors ---------------------------------------------------------------


def assert_not_saved(app, before):
    assert users(app).attribute_mappings == before
    assert not needs_full_sync(app) and not mapping_audits(app).exists()


def test_unknown_function_says_did_you_mean_with_a_caret(signed_in_client, app):
    before = users(app).attribute_mappings
    response = save_row(
        signed_in_client,
        app,
        "displayName",
        mapping_type="Expression",
        expression='Jion(" ", [givenName], [surname])',
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Unknown function &#x27;Jion&#x27;; did you mean &#x27;Join&#x27;? (line 1, column 1)" in html
    assert 'data-testid="expression-caret"' in html
    assert "Jion(&quot; &quot;, [givenName], [surname])\n^</pre>" in html
    assert_not_saved(app, before)


def test_unclosed_quote_is_reported_at_its_position(signed_in_client, app):
    before = users(app).attribute_mappings
    response = save_row(
        signed_in_client, app, "displayName", mapping_type="Expression", expression='Join(" , [givenName])'
    )
    html = response.content.decode()
    assert "Unclosed string constant" in html and "(line 1, column 6)" in html
    assert "Join(&quot; , [givenName])\n     ^</pre>" in html  # caret under the opening quote
    assert_not_saved(app, before)


def test_wrong_argument_count_and_type_are_refused(signed_in_client, app):
    response = save_row(
        signed_in_client, app, "displayName", mapping_type="Expression", expression="Left([givenName])"
    )
    assert "Left expects 2 arguments, got 1 argument" in response.content.decode()
    response = save_row(
        signed_in_client, app, "displayName", mapping_type="Expression", expression='Mid([givenName], "a", 2)'
    )
    assert "Mid: start must be a whole number" in response.content.decode()


def test_multi_line_expression_errors_point_at_the_right_line(signed_in_client, app):
    expression = 'Join(" ",\r\n  [givenName],\r\n  Foo([surname]))'
    response = save_row(
        signed_in_client, app, "displayName", mapping_type="Expression", expression=expression
    )
    html = response.content.decode()
    assert "Unknown function &#x27;Foo&#x27; (line 3, column 3)" in html
    assert "  Foo([surname]))\n  ^</pre>" in html


def test_unknown_source_attribute_in_an_expression_or_direct_mapping(signed_in_client, app):
    response = save_row(
        signed_in_client, app, "displayName", mapping_type="Expression", expression="ToUpper([givenNam])"
    )
    assert "Unknown User attribute [givenNam]; did you mean [givenName]?" in response.content.decode()
    response = save_row(signed_in_client, app, "displayName", source="displayNme")
    assert "did you mean &#x27;displayName&#x27;?" in response.content.decode()


def test_an_empty_expression_or_constant_is_refused(signed_in_client, app):
    response = save_row(signed_in_client, app, "displayName", mapping_type="Expression", expression="   ")
    assert "Enter an expression" in response.content.decode()
    response = save_row(signed_in_client, app, "displayName", mapping_type="Constant", constant="")
    assert "Enter the constant value" in response.content.decode()


def test_duplicate_matching_precedence_is_refused_on_the_field(signed_in_client, app):
    before = users(app).attribute_mappings
    response = save_row(signed_in_client, app, "externalId", match="on", matching_precedence="1")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="field-matching_precedence"' in html and "Matching precedence 1 is used twice" in html
    assert_not_saved(app, before)


def test_matching_on_an_attribute_the_target_cant_filter_is_refused(signed_in_client, app):
    response = save_row(signed_in_client, app, "externalId", match="on", matching_precedence="2")
    assert "The target can&#x27;t filter on &#x27;externalId&#x27;" in response.content.decode()


def test_match_without_a_precedence_asks_for_one(signed_in_client, app):
    response = save_row(signed_in_client, app, "externalId", match="on", matching_precedence="")
    assert "Enter the matching precedence" in response.content.decode()


def test_removing_the_only_matching_attribute_is_refused(signed_in_client, app):
    before = users(app).attribute_mappings
    response = save_row(signed_in_client, app, "userName", match=None, matching_precedence="")
    assert "At least one attribute must be used to match objects" in response.content.decode()
    assert_not_saved(app, before)


def test_leaving_a_required_attribute_unmapped_is_refused(signed_in_client, app):
    mapping = users(app)
    mapping.target_attributes.append({"name": "title", "type": "String", "filterable": True})
    mapping.save()
    response = save_row(signed_in_client, app, "userName", target="title")
    assert "Required attribute &#x27;userName&#x27; is not mapped" in response.content.decode()
    assert row(app, "userName")[1]["source"] == "userPrincipalName"


def test_mapping_a_target_twice_is_refused_on_the_target_field(signed_in_client, app):
    response = save_row(signed_in_client, app, "externalId", target="displayName")
    html = response.content.decode()
    assert "&#x27;displayName&#x27; is already mapped" in html and 'id="field-target"' in html


def test_constants_must_fit_boolean_and_integer_targets(signed_in_client, app):
    mapping = users(app)
    mapping.target_attributes.append({"name": "loginCount", "type": "Integer"})
    mapping.save()
    response = save_row(signed_in_client, app, "active", mapping_type="Constant", constant="yes")
    assert "&#x27;active&#x27; is a Boolean; use True or False" in response.content.decode()
    assert row(app, "active")[1]["type"] == "Expression"
    response = signed_in_client.post(
        url("mapping_attribute_add", app),
        {"mapping_type": "Constant", "constant": "12x", "target": "loginCount", "apply": "Always"},
    )
    assert (
        "&#x27;loginCount&#x27; is an Integer; &#x27;12x&#x27; is not a whole number"
        in response.content.decode()
    )
    response = save_row(signed_in_client, app, "active", mapping_type="Constant", constant="True")
    assert response.status_code == 302


def test_default_value_must_fit_the_target_type(signed_in_client, app):
    response = save_row(signed_in_client, app, "active", default_value="sometimes")
    assert "is a Boolean" in response.content.decode()


def test_bad_numbers_and_choices_are_field_errors_not_500s(signed_in_client, app):
    response = save_row(
        signed_in_client,
        app,
        "userName",
        matching_precedence="first",
        apply="Sometimes",
        mapping_type="Magic",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a whole number" in html and html.count("Select a valid choice") == 2


def test_editing_a_row_someone_else_changed_is_refused(signed_in_client, app):
    data = edit_post(app, "displayName", default_value="x")
    mapping = users(app)
    mapping.attribute_mappings.insert(0, {"target": "title", "type": "Direct", "source": "jobTitle"})
    mapping.save()
    response = signed_in_client.post(url("mapping_attribute_edit", app, "users", 2), data)
    assert "Someone else changed this mapping" in response.content.decode()


def test_a_version_from_before_another_change_is_refused(signed_in_client, app):
    index, _ = row(app, "displayName")
    page = signed_in_client.get(url("mapping_attribute_edit", app, "users", index))
    version = page.context["form"]["version"].value()
    ObjectMapping.objects.filter(pk=users(app).pk).update(target_attributes=[*users(app).target_attributes])
    mapping = users(app)
    mapping.attribute_mappings[0]["apply"] = "ObjectAddOnly"
    mapping.save()
    response = signed_in_client.post(
        url("mapping_attribute_edit", app, "users", index), edit_post(app, "displayName", version=version)
    )
    assert "Someone else changed this mapping" in response.content.decode()


# --- delete ----------------------------------------------------------------------------------------


def test_deleting_a_mapping(signed_in_client, app):
    index, _ = row(app, "externalId")
    response = signed_in_client.post(
        url("mapping_attribute_delete", app, "users", index), {"original_target": "externalId"}, follow=True
    )
    assert "Deleted the mapping for &#x27;externalId&#x27;" in response.content.decode()
    assert "externalId" not in [m["target"] for m in users(app).attribute_mappings]
    assert needs_full_sync(app)
    assert mapping_audits(app).get().changes[0]["new"] is None


def test_deleting_the_matching_required_mapping_is_refused(signed_in_client, app):
    before = users(app).attribute_mappings
    response = signed_in_client.post(
        url("mapping_attribute_delete", app, "users", 0), {"original_target": "userName"}, follow=True
    )
    html = response.content.decode()
    assert "was not deleted" in html
    assert "At least one attribute must be used to match objects" in html
    assert "Required attribute &#x27;userName&#x27; is not mapped" in html
    assert_not_saved(app, before)


def test_delete_needs_post_and_the_current_row(signed_in_client, app):
    assert signed_in_client.get(url("mapping_attribute_delete", app, "users", 0)).status_code == 405
    response = signed_in_client.post(
        url("mapping_attribute_delete", app, "users", 4), {"original_target": "displayName"}, follow=True
    )
    assert "Someone else changed this mapping" in response.content.decode()
    assert len(users(app).attribute_mappings) == 5


# --- restore defaults --------------------------------------------------------------------------------


def test_restore_default_mappings_asks_first_then_restores(signed_in_client, app):
    mapping = users(app)
    mapping.attribute_mappings = [m for m in mapping.attribute_mappings if m["target"] != "externalId"]
    mapping.scoping_filters = [
        {"title": "x", "clauses": [{"attribute": "department", "operator": "EQUALS", "value": "IT"}]}
    ]
    mapping.save()
    page = signed_in_client.get(url("mapping_restore", app)).content.decode()
    assert "Restore default mappings" in page and 'name="confirm"' in page
    unconfirmed = signed_in_client.post(url("mapping_restore", app), {})
    assert "Tick the box" in unconfirmed.content.decode()
    assert len(users(app).attribute_mappings) == 4
    response = signed_in_client.post(url("mapping_restore", app), {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == url("mapping", app)
    restored = users(app)
    assert len(restored.attribute_mappings) == 5 and restored.scoping_filters == []
    assert needs_full_sync(app)
    assert mapping_audits(app).count() == 1


def test_garbage_posts_are_answered_without_a_500(signed_in_client, app):
    garbage = {
        "mapping_type": "Expression",
        "expression": "(" * 50 + '"',
        "target": "x" * 5000,
        "matching_precedence": "99999999999999999999",
        "match": "on",
        "apply": "",
        "enabled": "",
        "actions": "Explode",
        "filter_count": "-3",
        "f0-clause_count": "1",
        "attr_count": "2",
        "a0-name": "",
        "a0-type": "Float",
        "a1-name": "\x00",
        "original_target": "nope",
        "test_object": "not-a-uuid",
        "action": "save",
    }
    for name, args in [
        ("mapping", ()),
        ("mapping_attribute_add", ()),
        ("mapping_attribute_edit", (1,)),
        ("mapping_attribute_delete", (1,)),
        ("mapping_scoping", ()),
        ("mapping_target_attributes", ()),
        ("mapping_restore", ()),
    ]:
        for data in ({}, garbage, {**garbage, "action": "test"}):
            response = signed_in_client.post(url(name, app, "users", *args), data)
            assert response.status_code in (200, 302), (name, data.get("action"))
    assert not mapping_audits(app).exists()
    assert len(users(app).target_attributes) == 5  # a post without the rows deletes none of them
