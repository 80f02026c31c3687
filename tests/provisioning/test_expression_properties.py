"""Property tests: whatever an admin types, the expression engine answers with a value or an
ExpressionError -- never another exception, never a hang."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.expressions import FUNCTIONS, IGNORE, EvaluationContext, ExpressionError, evaluate
from provisioning.expressions.dotnet_dates import format_datetime, parse_exact

SETTINGS = settings(
    max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
VALUE_SETTINGS = settings(SETTINGS, max_examples=100)

SOURCE = {
    "givenName": "Zoë",
    "surname": "O'Neil",
    "empty": "",
    "nothing": None,
    "flag": True,
    "count": 42,
    "date": datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
    "dateText": "2021-03-04T05:06:07Z",
    "proxyAddresses": ["SMTP:a@x", "smtp:b@x"],
    "appRoleAssignments": [{"id": "1", "value": "Admin", "displayName": "Admin"}],
}
ATTRIBUTES = [*SOURCE, "missing", "IsSoftDeleted"]
CONTEXT = EvaluationContext(
    source=SOURCE,
    is_unique=lambda value: len(value) % 2 == 0,
    now=lambda: datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
)
RESULT_TYPES = (str, bool, int, float, list, type(None), type(IGNORE))


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def outcome(expression: str) -> object:
    """Evaluate, turning the one allowed exception family into a marker."""
    try:
        return evaluate(expression, CONTEXT)
    except ExpressionError as error:
        assert error.message
        if error.position is not None:
            assert 0 <= error.position <= len(expression)
            assert error.line is not None and error.column is not None
        return error


@SETTINGS
@given(st.text(max_size=120))
def test_arbitrary_text_gives_a_value_or_an_expression_error(text):
    result = outcome(text)
    assert isinstance(result, (ExpressionError, *RESULT_TYPES))


@SETTINGS
@given(st.text(alphabet='[]()",&H=<>\\ 0123456789abcJoinLeftIIF', max_size=80))
def test_punctuation_heavy_text_gives_a_value_or_an_expression_error(text):
    assert isinstance(outcome(text), (ExpressionError, *RESULT_TYPES))


# ------------------------------------------------------------------------- grammar-shaped expressions

short_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
leaves = st.one_of(
    st.sampled_from(ATTRIBUTES).map(lambda name: f"[{name}]"),
    short_text.map(quote),
    st.sampled_from(['"d"', '"m"', '"yyyy"', '"ww"', '"yyyy-MM-dd"', '"vbTextCompare"', '"tr-TR"', '"(a)"']),
    st.integers(min_value=-400, max_value=400).map(str),
    st.integers(min_value=0, max_value=2**32).map(lambda n: f"&H{n:X}"),
    st.sampled_from(["True", "False", "vbTextCompare", "vbBinaryCompare"]),
)
FUNCTION_NAMES = sorted(FUNCTIONS)


def calls(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    argument = st.one_of(children, st.just(""))  # "" is an empty (skipped) argument
    call = st.builds(
        lambda name, args: f"{name}({', '.join(args)})",
        st.sampled_from(FUNCTION_NAMES),
        st.lists(argument, max_size=7),
    )
    condition = st.builds(
        lambda left, op, right, a, b: f"IIF({left} {op} {right}, {a}, {b})",
        children,
        st.sampled_from(["=", "<>", "<", "<=", ">", ">="]),
        children,
        children,
        children,
    )
    return st.one_of(call, condition)


def well_formed_calls(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Calls with an argument count the function accepts, so evaluation (not just checking) runs."""

    def with_arity(name: str) -> st.SearchStrategy[str]:
        spec = FUNCTIONS[name]
        most = spec.max_args if spec.max_args is not None else spec.min_args + 4
        argument = st.one_of(children, children, st.just(""))
        return st.integers(spec.min_args, most).flatmap(
            lambda n: st.lists(argument, min_size=n, max_size=n).map(
                lambda args: f"{name}({', '.join(args)})"
            )
        )

    return st.sampled_from(FUNCTION_NAMES).flatmap(with_arity)


expressions = st.one_of(
    st.recursive(leaves, calls, max_leaves=12), st.recursive(leaves, well_formed_calls, max_leaves=10)
)


@SETTINGS
@given(expressions)
def test_generated_expressions_give_a_value_or_an_expression_error(expression):
    result = outcome(expression)
    assert isinstance(result, (ExpressionError, *RESULT_TYPES)), (expression, result)


@SETTINGS
@given(st.sampled_from(FUNCTION_NAMES), st.lists(leaves, max_size=7))
def test_every_function_with_any_literal_arguments(name, args):
    result = outcome(f"{name}({', '.join(args)})")
    assert isinstance(result, (ExpressionError, *RESULT_TYPES))


# ---------------------------------------------------------------------------------- value properties


@VALUE_SETTINGS
@given(st.text(max_size=60))
def test_string_literals_round_trip(text):
    assert evaluate(quote(text), {}) == text


@VALUE_SETTINGS
@given(st.lists(st.text(max_size=8), max_size=6), st.text(max_size=3))
def test_join_equals_python_join_of_the_non_empty_values(values, separator):
    expected = separator.join(v for v in values if v)
    assert evaluate(f"Join({quote(separator)}, [values])", {"values": values}) == expected


@VALUE_SETTINGS
@given(st.text(max_size=30))
def test_case_functions_keep_length_and_are_idempotent(text):
    lower = evaluate("ToLower([s])", {"s": text})
    upper = evaluate("ToUpper([s])", {"s": text})
    assert len(lower) == len(text) == len(upper)
    assert evaluate("ToLower([s])", {"s": lower}) == lower


@VALUE_SETTINGS
@given(st.text(alphabet="aeiouAEIOUçñÅØæßéèêëüöäÿ -", max_size=30))
def test_normalize_diacritics_of_latin_text_is_ascii(text):
    assert evaluate("NormalizeDiacritics([s])", {"s": text}).isascii()


@VALUE_SETTINGS
@given(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)),
    st.sampled_from(
        [
            "yyyy-MM-dd HH:mm:ss",
            "M/d/yyyy h:mm:ss tt",
            "yyyyMMddHHmmss.fffffffZ",
            "dd MMMM yyyy HH:mm:ss.FFF",
            "ddd, dd MMM yyyy hh:mm:ss tt",
        ]
    ),
)
def test_format_then_parse_round_trips(moment, fmt):
    text = format_datetime(moment, fmt)
    parsed = parse_exact(text, fmt)
    assert format_datetime(parsed, fmt) == text
