"""Conditions, null tests and choices: IIF, Switch, Coalesce, CBool, Not, Is*, IgnoreFlowIfNullOrEmpty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provisioning.expressions import IGNORE, ArgumentTypeError, evaluate


def ev(expression: str, **source):
    return evaluate(expression, source)


# ------------------------------------------------------------------------------------------- IIF


def test_iif_documented_example():
    expression = 'IIF([country]="USA",[country],[department])'
    assert ev(expression, country="USA", department="Sales") == "USA"
    assert ev(expression, country="FR", department="Sales") == "Sales"


def test_iif_and_or_through_nesting():
    and_ = 'IIF([country]="USA",IIF([state]="CA","True","False"),"False")'
    or_ = 'IIF([country]="USA","True",IIF([state]="CA","True","False"))'
    assert ev(and_, country="USA", state="CA") == "True"
    assert ev(and_, country="USA", state="NY") == "False"
    assert ev(or_, country="FR", state="CA") == "True"
    assert ev(or_, country="FR", state="NY") == "False"


@pytest.mark.parametrize(
    "expression",
    [
        'IIF([country]="","Other",[country])',
        'IIF(IsNullOrEmpty([country]),"Other",[country])',
        'IIF(IsPresent([country]),[country],"Other")',
    ],
)
def test_iif_condition_fails_when_its_attribute_is_null_or_empty(expression):
    assert ev(expression) is None
    assert ev(expression, country="") is None


def test_switch_is_the_documented_workaround_for_empty_values():
    assert ev('Switch([country],[country],"","Other")') == "Other"
    assert ev('Switch([country],[country],"","Other")', country="FR") == "FR"


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("=", "abc", "abc", True),
        ("=", "abc", "ABC", False),  # text comparison is case-sensitive
        ("<>", "abc", "ABC", True),
        (">", 10, "9", True),  # numbers compare numerically
        (">=", "10", 10, True),
        ("<", 2.5, 3, True),
        ("<=", 4, 3, False),
        ("=", True, "true", True),  # Booleans compare with "True"/"False" in any case
        ("=", False, "True", False),
        ("<", "apple", "banana", True),
    ],
)
def test_comparison_operators(op, left, right, expected):
    assert ev(f"IIF([l] {op} [r], True, False)", l=left, r=right) is expected


def test_comparison_with_a_number_literal_and_date_difference():
    expression = 'IIF(DateDiff("d", [start], [end]) > 5, "later", "soon")'
    assert ev(expression, start="2021-08-01", end="2021-08-10") == "later"
    assert ev(expression, start="2021-08-01", end="2021-08-03") == "soon"


def test_comparison_of_dates():
    assert ev('CBool(CDate([a]) < CDate("2022-01-01"))', a="2021-12-31T23:59:59Z") is True


def test_iif_condition_must_be_boolean_like():
    with pytest.raises(ArgumentTypeError, match="Boolean"):
        ev('IIF([x], "a", "b")', x="maybe")


def test_iif_evaluates_only_the_chosen_branch():
    # the false branch would fail (Mid start 0) if it were evaluated
    assert ev('IIF([x]="a", "yes", Mid([x], [zero], 1))', x="a", zero=0) == "yes"


# ------------------------------------------------------------------------------------------ Switch


def test_switch_documented_time_zone_example():
    expression = (
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", '
        '"SA", "Australia/Adelaide")'
    )
    assert ev(expression, state="QLD") == "Australia/Brisbane"
    assert ev(expression, state="WA") == "Australia/Sydney"


def test_switch_is_case_sensitive_and_lower_casing_makes_it_insensitive():
    assert ev('Switch([f], "none", "true", "1", "false", "0")', f="TRUE") == "none"
    assert ev('Switch(ToLower([f]), "none", "true", "1", "false", "0")', f="TRUE") == "1"


def test_switch_on_is_soft_deleted_default_scim_mapping():
    expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert ev(expression, IsSoftDeleted=False) == "True"
    assert ev(expression, IsSoftDeleted=True) == "False"


def test_switch_without_default_gives_null_and_first_duplicate_key_wins():
    assert ev('Switch([s], , "a", "1")', s="b") is None
    assert ev('Switch([s], , "a", "1", "a", "2")', s="a") == "1"


def test_switch_with_computed_keys_documented_is_present_example():
    expression = (
        "Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], "
        "IsPresent([director]),[director])"
    )
    assert ev(expression, directManager="dm") == "dm"
    assert ev('Switch([s], "none", Join("", "a"), "A", Join("", "b"), "B")', s="b") == "B"


def test_switch_numeric_keys_match_text():
    assert ev('Switch([prefix], "", "3443", "Dr.", 3444, "Prof.")', prefix="3444") == "Prof."


# --------------------------------------------------------------------------------------- Coalesce


def test_coalesce_documented_example():
    assert ev("Coalesce([mail],[userPrincipalName])", userPrincipalName="John.Doe@contoso.com") == (
        "John.Doe@contoso.com"
    )


def test_coalesce_default_value_and_all_null():
    assert ev('Coalesce([a], [b], "")') == ""
    assert ev("Coalesce([a], [b])") is None
    assert ev("Coalesce([a], [b])", a="", b="x") == ""  # only NULL is skipped, as documented
    assert ev("Coalesce([a], [b])", a=[], b="x") == "x"  # an empty multi-valued attribute is null


# -------------------------------------------------------------------------------- CBool / Not / Is*


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (0, False), ("-3", True), ("0", False), ("True", True), ("false", False)],
)
def test_cbool_non_zero_is_true(value, expected):
    assert ev("CBool([v])", v=value) is expected


def test_cbool_of_a_comparison_documented_example():
    assert ev("CBool([attribute1] = [attribute2])", attribute1="x", attribute2="x") is True
    assert ev("CBool([attribute1] = [attribute2])", attribute1="x", attribute2="y") is False


def test_cbool_rejects_text_that_is_not_boolean():
    with pytest.raises(ArgumentTypeError):
        ev("CBool([v])", v="abc")


@pytest.mark.parametrize(
    ("value", "expected"), [(True, False), (False, True), ("True", False), ("False", True), (None, True)]
)
def test_not_flips_booleans_and_boolean_strings(value, expected):
    assert ev("Not([v])", v=value) is expected


@pytest.mark.parametrize(
    ("value", "is_null", "null_or_empty"),
    [(None, True, True), ("", False, True), ([], True, True), ("x", False, False), (0, False, False)],
)
def test_null_tests(value, is_null, null_or_empty):
    assert ev("IsNull([v])", v=value) is is_null
    assert ev("IsNullOrEmpty([v])", v=value) is null_or_empty
    assert ev("IsPresent([v])", v=value) is (not null_or_empty)


def test_is_null_for_an_absent_attribute():
    assert ev("IsNull([displayName])") is True


def test_is_string():
    assert ev("IsString([v])", v="x") is True
    assert ev("IsString([v])", v=5) is False
    assert ev("IsString([v])") is False
    assert ev("IsString(CStr([v]))", v=5) is True


# ------------------------------------------------------------------------------ IgnoreFlowIfNullOrEmpty


def test_ignore_flow_drops_null_and_empty_values():
    assert ev("IgnoreFlowIfNullOrEmpty([department])") is IGNORE
    assert ev("IgnoreFlowIfNullOrEmpty([department])", department="") is IGNORE
    assert ev("IgnoreFlowIfNullOrEmpty([department])", department="Sales") == "Sales"


def test_ignore_flow_documented_switch_example():
    expression = (
        'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))'
    )
    assert ev(expression, prefix="3445") == "Prof. Dr."
    assert ev(expression, prefix="9999") is IGNORE


def test_ignore_flow_nested_anywhere_drops_the_whole_attribute():
    assert ev('Join(",", "a", IgnoreFlowIfNullOrEmpty([x]))') is IGNORE


def test_ignore_is_a_falsy_singleton():
    assert not IGNORE
    assert repr(IGNORE) == "IGNORE"


# ----------------------------------------------------------------------------------------- BitAnd


def test_bit_and_documented_example_and_text_numbers():
    assert ev("BitAnd(&HF, &HF7)") == 7
    assert ev("BitAnd([uac], 2)", uac="514") == 2
    assert ev("BitAnd([uac], 2)", uac=512) == 0
    assert ev("BitAnd([uac], 2)") is None


def test_dates_from_the_source_compare_with_text():
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert ev('IIF([d] = "2024-05-01T12:00:00Z", "same", "different")', d=when) == "same"
