"""Scoping filter editor and the target attribute list ("Edit attribute list for {App}")."""

import pytest
from django.urls import reverse

from portal.applications import services
from portal.audit import Activity
from portal.models import AuditEntry
from provisioning.connectors.scim.paths import parse_path
from provisioning.forms.mappings import parse_target_name
from provisioning.models import ObjectMapping, ProvisioningJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    application = services.instantiate("taskize-connect", "Taskize Connect")
    ProvisioningJob.objects.filter(application=application).update(needs_full_sync=False)
    return application


def url(name: str, app, key: str = "users") -> str:
    return reverse(f"provisioning:{name}", args=[app.service_principal_id, key])


def users(app) -> ObjectMapping:
    return ObjectMapping.objects.get(job__application=app, key="users")


def needs_full_sync(app) -> bool:
    return ProvisioningJob.objects.get(application=app).needs_full_sync


def audits(app):
    return AuditEntry.objects.filter(application_id=app.pk, activity=Activity.UPDATE_MAPPINGS)


def scoping_post(*filters, action: str = "save") -> dict:
    """``filters``: (title, [(attribute, operator, value), ...]) as the editor posts them."""
    data = {"filter_count": str(len(filters)), "action": action}
    for i, (title, clauses) in enumerate(filters):
        data[f"f{i}-title"] = title
        data[f"f{i}-clause_count"] = str(len(clauses))
        for j, (attribute, operator, value) in enumerate(clauses):
            data[f"f{i}-c{j}-attribute"] = attribute
            data[f"f{i}-c{j}-operator"] = operator
            data[f"f{i}-c{j}-value"] = value
    return data


# --- scoping filters -------------------------------------------------------------------------------


def test_saving_scoping_filters_stores_them_marks_full_sync_and_audits(signed_in_client, app):
    data = scoping_post(
        ("Finance", [("department", "EQUALS", "Finance"), ("accountEnabled", "IS TRUE", "ignored")]),
        ("", [("jobtitle", "REGEX MATCH", r"^Trader\d*$")]),
    )
    response = signed_in_client.post(url("mapping_scoping", app), data)
    assert response.status_code == 302 and response["Location"] == url("mapping", app)
    assert users(app).scoping_filters == [
        {
            "title": "Finance",
            "clauses": [
                {"attribute": "department", "operator": "EQUALS", "value": "Finance"},
                {"attribute": "accountEnabled", "operator": "IS TRUE", "value": None},
            ],
        },
        {
            "title": "Scoping filter 2",
            "clauses": [{"attribute": "jobTitle", "operator": "REGEX MATCH", "value": r"^Trader\d*$"}],
        },
    ]
    assert needs_full_sync(app)
    change = audits(app).get().changes[0]
    assert change["field"] == "users.scopingFilters" and change["old"] == [] and len(change["new"]) == 2
    page = signed_in_client.get(url("mapping", app)).content.decode()
    assert "2 scoping filters" in page and "department EQUALS Finance" in page


def test_a_bad_regex_is_a_field_error_and_nothing_is_saved(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping_scoping", app), scoping_post(("Traders", [("jobTitle", "REGEX MATCH", "^(Trader")]))
    )
    html = response.content.decode()
    assert response.status_code == 200
    value_cell = html[html.index('name="f0-c0-value"') :]
    message = "Invalid regular expression &#x27;^(Trader&#x27;: missing ), unterminated subpattern"
    assert f'<p class="field-error">{message}' in value_cell[:600]  # under the value box
    assert users(app).scoping_filters == [] and not needs_full_sync(app) and not audits(app).exists()


def test_bad_values_operators_and_attributes_are_caught_at_save(signed_in_client, app):
    data = scoping_post(
        (
            "Bad",
            [
                ("employeeId", "Greater_Than", "ten"),
                ("department", "EQUALS", ""),
                ("manager", "IS NOT NULL", ""),
                ("departmnt", "EQUALS", "x"),
                ("city", "LIKE", "x"),
                ("businessPhones", "IS NOT NULL", ""),
            ],
        )
    )
    html = signed_in_client.post(url("mapping_scoping", app), data).content.decode()
    assert "Greater_Than compares integers; &#x27;ten&#x27; is not an integer" in html
    assert "EQUALS needs an attribute value" in html
    assert "&#x27;manager&#x27; can&#x27;t be used in a scoping filter" in html
    assert (
        "&#x27;departmnt&#x27; is not a User attribute of the directory; did you mean &#x27;department&#x27;?"
        in html
    )
    assert "Unknown operator &#x27;LIKE&#x27;" in html
    assert "multi-valued attributes can&#x27;t be used" in html
    assert users(app).scoping_filters == []


def test_add_and_remove_buttons_redraw_without_saving(signed_in_client, app):
    one = scoping_post(("A", [("department", "EQUALS", "IT")]), action="add_clause:0")
    html = signed_in_client.post(url("mapping_scoping", app), one).content.decode()
    assert 'name="f0-c1-attribute"' in html and 'value="IT"' in html
    two = scoping_post(("A", [("department", "EQUALS", "IT")]), action="add_filter")
    html = signed_in_client.post(url("mapping_scoping", app), two).content.decode()
    assert 'name="f1-title"' in html
    gone = scoping_post(
        ("A", [("department", "EQUALS", "IT")]), ("B", [("city", "EQUALS", "Oslo")]), action="remove_filter:0"
    )
    html = signed_in_client.post(url("mapping_scoping", app), gone).content.decode()
    assert 'value="Oslo"' in html and 'value="IT"' not in html
    assert users(app).scoping_filters == [] and not audits(app).exists()


def test_htmx_redraw_returns_only_the_editor(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping_scoping", app),
        scoping_post(action="add_filter"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="scoping-editor",
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="scoping-editor"' in html and 'name="f0-title"' in html


def test_removing_every_filter_puts_all_records_in_scope(signed_in_client, app):
    mapping = users(app)
    mapping.scoping_filters = [
        {"title": "x", "clauses": [{"attribute": "city", "operator": "EQUALS", "value": "Oslo"}]}
    ]
    mapping.save()
    page = signed_in_client.get(url("mapping_scoping", app))
    version = page.context["editor"].version
    response = signed_in_client.post(url("mapping_scoping", app), {**scoping_post(), "version": version})
    assert response.status_code == 302 and users(app).scoping_filters == []
    assert needs_full_sync(app)


def test_scoping_saved_over_a_newer_version_is_refused(signed_in_client, app):
    version = signed_in_client.get(url("mapping_scoping", app)).context["editor"].version
    mapping = users(app)
    mapping.scoping_filters = [
        {"title": "x", "clauses": [{"attribute": "city", "operator": "EQUALS", "value": "Oslo"}]}
    ]
    mapping.save()
    data = {**scoping_post(("A", [("department", "EQUALS", "IT")])), "version": version}
    assert "Someone else changed" in signed_in_client.post(url("mapping_scoping", app), data).content.decode()


def test_garbage_counts_dont_break_the_editor(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping_scoping", app), {"filter_count": "lots", "action": "remove_clause:x:y"}
    )
    assert response.status_code == 200


# --- target attribute list ---------------------------------------------------------------------------


def schema_post(app, *new_rows, delete=(), changes=None, action="save") -> dict:
    """The attribute list as the editor posts it: the stored rows, then ``new_rows`` (name, type, flags)."""
    stored = users(app).target_attributes
    data = {"action": action}
    i = 0
    for attribute in stored:
        data[f"a{i}-name"] = attribute["name"]
        data[f"a{i}-existing"] = "1"
        data[f"a{i}-type"] = attribute["type"]
        for flag, key in (
            ("multi_valued", "multiValued"),
            ("required", "required"),
            ("filterable", "filterable"),
        ):
            if (changes or {}).get(attribute["name"], {}).get(flag, attribute.get(key, key == "filterable")):
                data[f"a{i}-{flag}"] = "on"
        if attribute["name"] in delete:
            data[f"a{i}-delete"] = "on"
        i += 1
    for name, kind, *flags in new_rows:
        data[f"a{i}-name"] = name
        data[f"a{i}-type"] = kind
        for flag in flags:
            data[f"a{i}-{flag}"] = "on"
        i += 1
    data["attr_count"] = str(i)
    return data


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
CUSTOM = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:costCentre"


def test_adding_extension_attributes_to_the_list(signed_in_client, app):
    data = schema_post(app, (ENTERPRISE, "String"), (CUSTOM, "String", "filterable"), ("", "String"))
    response = signed_in_client.post(url("mapping_target_attributes", app), data)
    assert response.status_code == 302
    names = [a["name"] for a in users(app).target_attributes]
    assert names[-2:] == [ENTERPRISE, CUSTOM]
    assert users(app).target_attributes[-1] == {
        "name": CUSTOM,
        "type": "String",
        "multiValued": False,
        "required": False,
        "filterable": True,
    }
    assert needs_full_sync(app)
    fields = [c["field"] for c in audits(app).get().changes]
    assert fields == [f"users.targetAttributes[{ENTERPRISE}]", f"users.targetAttributes[{CUSTOM}]"]
    # The new attributes are in the Edit Attribute target picker.
    html = signed_in_client.get(
        reverse("provisioning:mapping_attribute_add", args=[app.service_principal_id, "users"])
    )
    assert f'<option value="{ENTERPRISE}">' in html.content.decode()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "is not a valid extension attribute"),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:User:employeeNumber",
            "is not a valid extension attribute",
        ),
        (
            "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:cost centre",
            "is not a valid extension attribute",
        ),
        ("urn:acme:costCentre", "is not a valid extension attribute"),
        ("urn:scim:schemas:extension:enterprise:1.0.department", "is a SCIM 1.1 name"),
        ("cost centre", "is not a valid attribute name"),
        ('emails[type eq "work".value', "is not a valid attribute name"),
        ("id", "primary key"),
    ],
)
def test_a_bad_attribute_name_is_a_row_error(signed_in_client, app, name, message):
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, (name, "String"))
    )
    html = response.content.decode()
    assert response.status_code == 200 and message in html
    assert len(users(app).target_attributes) == 5 and not audits(app).exists()


def test_custom_extension_attributes_cant_be_multi_valued_reference_or_complex(signed_in_client, app):
    for row in ((CUSTOM, "String", "multi_valued"), (CUSTOM, "Reference"), (CUSTOM + ".value", "String")):
        html = signed_in_client.post(
            url("mapping_target_attributes", app), schema_post(app, row)
        ).content.decode()
        assert "Custom extension attributes can&#x27;t be reference, multi-valued or complex" in html
    enterprise_manager = ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "Reference")
    assert (
        signed_in_client.post(
            url("mapping_target_attributes", app), schema_post(app, enterprise_manager)
        ).status_code
        == 302
    )


def test_duplicate_names_are_refused(signed_in_client, app):
    html = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, ("DisplayName", "String"))
    ).content.decode()
    assert "&#x27;DisplayName&#x27; is already in the attribute list" in html


def test_a_mapped_attribute_cant_be_deleted_but_an_unmapped_one_can(signed_in_client, app):
    html = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, delete=["externalId"])
    ).content.decode()
    assert "&#x27;externalId&#x27; is mapped; delete its attribute mapping first" in html
    mapping = users(app)
    mapping.target_attributes.append({"name": "title", "type": "String"})
    mapping.save()
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, delete=["title"])
    )
    assert response.status_code == 302
    assert "title" not in [a["name"] for a in users(app).target_attributes]
    assert audits(app).get().changes[0]["new"] is None


def test_marking_an_unmapped_attribute_required_is_refused(signed_in_client, app):
    mapping = users(app)
    mapping.target_attributes.append({"name": "title", "type": "String"})
    mapping.save()
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, changes={"title": {"required": True}})
    )
    assert "Required attribute &#x27;title&#x27; is not mapped" in response.content.decode()
    assert not users(app).target_attributes[-1].get("required")


def test_making_the_matching_attribute_unfilterable_is_refused(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, changes={"userName": {"filterable": False}})
    )
    assert "The target can&#x27;t filter on &#x27;userName&#x27;" in response.content.decode()


def test_add_row_redraws_with_another_empty_row(signed_in_client, app):
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, ("title", "String"), action="add_row")
    )
    html = response.content.decode()
    assert 'value="title"' in html and 'name="a6-name"' in html
    assert len(users(app).target_attributes) == 5


def test_attributes_the_editor_doesnt_show_are_kept(signed_in_client, app):
    mapping = users(app)
    mapping.target_attributes[0]["caseExact"] = True
    mapping.save()
    response = signed_in_client.post(
        url("mapping_target_attributes", app), schema_post(app, ("title", "String"))
    )
    assert response.status_code == 302
    assert users(app).target_attributes[0]["caseExact"] is True


@pytest.mark.parametrize(
    "name",
    [
        "userName",
        "name.givenName",
        'emails[type eq "work"].value',
        'roles[primary eq "True"].value',
        ENTERPRISE,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        CUSTOM,
    ],
)
def test_valid_target_attribute_names(name):
    parse_target_name(name)
    parse_path(name)  # the editor and the connector read names with one grammar


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("urn:scim:schemas:extension:enterprise:1.0.department", "SCIM 1.1 name"),
        ("urn:contoso:custom:costCenter", "is not a valid extension attribute"),
        ("roles[primary eq true].value", "is not a valid attribute name"),
    ],
)
def test_names_the_connector_cant_send_are_refused_by_the_editor(name, message):
    """Before: the editor accepted these names and the connector refused them at every cycle."""
    for parse in (parse_target_name, parse_path):
        with pytest.raises(ValueError, match=message):
            parse(name)


def test_every_gallery_target_attribute_name_parses_with_the_connector_grammar():
    """Every name of every template parses with the connector's parser, or the template can't be
    turned On and says why (Slack's SCIM 1.1 names)."""
    from portal.applications.gallery import load_templates

    unsupported = set()
    for template in load_templates():
        for mapping in template.object_mappings:
            names = [a["name"] for a in mapping.target_attributes]
            names += [m["target"] for m in mapping.attribute_mappings]
            for name in names:
                try:
                    parse_path(name)
                except ValueError:
                    assert template.not_supported, f"{template.id}: {name} can't be sent"
                    unsupported.add(template.id)
    assert unsupported == {"slack"}
