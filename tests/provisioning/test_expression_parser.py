"""Syntax, static checks and error positions of the expression language."""

from __future__ import annotations

import pytest

from provisioning.expressions import (
    FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    ArgumentCountError,
    ArgumentTypeError,
    ExpressionError,
    ExpressionSyntaxError,
    InvalidDateError,
    InvalidRegexError,
    UnknownFunctionError,
    compile_expression,
    evaluate,
    parse,
    validate,
)
from provisioning.expressions.nodes import (
    Attribute,
    Boolean,
    Call,
    Comparison,
    Empty,
    Keyword,
    Number,
    String,
)

# ----------------------------------------------------------------------------------------- syntax


def test_attribute_string_number_and_nested_call():
    tree = parse('Join(" ", [givenName], Mid([surname], 1, 8))')
    assert isinstance(tree, Call) and tree.name == "Join"
    separator, given, mid = tree.args
    assert separator == String(" ", 5, 8)
    assert given == Attribute("givenName", 10, 21)
    assert isinstance(mid, Call) and mid.args[1] == Number(1, 38, 39)
    assert tree.depth == 2


def test_string_escapes():
    assert parse(r'"Company name: \"Contoso\""').value == 'Company name: "Contoso"'
    assert parse(r'"a\\b"').value == "a\\b"
    assert parse(r'"\\+(?<isdCode>\\d* )"').value == r"\+(?<isdCode>\d* )"
    assert parse(r'"keep \d as written"').value == r"keep \d as written"


def test_numbers_hex_and_negative():
    assert parse("&HF").value == 15
    assert parse("&hf7").value == 247
    assert parse("-10").value == -10
    assert parse("1.5").value == 1.5


def test_empty_positional_arguments():
    tree = parse('Replace([x], "a", , , "b", , )')
    kinds = [type(arg) for arg in tree.args]
    assert kinds == [Attribute, String, Empty, Empty, String, Empty, Empty]
    assert tree.args[2].pos == 17


def test_call_without_arguments_and_with_one_empty_argument():
    assert parse("Guid()").args == ()
    assert len(parse("Guid(,)").args) == 2


def test_comparison_inside_iif():
    tree = parse('IIF([country] <> "USA", "x", "y")')
    condition = tree.args[0]
    assert isinstance(condition, Comparison) and condition.op == "<>"
    for op in ("=", "<>", ">", ">=", "<", "<="):
        assert parse(f"IIF([a] {op} 1, 1, 2)").args[0].op == op


def test_booleans_and_keywords_and_whitespace():
    tree = parse('InStr("a", "b", 1, vbTextCompare)')
    assert tree.args[3] == Keyword("vbTextCompare", 19, 32)
    assert parse("True") == Boolean(True, 0, 4)
    multiline = parse("SelectUniqueValue(\n    [a],\n\t[b]\n)")
    assert [arg.name for arg in multiline.args] == ["a", "b"]


def test_attribute_names_with_punctuation():
    assert parse("[extension_8ac9_costCenter]").name == "extension_8ac9_costCenter"
    assert parse("[Facsimile-TelephoneNumber]").name == "Facsimile-TelephoneNumber"


def test_attribute_lookup_is_case_insensitive_but_exact_spelling_wins():
    assert evaluate("[DisplayName]", {"displayName": "Ann"}) == "Ann"
    assert evaluate("[a]", {"a": "lower", "A": "upper"}) == "lower"
    assert evaluate("[missing]", {}) is None


def test_parse_results_are_cached():
    assert parse("Guid()") is parse("Guid()")
    assert compile_expression('ToLower("A")') is compile_expression('ToLower("A")')


def test_compiled_expression_reports_attributes_and_functions():
    compiled = compile_expression('Join(" ", [givenName], ToLower([Surname]), [GIVENNAME])')
    assert compiled.attributes == ("givenName", "Surname")
    assert compiled.functions == frozenset({"Join", "ToLower"})
    assert compiled.top_level_function == "Join"


# ---------------------------------------------------------------------------------- syntax errors


def error_for(expression: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        validate(expression)
    return caught.value


@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ('Join(" ", "abc)', 10, "Unclosed string constant"),
        ('Join(" ", [abc)', 10, "Unclosed attribute reference"),
        ('Join("a" "b")', 9, "Unexpected"),
        ('Join("a",', 9, "Unexpected end of expression"),
        ("Join('a')", 5, "single quote"),
        ("[a] = [b]", 4, "Comparison"),
        ('IIF([a] = [b] = [c], "x", "y")', 14, "Unexpected '='"),
        ("Join(#)", 5, "Unexpected character '#'"),
        ("[]", 0, "Empty attribute name"),
        ("   ", 0, "empty"),
        ("Left([a], 99999999999999999999)", 10, "out of range"),
        ("BitAnd(&H1FFFFFFFFFFFFFFFF, 1)", 7, "out of range"),
    ],
)
def test_syntax_errors_are_positioned(expression, position, fragment):
    error = error_for(expression)
    assert isinstance(error, ExpressionSyntaxError)
    assert error.position == position
    assert fragment in error.message


def test_error_line_and_column_on_multi_line_expressions():
    error = error_for('Join(" ",\n  [a],\n  "unclosed)')
    assert (error.line, error.column) == (3, 3)
    assert error.position == 19
    assert "line 3, column 3" in str(error)


def test_maximum_length_is_ten_thousand_characters():
    long_ok = "Join(" + ", ".join(['"x"'] * 1999) + ")"
    assert len(long_ok) <= MAX_EXPRESSION_LENGTH
    validate(long_ok)
    error = error_for('"' + "x" * MAX_EXPRESSION_LENGTH + '"')
    assert isinstance(error, ExpressionSyntaxError)
    assert "10000" in error.message


def test_deep_nesting_is_refused_instead_of_overflowing_the_stack():
    error = error_for("Not(" * 150 + "[a]" + ")" * 150)
    assert "nested too deeply" in error.message
    assert evaluate("Not(" * 99 + "[a]" + ")" * 99, {"a": True}) is False


@pytest.mark.parametrize("value", [None, 42, ["Guid()"]])
def test_non_text_expression_is_an_error(value):
    with pytest.raises(ExpressionSyntaxError, match="must be text"):
        parse(value)
    with pytest.raises(ExpressionSyntaxError, match="must be text"):
        compile_expression(value)


# ---------------------------------------------------------------------------------- static checks


@pytest.mark.parametrize(
    ("expression", "suggestion"),
    [
        ('join(",", [a])', "Join"),
        ('Joinn(",", [a])', "Join"),
        ("Toupper([a])", "ToUpper"),
        ("Frobnicate()", None),
    ],
)
def test_unknown_function_is_case_sensitive_and_suggests(expression, suggestion):
    error = error_for(expression)
    assert isinstance(error, UnknownFunctionError)
    assert error.suggestion == suggestion
    assert error.position == 0
    if suggestion:
        assert f"did you mean '{suggestion}'" in error.message


def test_unknown_nested_function_is_positioned_at_its_name():
    error = error_for('Join(",", Lft([a], 2))')
    assert error.position == 10
    assert error.suggestion == "Left"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Append([a])", "Append expects 2 arguments, got 1 argument"),
        ("Guid(1)", "Guid expects no arguments, got 1"),
        ('Join(",")', "Join expects at least 2 arguments, got 1"),
        ('Switch([a], "d", "k")', "Switch expects at least 4 arguments (an even number), got 3"),
        ('Switch([a], "d", "k", "v", "k2")', "an even number"),
        ('InStr("a")', "InStr expects 2 to 4 arguments, got 1"),
        ('Replace([a], "x", "y")', "Replace expects 7 arguments, got 3"),
        ("SelectUniqueValue([a])", "SelectUniqueValue expects at least 2 arguments, got 1"),
    ],
)
def test_wrong_argument_count_names_the_function_and_the_expected_count(expression, expected):
    error = error_for(expression)
    assert isinstance(error, ArgumentCountError)
    assert expected in error.message


def test_required_argument_left_empty():
    error = error_for('Append(, "x")')
    assert isinstance(error, ArgumentTypeError)
    assert "source is required" in error.message
    assert error.position == 7


@pytest.mark.parametrize(
    ("expression", "error_type", "position", "fragment"),
    [
        ('Mid([a], "one", 2)', ArgumentTypeError, 9, "start must be a whole number"),
        ('Left([a], "x")', ArgumentTypeError, 10, "NumChars"),
        ('DateAdd("days", 1, Now())', ArgumentTypeError, 8, "interval"),
        ('InStr("a", "b", 1, "vbSomething")', ArgumentTypeError, 19, "compareType"),
        ('ToLower([a], "english please")', ArgumentTypeError, 13, "culture"),
        ('Replace([a], , "(unclosed", , "", , )', InvalidRegexError, 15, "Invalid regular expression"),
        ('Replace([a], , "(?<x>a)", "y", "", , )', ArgumentTypeError, 26, "no group named"),
        ('Replace([a], , , , "", , )', ArgumentTypeError, 0, "oldValue or regexPattern"),
        ('Replace([a], "x", , , , , )', ArgumentTypeError, 0, "replacementValue or template"),
        ('FormatDateTime([a], , "yyyy\'", "yyyy")', InvalidDateError, 22, "inputFormat"),
        ('FormatDateTime([a], "Sideways", "yyyy", "yyyy")', InvalidDateError, 20, "dateTimeStyles"),
        ('Join(",", SelectUniqueValue([a], [b]))', ArgumentTypeError, 10, "can't be nested"),
        ('IIF(SelectUniqueValue([a], [b]) = "x", 1, 2)', ArgumentTypeError, 4, "can't be nested"),
        ('Not([a] = "x")', ExpressionSyntaxError, 8, "Comparison operators"),
        ('Join(",", foo)', ExpressionSyntaxError, 10, "double quotes"),
        ('Join(",", Guid)', ExpressionSyntaxError, 10, "call it with parentheses"),
    ],
)
def test_statically_knowable_argument_errors(expression, error_type, position, fragment):
    error = error_for(expression)
    assert isinstance(error, error_type)
    assert error.position == position
    assert fragment in error.message


def test_validate_accepts_every_documented_expression():
    documented = [
        'Append([userPrincipalName], ".test")',
        "BitAnd(&HF, &HF7)",
        "CBool([attribute1] = [attribute2])",
        'DateAdd("d", 7, CDate([StatusHireDate]))',
        'DateDiff("d", Now(), CDate([StatusHireDate]))',
        'Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")',
        'FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")',
        'InStr("repEated","e",3,vbBinaryCompare)',
        'Replace([telephoneNumber], , "\\\\+(?<isdCode>\\\\d* )(?<phoneNumber>\\\\d{10})", "phoneNumber" , , [mobile], )',
        'Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))',
        "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])",
        'RandomString(10,2,2,2,1,"?,")',
        'Word("This,string!has&many separators",3,",!&#")',
    ]
    for expression in documented:
        assert validate(expression) is None


def test_every_function_has_a_signature_and_summary():
    documented = [
        "Append",
        "AppRoleAssignmentsComplex",
        "AssertiveAppRoleAssignmentsComplex",
        "BitAnd",
        "CBool",
        "CDate",
        "Coalesce",
        "ConvertToBase64",
        "ConvertToUTF8Hex",
        "Count",
        "CStr",
        "DateAdd",
        "DateDiff",
        "DateFromNum",
        "FormatDateTime",
        "Guid",
        "IgnoreFlowIfNullOrEmpty",
        "IIF",
        "InStr",
        "IsNull",
        "IsNullOrEmpty",
        "IsPresent",
        "IsString",
        "Item",
        "Join",
        "Left",
        "Mid",
        "NormalizeDiacritics",
        "Not",
        "Now",
        "NumFromDate",
        "PCase",
        "RandomString",
        "Redact",
        "RemoveDuplicates",
        "Replace",
        "SelectUniqueValue",
        "SingleAppRoleAssignment",
        "Split",
        "StripSpaces",
        "Switch",
        "ToLower",
        "ToUpper",
        "Word",
    ]
    assert sorted(FUNCTIONS) == sorted(documented)
    for name, spec in FUNCTIONS.items():
        assert spec.signature.startswith(name + "(")
        assert spec.summary, name


def test_evaluation_error_carries_the_call_position_and_line():
    with pytest.raises(ArgumentTypeError) as caught:
        evaluate('Join(",",\n  Mid([a], [start], 1))', {"a": "abc", "start": 0})
    assert caught.value.position == 12
    assert (caught.value.line, caught.value.column) == (2, 3)
