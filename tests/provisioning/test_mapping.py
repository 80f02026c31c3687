"""Attribute mappings: JSON shape, Entra's flow rules, and the editor's validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provisioning.expressions import IGNORE, AppRoleList, EvaluationContext, ExpressionError
from provisioning.mappings.evaluation import (
    AttributeMapping,
    MappingError,
    MappingEvaluationError,
    TargetAttribute,
    evaluate,
    evaluate_all,
    validate_mappings,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

DEFAULT_SCIM_USER = [
    {"target": "userName", "type": "Direct", "source": "userPrincipalName", "matchingPrecedence": 1},
    {
        "target": "active",
        "type": "Expression",
        "expression": 'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
    },
    {"target": "title", "type": "Direct", "source": "jobTitle"},
    {"target": 'emails[type eq "work"].value', "type": "Direct", "source": "mail"},
    {"target": "name.givenName", "type": "Direct", "source": "givenName"},
    {"target": "name.familyName", "type": "Direct", "source": "surname"},
    {"target": "name.formatted", "type": "Expression", "expression": 'Join(" ", [givenName], [surname])'},
    {"target": "externalId", "type": "Direct", "source": "mailNickname"},
    {"target": "preferredLanguage", "type": "Constant", "constant": "en-US"},
    {
        "target": f"{ENTERPRISE}:department",
        "type": "Direct",
        "source": "department",
        "defaultValue": "Unassigned",
    },
    {"target": "nickName", "type": "Expression", "expression": "IgnoreFlowIfNullOrEmpty([displayName])"},
    {
        "target": "password",
        "type": "Expression",
        "expression": "RandomString(12, 2, 2, 2, 2)",
        "apply": "ObjectAddOnly",
    },
    {"target": "locale", "type": "None", "defaultValue": "en"},
]
MAPPINGS = [AttributeMapping.from_dict(d) for d in DEFAULT_SCIM_USER]
USER = {
    "userPrincipalName": "ann@contoso.com",
    "IsSoftDeleted": False,
    "jobTitle": "Engineer",
    "mail": None,
    "givenName": "Ann",
    "surname": "Lee",
    "mailNickname": "ann",
    "department": None,
    "displayName": "",
}

TARGETS = [
    TargetAttribute.from_dict(d)
    for d in [
        {"name": "userName", "type": "String", "required": True, "filterable": True},
        {"name": "active", "type": "Boolean"},
        {"name": "title", "type": "String"},
        {"name": 'emails[type eq "work"].value', "type": "String", "filterable": True},
        {"name": "name.givenName", "type": "String"},
        {"name": "name.familyName", "type": "String"},
        {"name": "name.formatted", "type": "String"},
        {"name": "externalId", "type": "String"},
        {"name": "preferredLanguage", "type": "String"},
        {"name": f"{ENTERPRISE}:department", "type": "String"},
        {"name": "nickName", "type": "String"},
        {"name": "password", "type": "String"},
        {"name": "locale", "type": "String"},
        {"name": f"{ENTERPRISE}:manager", "type": "Reference"},
        {"name": "userType", "type": "Integer", "filterable": False},
        {"name": "hireDate", "type": "DateTime"},
        {"name": "photo", "type": "Binary"},
        {"name": "emails", "type": "String", "multiValued": True},
    ]
]


# ---------------------------------------------------------------------------------------------- JSON


def test_from_dict_reads_every_key():
    mapping = AttributeMapping.from_dict(
        {
            "target": "userName",
            "type": "Expression",
            "expression": "ToLower([userPrincipalName])",
            "defaultValue": "x",
            "matchingPrecedence": 2,
            "apply": "ObjectAddOnly",
        }
    )
    assert mapping == AttributeMapping(
        target="userName",
        type="Expression",
        expression="ToLower([userPrincipalName])",
        default_value="x",
        matching_precedence=2,
        apply="ObjectAddOnly",
    )
    assert mapping.is_matching


def test_to_dict_round_trips_and_omits_unset_keys():
    for data in DEFAULT_SCIM_USER:
        mapping = AttributeMapping.from_dict(data)
        assert AttributeMapping.from_dict(mapping.to_dict()) == mapping
    assert AttributeMapping.from_dict(DEFAULT_SCIM_USER[2]).to_dict() == {
        "target": "title",
        "type": "Direct",
        "source": "jobTitle",
        "apply": "Always",
    }


def test_from_dict_accepts_graph_type_names_and_zero_priority():
    mapping = AttributeMapping.from_dict({"target": "a", "type": "Function", "expression": "Guid()"})
    assert mapping.type == "Expression"
    assert AttributeMapping.from_dict({"target": "a", "type": "Attribute", "source": "b"}).type == "Direct"
    assert (
        AttributeMapping.from_dict({"target": "a", "type": "Direct", "matchingPrecedence": 0}).is_matching
        is False
    )
    assert (
        AttributeMapping.from_dict(
            {"target": "a", "type": "Direct", "matchingPrecedence": "3"}
        ).matching_precedence
        == 3
    )


@pytest.mark.parametrize(
    "data",
    [
        {"target": "a", "type": "Formula"},
        {"target": "a", "type": "Direct", "apply": "Sometimes"},
        {"target": "a", "type": "Direct", "matchingPrecedence": "first"},
        {"target": "a", "type": "Direct", "matchingPrecedence": True},
    ],
)
def test_from_dict_rejects_impossible_shapes(data):
    with pytest.raises(ValueError):
        AttributeMapping.from_dict(data)


def test_target_attribute_from_dict_and_defaults():
    attribute = TargetAttribute.from_dict({"name": "emails", "type": "String", "multiValued": True})
    assert attribute == TargetAttribute(
        "emails", "String", multi_valued=True, required=False, filterable=True
    )
    assert TargetAttribute.from_dict(attribute.to_dict()) == attribute
    with pytest.raises(ValueError):
        TargetAttribute.from_dict({"name": "x", "type": "Float"})


# ---------------------------------------------------------------------------------------- evaluation


def test_evaluate_each_mapping_type():
    assert evaluate(MAPPINGS[0], USER) == "ann@contoso.com"
    assert evaluate(MAPPINGS[1], USER) == "True"
    assert evaluate(MAPPINGS[8], USER) == "en-US"
    assert evaluate(MAPPINGS[10], USER) is IGNORE
    assert evaluate(MAPPINGS[12], USER) is None
    assert evaluate(AttributeMapping("x", "Direct", source="USERPRINCIPALNAME"), USER) == "ann@contoso.com"


def test_evaluate_all_on_create_applies_defaults_and_add_only_mappings():
    values = evaluate_all(MAPPINGS, USER, creating=True)
    assert values["userName"] == "ann@contoso.com"
    assert values["active"] == "True"
    assert values["name.formatted"] == "Ann Lee"
    assert values[f"{ENTERPRISE}:department"] == "Unassigned"  # null -> default value on create
    assert values["locale"] == "en"  # a "None" mapping's default value on create
    assert len(values["password"]) == 12  # "Only during object creation"
    assert 'emails[type eq "work"].value' not in values  # null values don't flow
    assert "nickName" not in values  # IgnoreFlowIfNullOrEmpty
    assert list(values)[:3] == ["userName", "active", "title"]  # mapping order


def test_evaluate_all_on_update_skips_add_only_and_defaults():
    values = evaluate_all(MAPPINGS, {**USER, "IsSoftDeleted": True}, creating=False)
    assert values["active"] == "False"
    assert "password" not in values
    assert "locale" not in values
    assert f"{ENTERPRISE}:department" not in values


def test_default_value_replaces_empty_strings_on_create_only():
    mapping = AttributeMapping("title", "Direct", source="jobTitle", default_value="n/a")
    assert evaluate_all([mapping], {"jobTitle": ""}, creating=True) == {"title": "n/a"}
    assert evaluate_all([mapping], {"jobTitle": ""}, creating=False) == {"title": ""}


def test_evaluate_all_keeps_multi_valued_and_role_values():
    mappings = [
        AttributeMapping("emails", "Direct", source="proxyAddresses"),
        AttributeMapping(
            "roles", "Expression", expression="AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"
        ),
        AttributeMapping("none", "Direct", source="empty"),
    ]
    context = EvaluationContext(source={"proxyAddresses": ("a", "b"), "empty": []})
    values = evaluate_all(mappings, context, creating=False)
    assert values["emails"] == ["a", "b"]
    assert isinstance(values["roles"], AppRoleList) and values["roles"] == []
    assert "none" not in values


def test_evaluate_all_formats_dates_from_expressions_and_passes_raw_direct_values():
    hired = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    mappings = [
        AttributeMapping("hireDate", "Direct", source="employeeHireDate"),
        AttributeMapping("hireText", "Expression", expression="CDate([employeeHireDate])"),
    ]
    values = evaluate_all(mappings, {"employeeHireDate": hired}, creating=True)
    assert values == {"hireDate": hired, "hireText": "2/3/2024 4:05:06 AM"}


def test_redacted_mappings_are_flagged_for_the_logs():
    assert AttributeMapping("password", "Expression", expression="Redact(RandomString(8,1,1,1,1))").redacted
    assert not AttributeMapping("password", "Expression", expression="RandomString(8,1,1,1,1)").redacted
    assert not AttributeMapping("password", "Expression", expression="Redact(").redacted
    assert not AttributeMapping("password", "Constant", constant="Redact([x])").redacted


def test_evaluation_errors_name_the_target():
    mapping = AttributeMapping("title", "Expression", expression="Mid([jobTitle], [start], 2)")
    with pytest.raises(MappingEvaluationError) as caught:
        evaluate_all([mapping], {"jobTitle": "abc", "start": 0}, creating=True)
    assert caught.value.target == "title"
    assert "Mapping for 'title' failed" in caught.value.message
    assert isinstance(caught.value, ExpressionError)
    assert caught.value.position == 0


# ---------------------------------------------------------------------------------------- validation


def messages(errors: list[MappingError]) -> list[str]:
    return [f"{e.index}:{e.field}:{e.message}" for e in errors]


def test_the_default_scim_mapping_is_valid():
    assert validate_mappings(MAPPINGS, TARGETS) == []


def test_required_attribute_must_be_mapped_and_one_matching_attribute_exists():
    errors = validate_mappings(MAPPINGS[1:], TARGETS)
    assert MappingError("mappings", "At least one attribute must be used to match objects") in errors
    assert MappingError("mappings", "Required attribute 'userName' is not mapped") in errors


@pytest.mark.parametrize(
    ("mapping", "field", "fragment"),
    [
        (AttributeMapping("nope", "Direct", source="a"), "target", "is not an attribute of the target app"),
        (AttributeMapping("", "Direct", source="a"), "target", "Choose the target attribute"),
        (AttributeMapping("title", "Direct", source="a"), "target", "already mapped"),
        (AttributeMapping("nickName", "Direct"), "source", "Choose the source attribute"),
        (AttributeMapping("nickName", "Constant"), "constant", "Enter the constant value"),
        (AttributeMapping("nickName", "Expression", expression=" "), "expression", "Enter an expression"),
        (
            AttributeMapping("nickName", "Expression", expression="Joinn([a])"),
            "expression",
            "did you mean 'Join'",
        ),
        (
            AttributeMapping("nickName", "Expression", expression='Left([a], "x"'),
            "expression",
            "line 1, column",
        ),
        (AttributeMapping("active", "Constant", constant="yes"), "constant", "Boolean"),
        (AttributeMapping("userType", "Constant", constant="1.5"), "constant", "not a whole number"),
        (AttributeMapping("hireDate", "Constant", constant="someday"), "constant", "not a date"),
        (AttributeMapping(f"{ENTERPRISE}:manager", "Constant", constant="x"), "constant", "Reference"),
        (AttributeMapping("photo", "Constant", constant="not base64!"), "constant", "base64"),
        (AttributeMapping("active", "Direct", source="a", default_value="maybe"), "defaultValue", "Boolean"),
        (
            AttributeMapping("userType", "Direct", source="a", matching_precedence=2),
            "matchingPrecedence",
            "filter",
        ),
        (
            AttributeMapping("nickName", "Direct", source="a", matching_precedence=1),
            "matchingPrecedence",
            "twice",
        ),
        (
            AttributeMapping("nickName", "Direct", source="a", matching_precedence=-1),
            "matchingPrecedence",
            "starts at 1",
        ),
        (
            AttributeMapping("nickName", "Expression", expression="SelectUniqueValue([a], [b])"),
            "apply",
            "only during object creation",
        ),
        (
            AttributeMapping(
                "nickName",
                "Expression",
                expression="SelectUniqueValue([a], [b])",
                matching_precedence=5,
                apply="ObjectAddOnly",
            ),
            "expression",
            "can't be used on a matching attribute",
        ),
    ],
)
def test_row_problems_point_at_the_row_and_field(mapping, field, fragment):
    errors = [e for e in validate_mappings([*MAPPINGS, mapping], TARGETS) if e.index == len(MAPPINGS)]
    assert any(e.field == field and fragment in e.message for e in errors), messages(errors)


@pytest.mark.parametrize(
    "mapping",
    [
        AttributeMapping("active", "Constant", constant="False"),
        AttributeMapping("userType", "Constant", constant="-3"),
        AttributeMapping("hireDate", "Constant", constant="2024-01-01T00:00:00Z"),
        AttributeMapping("photo", "Constant", constant="aGVsbG8="),
        AttributeMapping("emails", "Constant", constant="x"),
        AttributeMapping("nickName", "None"),
    ],
)
def test_valid_rows_add_no_errors(mapping):
    user_name = MAPPINGS[0]
    assert validate_mappings([user_name, mapping], TARGETS) == []


def test_without_a_target_schema_only_the_rows_are_checked():
    assert (
        validate_mappings([AttributeMapping("anything", "Direct", source="a", matching_precedence=1)], [])
        == []
    )
