"""Scoping filters: every operator, null handling, AND/OR composition, validation and JSON."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.mappings.scoping import (
    OPERATORS,
    ScopingClause,
    ScopingError,
    ScopingFilter,
    canonical_operator,
    filters_from_dicts,
    in_scope,
    validate_clause,
)


def holds(attribute_value, operator, value=None) -> bool:
    return ScopingClause("attr", operator, value).matches({"attr": attribute_value})


# ------------------------------------------------------------------------------------------ operators


@pytest.mark.parametrize(
    ("attribute_value", "operator", "value", "expected"),
    [
        # & : the attribute value occurs in the clause's string
        ("Sales", "&", "Sales,Marketing", True),
        ("Finance", "&", "Sales,Marketing", False),
        ("sales", "&", "Sales,Marketing", False),
        ("Finance", "!&", "Sales,Marketing", True),
        ("Sales", "!&", "Sales,Marketing", False),
        # ENDS_WITH
        ("ann@contoso.com", "ENDS_WITH", "@contoso.com", True),
        ("ann@contoso.com.evil", "ENDS_WITH", "@contoso.com", False),
        ("ann@CONTOSO.com", "ENDS_WITH", "@contoso.com", False),
        # EQUALS / NOT EQUALS are case-sensitive
        ("Sales", "EQUALS", "Sales", True),
        ("sales", "EQUALS", "Sales", False),
        ("sales", "NOT EQUALS", "Sales", True),
        ("Sales", "NOT EQUALS", "Sales", False),
        (42, "EQUALS", "42", True),
        (True, "EQUALS", "True", True),
        # integer operators
        (1500000, "Greater_Than", "1000000", True),
        ("1500000", "Greater_Than", "1500000", False),
        ("1500000", "Greater_Than_OR_EQUALS", "1500000", True),
        ("999", "Greater_Than_OR_EQUALS", "1000", False),
        ("999", "Less_Than", "1000", True),
        ("1000", "Less_Than", "1000", False),
        ("1000", "Less_Than_OR_EQUALS", "1000", True),
        ("abc", "Greater_Than", "1", False),  # not an integer: the clause fails
        ("10", "Greater_Than", "x", False),
        (True, "Greater_Than", "0", False),  # a Boolean is not an integer
        # Includes: String.Contains, case-sensitive
        ("Senior Engineer", "Includes", "Engineer", True),
        ("Senior engineer", "Includes", "Engineer", False),
        # Boolean operators
        (True, "IS TRUE", None, True),
        ("true", "IS TRUE", None, True),
        (False, "IS TRUE", None, False),
        (False, "IS FALSE", None, True),
        ("False", "IS FALSE", None, True),
        ("yes", "IS FALSE", None, False),
        # null tests
        ("x", "IS NOT NULL", None, True),
        ("x", "IS NULL", None, False),
        # regex: .NET syntax, case-sensitive, unanchored like Regex.IsMatch
        ("ann@domain.com", "REGEX MATCH", r".*\@domain.com", True),
        ("ann@DOMAIN.com", "REGEX MATCH", r".*\@domain.com", False),
        ("1500000", "REGEX MATCH", "(1[0-9][0-9][0-9][0-9][0-9][0-9])", True),
        ("abc", "REGEX MATCH", "(?<digits>[0-9]+)", False),
        ("ann@domain.com", "NOT REGEX MATCH", r".*\@domain.com", False),
        ("ann@other.com", "NOT REGEX MATCH", r".*\@domain.com", True),
    ],
)
def test_operator_semantics(attribute_value, operator, value, expected):
    assert holds(attribute_value, operator, value) is expected


@pytest.mark.parametrize("operator", [op for op in OPERATORS if op != "IS NULL"])
@pytest.mark.parametrize("empty", [None, "", []])
def test_null_or_empty_values_fail_every_operator_but_is_null(operator, empty):
    value = None if operator.startswith("IS") else "x"
    assert holds(empty, operator, value) is False
    assert holds(empty, "IS NULL") is True


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=6))
def test_string_operators_agree_with_python_for_any_non_empty_text(attribute_value, value):
    assert holds(attribute_value, "EQUALS", value) is (attribute_value == value)
    assert holds(attribute_value, "NOT EQUALS", value) is (attribute_value != value)
    assert holds(attribute_value, "Includes", value) is (value in attribute_value)
    assert holds(attribute_value, "ENDS_WITH", value) is attribute_value.endswith(value)
    assert holds(attribute_value, "&", value) is (attribute_value in value)
    assert holds(attribute_value, "!&", value) is (attribute_value not in value)


def test_missing_attribute_is_null():
    assert ScopingClause("department", "IS NULL").matches({}) is True
    assert ScopingClause("department", "NOT EQUALS", "Sales").matches({}) is False


def test_multi_valued_attributes_are_unsupported_except_is_not_null():
    assert holds(["Sales"], "EQUALS", "Sales") is False
    assert holds(["Sales"], "IS NOT NULL") is True
    assert holds(["Sales"], "IS NULL") is False


def test_attribute_names_are_case_insensitive():
    assert ScopingClause("Department", "EQUALS", "Sales").matches({"department": "Sales"}) is True


def test_operator_spellings_are_normalised():
    assert canonical_operator("is not null") == "IS NOT NULL"
    assert canonical_operator("IS_NOT_NULL") == "IS NOT NULL"
    assert canonical_operator("greater_than_or_equals") == "Greater_Than_OR_EQUALS"
    assert canonical_operator("NOT_REGEX_MATCH") == "NOT REGEX MATCH"
    assert canonical_operator("IsMemberOf") is None
    assert ScopingClause("a", "equals", "x").matches({"a": "x"}) is True


def test_unknown_operator_and_invalid_regex_stop_scoping_instead_of_excluding():
    with pytest.raises(ScopingError, match="Unknown scoping operator"):
        holds("x", "SOUNDS_LIKE", "y")
    with pytest.raises(ScopingError, match="Invalid regular expression"):
        holds("x", "REGEX MATCH", "(unclosed")


# ------------------------------------------------------------------------------------- composition

NEW_YORK_ENGINEERS = ScopingFilter(
    title="NY engineering",
    clauses=(
        ScopingClause("State", "EQUALS", "New York"),
        ScopingClause("department", "EQUALS", "Engineering"),
        ScopingClause("employeeId", "Greater_Than_OR_EQUALS", "1000000"),
        ScopingClause("employeeId", "Less_Than_OR_EQUALS", "2000000"),
        ScopingClause("jobTitle", "IS NOT NULL"),
    ),
)
CONTRACTORS = ScopingFilter(clauses=(ScopingClause("employeeType", "EQUALS", "Contractor"),))
ENGINEER = {"State": "New York", "department": "Engineering", "employeeId": "1500000", "jobTitle": "Dev"}


def test_clauses_within_a_filter_are_anded():
    assert in_scope([NEW_YORK_ENGINEERS], ENGINEER) is True
    assert in_scope([NEW_YORK_ENGINEERS], {**ENGINEER, "jobTitle": ""}) is False
    assert in_scope([NEW_YORK_ENGINEERS], {**ENGINEER, "employeeId": "2000001"}) is False


def test_filters_are_ored():
    contractor = {"employeeType": "Contractor"}
    assert in_scope([NEW_YORK_ENGINEERS, CONTRACTORS], contractor) is True
    assert in_scope([NEW_YORK_ENGINEERS, CONTRACTORS], ENGINEER) is True
    assert in_scope([NEW_YORK_ENGINEERS, CONTRACTORS], {"employeeType": "Employee"}) is False


def test_no_filters_means_everything_is_in_scope():
    assert in_scope([], {}) is True


def test_plain_lists_of_clauses_work_as_filters():
    assert (
        in_scope([[ScopingClause("a", "EQUALS", "1")], [ScopingClause("b", "EQUALS", "2")]], {"b": "2"})
        is True
    )


# -------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        (ScopingClause("", "EQUALS", "x"), "Attribute name is required"),
        (ScopingClause("dept", "LIKE", "x"), "Unknown operator 'LIKE'"),
        (ScopingClause("dept", "EQUALS", ""), "EQUALS needs an attribute value"),
        (ScopingClause("dept", "Includes", None), "Includes needs an attribute value"),
        (ScopingClause("employeeId", "Greater_Than", "1e6"), "not an integer"),
        (ScopingClause("upn", "REGEX MATCH", "([a-z]"), "Invalid regular expression"),
        (ScopingClause("appRoleAssignments", "IS NOT NULL"), "can't be used in a scoping filter"),
        (ScopingClause("manager", "IS NULL"), "can't be used in a scoping filter"),
    ],
)
def test_validate_clause_reports_problems(clause, fragment):
    errors = validate_clause(clause)
    assert any(fragment in error for error in errors), errors


@pytest.mark.parametrize(
    "clause",
    [
        ScopingClause("dept", "EQUALS", "Sales"),
        ScopingClause("accountEnabled", "IS TRUE"),
        ScopingClause("jobTitle", "is not null", None),
        ScopingClause("employeeId", "Less_Than", "-5"),
        ScopingClause("upn", "NOT REGEX MATCH", r".*\@domain.com"),
    ],
)
def test_validate_clause_accepts_valid_clauses(clause):
    assert validate_clause(clause) == []


# -------------------------------------------------------------------------------------------- JSON


def test_clause_and_filter_json_round_trip():
    data = {"title": "Sales", "clauses": [{"attribute": "dept", "operator": "equals", "value": "Sales"}]}
    scoping_filter = ScopingFilter.from_dict(data)
    assert scoping_filter.clauses == (ScopingClause("dept", "EQUALS", "Sales"),)
    assert ScopingFilter.from_dict(scoping_filter.to_dict()) == scoping_filter
    assert scoping_filter.to_dict()["clauses"][0] == {
        "attribute": "dept",
        "operator": "EQUALS",
        "value": "Sales",
    }


def test_unknown_operators_survive_the_round_trip_for_validation():
    clause = ScopingClause.from_dict({"attribute": "a", "operator": "LIKE", "value": 3})
    assert clause == ScopingClause("a", "LIKE", "3")
    assert validate_clause(clause)


def test_filters_from_dicts_accepts_titled_filters_and_plain_clause_lists():
    filters = filters_from_dicts(
        [
            {"title": "one", "clauses": [{"attribute": "a", "operator": "IS TRUE"}]},
            [{"attribute": "b", "operator": "EQUALS", "value": "x"}],
        ]
    )
    assert [f.title for f in filters] == ["one", ""]
    assert in_scope(filters, {"a": False, "b": "x"}) is True
    assert in_scope(filters, {"a": False, "b": "y"}) is False
