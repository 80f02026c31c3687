"""App roles, SelectUniqueValue, generated values and Redact."""

from __future__ import annotations

import re
import string
import uuid

import pytest

from provisioning.expressions import (
    REDACTED,
    AppRoleList,
    ArgumentTypeError,
    EvaluationContext,
    UniqueValueUnavailableError,
    compile_expression,
    evaluate,
)
from provisioning.expressions.functions_misc import SPECIAL_CHARACTERS

ADMIN = {"id": "r1", "value": "Admin", "displayName": "Administrator", "principalType": "User"}
READER = {"id": "r2", "value": "Reader", "displayName": "Reader", "principalType": "Group"}
DEFAULT_ACCESS = {"id": "r0", "value": "", "displayName": "msiam_access", "principalType": "User"}


def with_roles(*roles, **source):
    return EvaluationContext(source=source, app_role_assignments=list(roles))


# ------------------------------------------------------------------------------------------ roles


def test_single_app_role_assignment_returns_the_role_value():
    assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", with_roles(ADMIN)) == "Admin"


def test_single_app_role_assignment_falls_back_to_display_name_and_null_without_roles():
    assert (
        evaluate("SingleAppRoleAssignment([appRoleAssignments])", with_roles(DEFAULT_ACCESS))
        == "msiam_access"
    )
    assert evaluate("SingleAppRoleAssignment([appRoleAssignments])", with_roles()) is None


def test_attribute_name_is_case_insensitive_for_app_role_assignments():
    assert evaluate("SingleAppRoleAssignment([AppRoleAssignments])", with_roles(READER)) == "Reader"


def test_app_role_assignments_complex_lists_every_role_for_patch_add():
    value = evaluate("AppRoleAssignmentsComplex([appRoleAssignments])", with_roles(ADMIN, READER))
    assert isinstance(value, AppRoleList)
    assert value.assertive is False
    assert value == [
        {"id": "r1", "value": "Admin", "displayName": "Administrator"},
        {"id": "r2", "value": "Reader", "displayName": "Reader"},
    ]
    assert evaluate("AppRoleAssignmentsComplex([appRoleAssignments])", with_roles()) is None


def test_assertive_app_role_assignments_replace_even_when_empty():
    value = evaluate("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", with_roles(READER))
    assert value.assertive is True
    assert [role["value"] for role in value] == ["Reader"]
    empty = evaluate("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", with_roles())
    assert empty == [] and empty.assertive is True


def test_role_functions_require_the_app_role_assignments_attribute():
    with pytest.raises(ArgumentTypeError, match=r"\[appRoleAssignments\]") as caught:
        compile_expression("SingleAppRoleAssignment([roles])")
    assert caught.value.position == 24


# --------------------------------------------------------------------------------- SelectUniqueValue

UPN_RULES = """SelectUniqueValue(
    Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"),
    Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
    Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
)"""


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        (set(), "John.Smith@contoso.com"),
        ({"John.Smith@contoso.com"}, "J.Smith@contoso.com"),
        ({"John.Smith@contoso.com", "J.Smith@contoso.com"}, "Jo.Smith@contoso.com"),
    ],
)
def test_select_unique_value_documented_example(taken, expected):
    asked: list[str] = []

    def is_unique(candidate: str) -> bool:
        asked.append(candidate)
        return candidate not in taken

    context = EvaluationContext(
        source={"PreferredFirstName": "John", "PreferredLastName": "Smith"}, is_unique=is_unique
    )
    assert evaluate(UPN_RULES, context) == expected
    assert asked[-1] == expected
    assert len(asked) == len(taken) + 1


def test_select_unique_value_escrows_when_every_candidate_is_taken():
    context = EvaluationContext(source={"a": "x", "b": "y"}, is_unique=lambda candidate: False)
    with pytest.raises(UniqueValueUnavailableError) as caught:
        evaluate("SelectUniqueValue([a], [b], [missing])", context)
    assert caught.value.candidates == ["x", "y"]
    assert caught.value.position == 0


def test_select_unique_value_without_a_checker_takes_the_first_candidate():
    assert evaluate("SelectUniqueValue([missing], [b])", {"b": "y"}) == "y"


# --------------------------------------------------------------------------------- generated values


def test_guid_is_a_new_random_guid_each_time():
    first, second = evaluate("Guid()", {}), evaluate("Guid()", {})
    assert str(uuid.UUID(first)) == first
    assert first != second


def test_random_string_documented_example_1():
    value = evaluate("RandomString(6,3,0,0,3)", {})
    assert len(value) == 6
    assert sum(c.isdigit() for c in value) >= 3
    assert sum(c in string.ascii_lowercase for c in value) >= 3


def test_random_string_documented_example_2_respects_minimums_and_avoided_characters():
    for _ in range(50):
        value = evaluate('RandomString(10,2,2,2,1,"?,")', {})
        assert len(value) == 10
        assert sum(c.isdigit() for c in value) >= 2
        assert sum(c in SPECIAL_CHARACTERS for c in value) >= 2
        assert sum(c.isupper() for c in value) >= 2
        assert sum(c.islower() for c in value) >= 1
        assert not set(value) & {"?", ","}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("RandomString(257,0,0,0,0)", "between 1 and 256"),
        ("RandomString(4,2,2,2,0)", "add up to more than Length"),
        ('RandomString(4,1,0,0,0,"0123456789")', "nothing for MinimumNumbers"),
        ("RandomString(4,-1,0,0,0)", "negative"),
    ],
)
def test_random_string_rejects_impossible_requests(expression, message):
    with pytest.raises(ArgumentTypeError, match=message):
        evaluate(expression, {})


def test_random_string_can_be_redacted():
    compiled = compile_expression("Redact(RandomString(6,3,0,0,3))")
    assert compiled.redacted is True
    assert re.fullmatch(r"[0-9a-zA-Z\W_]{6}", compiled.evaluate({}))


# ------------------------------------------------------------------------------------------- Redact


def test_redact_passes_the_value_and_marks_the_expression():
    compiled = compile_expression("Redact([userPrincipalName])")
    assert compiled.evaluate({"userPrincipalName": "a@b"}) == "a@b"
    assert compiled.redacted is True
    assert compile_expression("ToLower([userPrincipalName])").redacted is False
    assert REDACTED == "[Redact]"
