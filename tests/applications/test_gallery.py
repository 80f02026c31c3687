"""The application gallery: the shipped templates and the loader's validation rules (no database)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from portal.applications.gallery import (
    STATIC_DIR,
    TEMPLATES_DIR,
    AppTemplate,
    TemplateError,
    get_template,
    load_templates,
    search_templates,
)

ACTIVE = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
REAL_APPS = {
    "slack",
    "zoom",
    "atlassian-cloud",
    "github-enterprise-managed-user",
    "notion",
    "asana",
    "airtable",
}


def by_target(mapping) -> dict[str, dict]:
    return {m["target"]: m for m in mapping.attribute_mappings}


# --- the shipped gallery -------------------------------------------------------------------------


def test_all_templates_load():
    templates = load_templates()
    ids = {t.id for t in templates}
    assert len(templates) >= 8
    assert {"scim-generic", "taskize-connect"} <= ids
    assert ids >= REAL_APPS
    assert len(ids) == len(templates)
    assert all(isinstance(t, AppTemplate) for t in templates)
    # One file per template, named after its id.
    assert sorted(p.stem for p in TEMPLATES_DIR.glob("*.json")) == sorted(ids)


def test_templates_are_sorted_by_display_name_and_cached():
    templates = load_templates()
    names = [t.display_name.casefold() for t in templates]
    assert names == sorted(names)
    assert load_templates()[0] is templates[0]  # the default gallery is read once
    templates.clear()  # callers get a copy of the list
    assert load_templates()


@pytest.mark.parametrize("template", load_templates(), ids=lambda t: t.id)
def test_template_invariants(template):
    assert template.source.startswith("https://learn.microsoft.com/")
    assert template.supports_provisioning
    assert "tenantUrl" in template.credentials
    assert all(r.display_name != "Default Access" for r in template.app_roles)
    users = template.object_mapping("users")
    assert users.source_object == "User"
    mappings = by_target(users)
    assert mappings["active"]["expression"] == ACTIVE
    assert len(users.matching_attributes) == 1
    assert users.matching_attributes[0]["matchingPrecedence"] == 1
    for mapping in template.object_mappings:
        names = {a["name"] for a in mapping.target_attributes}
        assert {m["target"] for m in mapping.attribute_mappings} <= names
    if any(m.id == "groups" for m in template.object_mappings):
        groups = template.object_mapping("groups")
        members = by_target(groups)["members"]
        assert members["type"] == "Direct" and members["source"] == "members"
        assert groups.target_attribute("members")["type"] == "Reference"


@pytest.mark.parametrize("template", load_templates(), ids=lambda t: t.id)
def test_every_logo_exists_and_is_svg(template):
    path = STATIC_DIR / template.logo
    assert path.is_file()
    assert path.suffix == ".svg"
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_taskize_connect_matches_seed_002_exactly():
    taskize = get_template("taskize-connect")
    users = taskize.object_mapping("users")
    groups = taskize.object_mapping("groups")

    def table(mapping):
        return [(a["name"], a["type"], a["filterable"]) for a in mapping.target_attributes]

    assert table(users) == [
        ("userName", "String", True),
        ("active", "Boolean", False),
        ("displayName", "String", False),
        ("name.formatted", "String", False),
        ("externalId", "String", False),
    ]
    assert table(groups) == [
        ("displayName", "String", True),
        ("externalId", "String", False),
        ("members", "Reference", False),
    ]
    user_mappings = by_target(users)
    assert set(user_mappings) == {"userName", "active", "displayName", "name.formatted", "externalId"}
    assert user_mappings["userName"] == {
        "target": "userName",
        "type": "Direct",
        "source": "userPrincipalName",
        "matchingPrecedence": 1,
        "apply": "Always",
    }
    assert user_mappings["active"]["type"] == "Expression"
    assert user_mappings["displayName"]["source"] == "displayName"
    assert user_mappings["name.formatted"]["expression"] == 'Join(" ", [givenName], [surname])'
    assert user_mappings["externalId"]["source"] == "mailNickname"
    group_mappings = by_target(groups)
    assert set(group_mappings) == {"displayName", "externalId", "members"}
    assert group_mappings["displayName"]["matchingPrecedence"] == 1
    assert group_mappings["externalId"]["source"] == "objectId"
    assert users.actions == ("Create", "Update", "Delete")
    # Seed 002: "cliquez sur Autoriser" — the Authorize button; the current tutorial's secret token too.
    assert taskize.credentials == ("tenantUrl", "secretToken", "oauthAuthorizationCode")
    assert taskize.supports_authorize


def test_generic_scim_defaults_match_the_reference():
    generic = get_template("scim-generic")
    users = by_target(generic.object_mapping("users"))
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
    expected_direct = {
        "userName": "userPrincipalName",
        "displayName": "displayName",
        "title": "jobTitle",
        'emails[type eq "work"].value': "mail",
        "name.givenName": "givenName",
        "name.familyName": "surname",
        'phoneNumbers[type eq "mobile"].value': "mobilePhone",
        'phoneNumbers[type eq "fax"].value': "faxNumber",
        'addresses[type eq "work"].streetAddress': "streetAddress",
        'addresses[type eq "work"].postalCode': "postalCode",
        'addresses[type eq "other"].formatted': "officeLocation",
        "externalId": "mailNickname",
        ent + "employeeNumber": "employeeId",
        ent + "department": "department",
        ent + "manager": "manager",
    }
    for target, source in expected_direct.items():
        assert users[target]["type"] == "Direct", target
        assert users[target]["source"] == source, target
    assert users["userName"]["matchingPrecedence"] == 1
    assert users['phoneNumbers[type eq "work"].value']["expression"] == "Item([businessPhones], 1)"
    groups = by_target(generic.object_mapping("groups"))
    assert groups["displayName"]["source"] == "displayName"
    assert groups["displayName"]["matchingPrecedence"] == 1
    assert groups["externalId"]["source"] == "objectId"
    assert groups["members"]["source"] == "members"


def test_get_template_unknown_id_raises_key_error():
    with pytest.raises(KeyError):
        get_template("no-such-app")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("slack", {"slack"}),
        ("SLACK", {"slack"}),
        ("  zoo ", {"zoom"}),
        ("github", {"github-enterprise-managed-user"}),  # publisher and name
        ("taskize", {"taskize-connect"}),
        ("developer tools", {"atlassian-cloud", "github-enterprise-managed-user"}),  # category
        ("no match at all", set()),
    ],
)
def test_search_templates(query, expected):
    assert {t.id for t in search_templates(query)} == expected


def test_search_on_publisher_and_blank_query():
    assert [t.id for t in search_templates("notion labs")] == ["notion"]
    assert len(search_templates("")) == len(load_templates())
    results = search_templates("collaboration")
    assert len(results) > 2
    assert [t.display_name for t in results] == sorted((t.display_name for t in results), key=str.casefold)


# --- validation rules, on broken copies in tmp_path ----------------------------------------------


def _valid() -> dict:
    return {
        "id": "demo-app",
        "displayName": "Demo App",
        "publisher": "Demo",
        "description": "A test app.",
        "homepage": "https://demo.example.com/",
        "logo": "gallery/demo-app.svg",
        "categories": ["Testing"],
        "supportedProvisioningTypes": ["sync"],
        "credentials": ["tenantUrl", "secretToken"],
        "defaultTenantUrl": None,
        "appRoles": [{"value": "User", "displayName": "User", "description": "A user."}],
        "legacyEntraCompatibility": False,
        "source": "https://learn.microsoft.com/en-us/entra/identity/saas-apps/demo",
        "objectMappings": [
            {
                "id": "users",
                "name": "Provision Microsoft Entra ID Users",
                "enabled": True,
                "sourceObject": "User",
                "targetObject": "User",
                "actions": ["Create", "Update", "Delete"],
                "scopingFilters": [],
                "attributeMappings": [
                    {
                        "target": "userName",
                        "type": "Direct",
                        "source": "userPrincipalName",
                        "matchingPrecedence": 1,
                    },
                    {"target": "active", "type": "Expression", "expression": ACTIVE},
                    {"target": "externalId", "type": "Direct", "source": "objectId", "matchingPrecedence": 2},
                    {"target": "title", "type": "Constant", "constant": "Staff", "apply": "ObjectAddOnly"},
                ],
                "targetAttributes": [
                    {"name": "userName", "type": "String", "required": True, "filterable": True},
                    {"name": "active", "type": "Boolean"},
                    {"name": "externalId", "type": "String", "filterable": True},
                    {"name": "title", "type": "String"},
                ],
            }
        ],
    }


@pytest.fixture
def gallery(tmp_path):
    """Write templates into a temporary gallery and load it from there."""
    folder = tmp_path / "templates"
    static = tmp_path / "static"
    folder.mkdir()
    (static / "gallery").mkdir(parents=True)
    (static / "gallery" / "demo-app.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")

    def load(data: dict, name: str = "demo-app.json"):
        (folder / name).write_text(json.dumps(data))
        return load_templates(folder, static_dir=static)

    load.folder = folder
    load.static = static
    return load


def test_valid_template_loads_from_folder(gallery):
    [template] = gallery(_valid())
    users = template.object_mapping("users")
    assert [m["target"] for m in users.matching_attributes] == ["userName", "externalId"]
    assert by_target(users)["userName"]["apply"] == "Always"  # default filled in
    assert users.target_attribute("active")["multiValued"] is False
    assert get_template("demo-app", gallery.folder, static_dir=gallery.static) == template
    assert [t.id for t in search_templates("testing", gallery.folder, static_dir=gallery.static)] == [
        "demo-app"
    ]


def _users(data):
    return data["objectMappings"][0]


def _mapping(index: int, **values):
    """Set ``values`` on the users' attribute mapping ``index``."""
    return lambda data: _users(data)["attributeMappings"][index].update(values)


def _target(index: int, **values):
    """Set ``values`` on the users' target attribute ``index``."""
    return lambda data: _users(data)["targetAttributes"][index].update(values)


BROKEN = {
    "missing required key": (lambda d: d.pop("publisher"), "publisher"),
    "unknown top-level key": (lambda d: d.update(colour="red"), "colour"),
    "id differs from file name": (lambda d: d.update(id="other-app"), "id"),
    "bad credential kind": (lambda d: d.update(credentials=["tenantUrl", "password"]), "credentials[1]"),
    "no credentials": (lambda d: d.update(credentials=[]), "credentials"),
    "bad provisioning type": (
        lambda d: d.update(supportedProvisioningTypes=["manual"]),
        "supportedProvisioningTypes[0]",
    ),
    "legacy flag not a bool": (lambda d: d.update(legacyEntraCompatibility="no"), "legacyEntraCompatibility"),
    "source not https": (lambda d: d.update(source="http://example.com"), "source"),
    "default access role": (
        lambda d: d["appRoles"].append({"value": "x", "displayName": "Default Access", "description": "x"}),
        "appRoles[1]",
    ),
    "logo missing": (lambda d: d.update(logo="gallery/nope.svg"), "logo"),
    "logo escapes static": (lambda d: d.update(logo="../demo-app.svg"), "logo"),
    "unknown source object": (
        lambda d: _users(d).update(sourceObject="Device"),
        "objectMappings[0].sourceObject",
    ),
    "unknown action": (
        lambda d: _users(d).update(actions=["Create", "Disable"]),
        "objectMappings[0].actions[1]",
    ),
    "unknown mapping type": (_mapping(3, type="Formula"), "objectMappings[0].attributeMappings[3].type"),
    "unknown apply value": (_mapping(3, apply="Sometimes"), "objectMappings[0].attributeMappings[3].apply"),
    "unknown target type": (_target(3, type="Float"), "objectMappings[0].targetAttributes[3].type"),
    "no matching precedence 1": (_mapping(0, matchingPrecedence=3), "objectMappings[0].attributeMappings"),
    "two matching precedence 1": (_mapping(2, matchingPrecedence=1), "objectMappings[0].attributeMappings"),
    "duplicate precedence": (
        lambda d: (_target(3, filterable=True)(d), _mapping(3, matchingPrecedence=2)(d)),
        "objectMappings[0].attributeMappings",
    ),
    "precedence not an int": (
        _mapping(2, matchingPrecedence="2"),
        "objectMappings[0].attributeMappings[2].matchingPrecedence",
    ),
    "matching attribute not filterable": (
        _target(2, filterable=False),
        "objectMappings[0].attributeMappings[2].matchingPrecedence",
    ),
    "target not in targetAttributes": (
        _mapping(3, target="nickName"),
        "objectMappings[0].attributeMappings[3].target",
    ),
    "required target not mapped": (
        lambda d: (_target(3, required=True)(d), _users(d)["attributeMappings"].pop(3)),
        "objectMappings[0].targetAttributes[3]",
    ),
    "target mapped twice": (
        lambda d: _users(d)["attributeMappings"].append(
            {"target": "title", "type": "Direct", "source": "jobTitle"}
        ),
        "objectMappings[0].attributeMappings[4].target",
    ),
    "unknown direct source": (
        _mapping(2, source="objectGuid"),
        "objectMappings[0].attributeMappings[2].source",
    ),
    "unknown source in expression": (
        _mapping(1, expression="Not([isDeleted])"),
        "objectMappings[0].attributeMappings[1].expression",
    ),
    "constant mapping without constant": (
        lambda d: _users(d)["attributeMappings"][3].pop("constant"),
        "objectMappings[0].attributeMappings[3].constant",
    ),
    "duplicate target attribute": (
        lambda d: _users(d)["targetAttributes"].append({"name": "title", "type": "String"}),
        "objectMappings[0].targetAttributes[4].name",
    ),
}


BROKEN.update(
    {
        "authorize defaults without the authorize credential": (
            lambda d: d.update(oauthAuthorization={"scope": "offline_access"}),
            "oauthAuthorization",
        ),
        "authorize endpoint not https": (
            lambda d: d.update(
                credentials=["tenantUrl", "oauthAuthorizationCode"],
                oauthAuthorization={"authorizationUrl": "http://app.example/authorize"},
            ),
            "oauthAuthorization.authorizationUrl",
        ),
        "unknown authorize key": (
            lambda d: d.update(
                credentials=["tenantUrl", "oauthAuthorizationCode"], oauthAuthorization={"audience": "x"}
            ),
            "oauthAuthorization.audience",
        ),
    }
)


def test_authorize_declaration_and_its_defaults_load(gallery):
    data = _valid()
    data["credentials"] = ["tenantUrl", "oauthAuthorizationCode"]
    data["oauthAuthorization"] = {
        "authorizationUrl": "https://app.example/oauth/authorize",
        "tokenUrl": "https://app.example/oauth/token",
        "scope": "offline_access",
    }
    [template] = gallery(data)
    assert template.supports_authorize
    assert template.oauth_authorization.authorization_url == "https://app.example/oauth/authorize"
    assert template.oauth_authorization.token_url == "https://app.example/oauth/token"
    assert template.oauth_authorization.scope == "offline_access"


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_template_is_rejected(gallery, case):
    break_it, field = BROKEN[case]
    data = copy.deepcopy(_valid())
    break_it(data)
    with pytest.raises(TemplateError) as info:
        gallery(data)
    assert info.value.field == field
    assert info.value.file.endswith("demo-app.json")
    assert info.value.reason


def test_expression_literals_are_not_attribute_references(gallery):
    data = _valid()
    _users(data)["attributeMappings"][3] = {
        "target": "title",
        "type": "Expression",
        "expression": 'Replace([jobTitle], , "[a-z(]+", , "", , )',
    }
    [template] = gallery(data)
    assert by_target(template.object_mapping("users"))["title"]["type"] == "Expression"


def test_invalid_json_and_misnamed_files_are_rejected(gallery):
    (gallery.folder / "broken.json").write_text("{not json")
    with pytest.raises(TemplateError) as info:
        load_templates(gallery.folder, static_dir=gallery.static)
    assert info.value.field == "(file)"
    (gallery.folder / "broken.json").unlink()

    gallery(_valid())
    with pytest.raises(TemplateError, match="must match the file name"):
        gallery(_valid(), name="demo-copy.json")


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(TemplateError):
        load_templates(tmp_path / "absent", static_dir=tmp_path)


def test_shipped_files_round_trip(tmp_path):
    """Every shipped file still loads when copied elsewhere (no hidden dependency on its folder)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in TEMPLATES_DIR.glob("*.json"):
        (folder / path.name).write_text(path.read_text())
    assert [t.id for t in load_templates(folder, static_dir=STATIC_DIR)] == [t.id for t in load_templates()]


def test_templates_dir_is_relative_to_the_module():
    assert Path(__file__).resolve().parents[2] / "portal/applications/gallery/templates" == TEMPLATES_DIR
