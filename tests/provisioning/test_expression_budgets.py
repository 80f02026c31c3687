"""Expressions can't hang or bloat what runs them: regex time, value size and step budgets.

The ``timeout`` marks only stop a hung run of the old code sooner; nothing here asserts a duration.
"""

import pytest

from provisioning.expressions import (
    Budget,
    EvaluationContext,
    ExpressionBudgetError,
    ExpressionError,
    Limits,
    compile_expression,
    evaluate,
)
from provisioning.mappings.scoping import ScopingClause, ScopingError
from tests.fixtures.expressions import HOSTILE_ADDRESS, REDOS


def times4(inner: str) -> str:
    return f'Replace({inner}, , "(.)", , "$1$1$1$1", , )'


@pytest.mark.timeout(30)
def test_catastrophic_backtracking_is_stopped_with_a_clear_error():
    with pytest.raises(ExpressionBudgetError) as caught:
        evaluate(REDOS, {"streetAddress": HOSTILE_ADDRESS})
    assert caught.value.message == "The regular expression took longer than 250 ms"
    assert isinstance(caught.value, ExpressionError)  # the engine and the tester already handle these
    # the same pattern on ordinary input still works, with .NET replacement syntax
    assert evaluate(REDOS, {"streetAddress": "1 Main St, aaa"}) == "1 Main St, x"


@pytest.mark.timeout(30)
def test_the_regex_budget_is_shared_by_the_whole_evaluation():
    """Each value of a multi-valued attribute doesn't get its own 250 ms."""
    expression = 'Replace([proxyAddresses], , "(a|aa)+$", , "x", , )'
    with pytest.raises(ExpressionBudgetError, match="took longer than 250 ms"):
        evaluate(expression, {"proxyAddresses": [HOSTILE_ADDRESS] * 40})


@pytest.mark.timeout(30)
def test_nested_replace_can_not_multiply_a_string_without_bound():
    expression = times4(times4(times4(times4(times4(times4(times4("[displayName]")))))))
    with pytest.raises(ExpressionBudgetError) as caught:
        evaluate(expression, {"displayName": "Ada Lovelace " * 8})
    assert caught.value.message == (
        "A value is longer than 65,536 characters, the most an expression may build"
    )
    assert caught.value.line == 1 and caught.value.column is not None  # points at the Replace that grew
    assert len(evaluate(times4("[displayName]"), {"displayName": "Ada"})) == 12


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "expression",
    [
        'Replace([displayName], , "a", , "$_", , )',  # every match inserts the whole input
        'Replace([displayName], "a", , , "' + "b" * 500 + '", , )',  # literal replacement
        'Replace([displayName], "a", , , , , "' + "[a]" * 600 + '")',  # template
        'Join("", [displayName], [displayName], [displayName], [displayName])',
    ],
)
def test_one_function_call_can_not_build_a_huge_value(expression):
    with pytest.raises(ExpressionBudgetError, match="longer than 65,536 characters"):
        evaluate(expression, {"displayName": "a" * 20_000})


def test_the_step_budget_counts_calls_and_values():
    compiled = compile_expression("ToUpper(ToLower([proxyAddresses]))")
    context = EvaluationContext(source={"proxyAddresses": [f"smtp:u{i}@contoso.test" for i in range(50)]})
    assert len(compiled.evaluate(context, Budget(Limits(max_steps=200)))) == 50
    with pytest.raises(ExpressionBudgetError) as caught:
        compiled.evaluate(context, Budget(Limits(max_steps=60)))
    assert caught.value.message == "The expression took more than 60 steps"


def test_limits_come_from_settings(settings):
    from provisioning.apps import ProvisioningConfig
    from provisioning.expressions import budget

    settings.EXPRESSION_MAX_VALUE_LENGTH = 10
    try:
        ProvisioningConfig.ready(ProvisioningConfig.__new__(ProvisioningConfig))
        with pytest.raises(ExpressionBudgetError, match="longer than 10 characters"):
            evaluate('Append([displayName], "0123456789")', {"displayName": "Ada"})
    finally:
        budget.configure(Limits())


@pytest.mark.timeout(30)
def test_a_regex_match_scoping_clause_is_time_limited_too():
    clause = ScopingClause("streetAddress", "REGEX MATCH", "(a+)+$")
    with pytest.raises(ScopingError, match="took longer than 250 ms"):
        clause.matches({"streetAddress": HOSTILE_ADDRESS})
    assert clause.matches({"streetAddress": "aaa"})
