"""Attribute paths <-> SCIM documents and PATCH operations (pure functions)."""

from __future__ import annotations

import pytest
from scim2_models import Context, PatchOp

from provisioning.connectors.scim.compat import LEGACY, Compatibility
from provisioning.connectors.scim.paths import (
    ENTERPRISE_URN,
    LENIENT_POLICY,
    UserModel,
    build_document,
    build_resource,
    filter_expression,
    flatten,
    parse_path,
    patch_operations,
    rewrite_missing_entries,
    schema_types,
    type_of,
)
from provisioning.engine.attribute_types import AttributeType

ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
WORK = 'emails[type eq "work"].value'


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("userName", (None, "userName", None, None, None)),
        ("name.givenName", (None, "name", None, None, "givenName")),
        (WORK, (None, "emails", "type", "work", "value")),
        ('addresses[type eq "work"].locality', (None, "addresses", "type", "work", "locality")),
        (f"{ENTERPRISE_URN}:manager", (ENTERPRISE_URN, "manager", None, None, None)),
        (f"{ACME}:badge", (ACME, "badge", None, None, None)),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName", (None, "userName", None, None, None)),
        ('emails[type eq "a\\"b"].value', (None, "emails", "type", 'a"b', "value")),
    ],
)
def test_parse_path(path: str, parts: tuple[str | None, ...]) -> None:
    parsed = parse_path(path)
    assert (
        parsed.schema,
        parsed.attribute,
        parsed.filter_attribute,
        parsed.filter_value,
        parsed.sub_attribute,
    ) == parts


@pytest.mark.parametrize("path", ["", "a b", 'emails[type co "x"].value', "urn:x", "name.given.name"])
def test_parse_path_refuses(path: str) -> None:
    with pytest.raises(ValueError):
        parse_path(path)


VALUES = {
    "userName": "bjensen@contoso.local",
    "active": True,
    "name.givenName": "Barbara",
    WORK: "BJensen@Contoso.local",
    'phoneNumbers[type eq "mobile"].value': "+1 555 0100",
    "roles": [
        {"value": "admin", "display": "Admin", "primary": True, "type": "WindowsAzureActiveDirectoryRole"}
    ],
    f"{ENTERPRISE_URN}:department": "Tours",
    f"{ENTERPRISE_URN}:manager": "manager-id",
    f"{ACME}:badge": "42",
    "title": None,
}


def test_build_document_nests_like_entra() -> None:
    document = build_document("User", VALUES)
    assert document["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN, ACME]
    assert document["emails"] == [{"type": "work", "value": "BJensen@Contoso.local", "primary": True}]
    assert document[ENTERPRISE_URN] == {"department": "Tours", "manager": {"value": "manager-id"}}
    assert document[ACME] == {"badge": "42"}
    assert "title" not in document


def test_build_resource_keeps_values_and_custom_extensions() -> None:
    resource = build_resource("User", VALUES)
    with LENIENT_POLICY:
        dumped = resource.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    assert dumped["emails"][0]["value"] == "BJensen@Contoso.local"  # not normalised by EmailStr
    assert dumped[ACME] == {"badge": "42"}


def test_flatten_is_the_inverse_of_build() -> None:
    flat = flatten("User", build_document("User", VALUES))
    expected = {k: v for k, v in VALUES.items() if v is not None}
    assert {k: flat[k] for k in expected} == expected


def test_flatten_normalises_types_and_groups() -> None:
    flat = flatten("User", {"id": "1", "emails": [{"type": "Work", "value": "a@b.c"}, {"value": "x@y.z"}]})
    assert flat == {WORK: "a@b.c", "emails": [{"value": "x@y.z"}]}
    group = flatten("Group", {"id": "g", "displayName": "G", "members": [{"value": "u1"}, {"value": "u2"}]})
    assert group == {"displayName": "G", "members": ["u1", "u2"]}


def test_group_documents_never_carry_members() -> None:
    assert build_document("Group", {"displayName": "G", "members": ["u1"]}) == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "G",
    }
    with pytest.raises(ValueError):
        patch_operations("Group", {"members": ["u1"]})


def test_patch_operations_entra_2020_form() -> None:
    operations = patch_operations(
        "User",
        {
            "displayName": "Babs",
            "active": False,
            f"{ENTERPRISE_URN}:employeeNumber": "7",
            WORK: "babs@example.com",
            f"{ENTERPRISE_URN}:manager": "m2",
            f"{ACME}:badge": "43",
            "title": None,
            'phoneNumbers[type eq "mobile"].value': None,
            'addresses[type eq "work"].locality': None,
        },
    )
    assert operations == [
        {
            "op": "replace",
            "value": {"displayName": "Babs", "active": False, f"{ENTERPRISE_URN}:employeeNumber": "7"},
        },
        {"op": "replace", "path": WORK, "value": "babs@example.com"},
        {"op": "replace", "path": f"{ENTERPRISE_URN}:manager", "value": {"value": "m2"}},
        {"op": "replace", "path": f"{ACME}:badge", "value": "43"},
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'},
        {"op": "remove", "path": 'addresses[type eq "work"].locality'},
    ]
    PatchOp[UserModel].model_validate({"Operations": operations}, scim_policy=LENIENT_POLICY)


def test_patch_operations_per_path_and_legacy() -> None:
    per_path = Compatibility(replace_form="perPath")
    assert patch_operations("User", {"displayName": "B", "active": True}, per_path) == [
        {"op": "replace", "path": "displayName", "value": "B"},
        {"op": "replace", "path": "active", "value": True},
    ]
    assert patch_operations("User", {"active": False, "title": None}, LEGACY) == [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Remove", "path": "title"},
    ]


def test_each_switch_changes_one_thing() -> None:
    """One switch, one change: string booleans don't bring capitalised ops or per-path replaces along."""
    changes = {"displayName": "B", "active": True}
    assert patch_operations("User", changes, Compatibility(boolean_form="string")) == [
        {"op": "replace", "value": {"displayName": "B", "active": "True"}}
    ]
    assert patch_operations("User", changes, Compatibility(patch_op_case="capitalized")) == [
        {"op": "Replace", "value": {"displayName": "B", "active": True}}
    ]
    assert patch_operations("User", changes) == [
        {"op": "replace", "value": {"displayName": "B", "active": True}}
    ]


def test_filter_expression() -> None:
    assert filter_expression("userName", 'o"brien') == 'userName eq "o\\"brien"'
    assert filter_expression(WORK, "a@b.c") == 'emails[type eq "work" and value eq "a@b.c"]'
    assert (
        filter_expression(f"{ENTERPRISE_URN}:employeeNumber", "7")
        == f'{ENTERPRISE_URN}:employeeNumber eq "7"'
    )


def test_rewrite_missing_entries_only_touches_absent_entries() -> None:
    operations = patch_operations("User", {WORK: "n@x.com", 'phoneNumbers[type eq "mobile"].value': "1"})
    rewritten = rewrite_missing_entries(operations, {"phoneNumbers": [{"type": "mobile", "value": "0"}]})
    assert rewritten == [
        {"op": "add", "path": "emails", "value": [{"type": "work", "primary": True, "value": "n@x.com"}]},
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "1"},
    ]


def test_attribute_types_come_from_the_targets_schemas() -> None:
    """/Schemas declares types per attribute and sub-attribute; filtered paths use the sub-attribute's."""
    answer = {
        "Resources": [
            {
                "id": "urn:ietf:params:scim:schemas:core:2.0:User",
                "attributes": [
                    {"name": "active", "type": "boolean"},
                    {
                        "name": "emails",
                        "type": "complex",
                        "multiValued": True,
                        "subAttributes": [
                            {"name": "primary", "type": "boolean"},
                            {"name": "value", "type": "string"},
                        ],
                    },
                ],
            },
            {
                "id": f"{ACME}",
                "attributes": [{"name": "badge", "type": "integer"}],
            },
        ]
    }
    types = schema_types(answer)
    assert type_of(types, "User", "active") == AttributeType("boolean")
    assert type_of(types, "User", 'emails[type eq "work"].primary') == AttributeType("boolean")
    assert type_of(types, "User", f"{ACME}:badge") == AttributeType("integer")
    assert type_of(types, "User", "title") is None and type_of(types, "Group", "active") is None
    assert schema_types({"detail": "not a list"}) == {}
