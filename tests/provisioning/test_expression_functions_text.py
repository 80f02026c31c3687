"""String functions, with the examples from Entra's function reference and their edge cases."""

from __future__ import annotations

import pytest

from provisioning.expressions import (
    ArgumentTypeError,
    ExpressionEvaluationError,
    InvalidRegexError,
    evaluate,
)


def ev(expression: str, **source):
    return evaluate(expression, source)


# ---------------------------------------------------------------------------------------------- Append


def test_append_documented_example():
    assert ev('Append([userPrincipalName], ".test")', userPrincipalName="John.Doe@contoso.com") == (
        "John.Doe@contoso.com.test"
    )


def test_append_null_source_stays_null_and_null_suffix_adds_nothing():
    assert ev('Append([missing], ".test")') is None
    assert ev("Append([a], [missing])", a="x") == "x"


def test_append_applies_to_each_value_of_a_multi_valued_attribute():
    assert ev('Append([proxyAddresses], "!")', proxyAddresses=["a", "b"]) == ["a!", "b!"]


# ------------------------------------------------------------------------------------- encodings


def test_convert_to_base64_is_utf16le_like_dotnet_unicode():
    assert ev('ConvertToBase64("Hello world!")') == "SABlAGwAbABvACAAdwBvAHIAbABkACEA"
    assert ev('ConvertToBase64("é")') == "6QA="


def test_convert_to_utf8_hex_is_upper_case_hex_of_utf8():
    assert ev('ConvertToUTF8Hex("Hello world!")') == "48656C6C6F20776F726C6421"
    assert ev('ConvertToUTF8Hex("é")') == "C3A9"
    assert ev("ConvertToUTF8Hex([x])") is None


def test_documented_id_from_object_id_keeps_only_digits_of_the_hex():
    expression = 'Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))'
    result = ev(expression, objectId="00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
    hex_digits = b"00aa00aa-bb11-cc22-dd33-44ee44ee44ee".hex().upper()
    assert result == "1000" + "".join(c for c in hex_digits if c.isdigit())
    assert result.isdigit()


# ------------------------------------------------------------------------------------------- CStr


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "True"), (False, "False"), (42, "42"), ("cn=Joe,dc=contoso,dc=com", "cn=Joe,dc=contoso,dc=com")],
)
def test_cstr_converts_like_dotnet(value, expected):
    assert ev("CStr([v])", v=value) == expected


def test_cstr_of_null_is_null():
    assert ev("CStr([v])") is None


# ------------------------------------------------------------------------------------------- Join


def test_join_skips_empty_and_null_values_like_the_documented_example():
    assert ev('Join(", ", "", [surname], [givenName])', surname="Doe", givenName="John") == "Doe, John"
    assert ev('Join(" ", [givenName], [missing], [surname])', givenName="John", surname="Doe") == "John Doe"


def test_join_expands_multi_valued_attributes():
    assert ev('Join(";", [proxyAddresses], "x")', proxyAddresses=["a", "b"]) == "a;b;x"


def test_join_stringifies_numbers_and_booleans():
    assert ev('Join("-", 1000, True, &HF)') == "1000-True-15"


def test_join_of_nothing_is_an_empty_string():
    assert ev('Join(",", [a], [b])') == ""


def test_join_preserves_unicode():
    assert ev('Join(" ", [a], [b])', a="Zoë", b="李") == "Zoë 李"


# ------------------------------------------------------------------------------------------ Left


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('Left("John Doe", 3)', "Joh"),
        ('Left("John Doe", 0)', ""),
        ('Left("John Doe", -1)', "John Doe"),
        ('Left("Jo", 5)', "Jo"),
        ("Left([missing], 3)", ""),
    ],
)
def test_left_documented_rules(expression, expected):
    assert ev(expression) == expected


def test_left_rejects_a_non_numeric_count_at_evaluation():
    with pytest.raises(ArgumentTypeError, match="NumChars"):
        ev("Left([s], [n])", s="abc", n="three")


# ------------------------------------------------------------------------------------------- Mid


def test_mid_is_one_based_and_stops_at_the_end():
    assert ev('Mid("John", 1, 3)') == "Joh"
    assert ev('Mid("John", 3, 10)') == "hn"
    assert ev('Mid("John", 9, 2)') == ""
    assert ev("Mid([missing], 1, 2)") is None


def test_documented_alias_from_first_and_last_name():
    assert (
        ev("Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))", givenName="John", surname="Doe")
        == "JohDoe"
    )


def test_mid_rejects_start_below_one():
    with pytest.raises(ArgumentTypeError, match="start must be 1 or more"):
        ev("Mid([s], [start], 1)", s="abc", start=0)


# --------------------------------------------------------------------------------- NormalizeDiacritics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zoë", "Zoe"),
        ("Jéssica Smith", "Jessica Smith"),
        ("Ångström", "Angstrom"),
        ("Æsir ǣ", "AEsir ae"),
        ("Søren Ø", "Soeren OE"),
        ("Straße", "Strasse"),
        ("Łukasz łódź", "Lukasz lodz"),
        ("\u0131 İ", "i I"),  # dotless i
        ("Dvořák Ťř", "Dvorak Tr"),
        ("ā́ ǟ e̊̄ ṳ̄", "a a e u"),  # combined marks from the documented table
        ("plain", "plain"),
    ],
)
def test_normalize_diacritics_follows_the_documented_table(text, expected):
    assert ev("NormalizeDiacritics([s])", s=text) == expected


def test_normalize_diacritics_leaves_non_latin_scripts_alone():
    assert ev("NormalizeDiacritics([s])", s="Йорк 東京") == "Йорк 東京"


# ------------------------------------------------------------------------------------------ PCase


def test_pcase_documented_examples():
    assert ev("PCase([firstName])", firstName="PABLO GONSALVES (SECOND)") == "Pablo Gonsalves (Second)"
    assert ev('PCase([lastName], " \'-")', lastName="PINTO-DE'SILVA") == "Pinto-De'Silva"
    assert (
        ev('PCase(Join(" ", [firstName], [lastName]))', firstName="GREGORY", lastName="JAMES")
        == "Gregory James"
    )


def test_pcase_with_explicit_separators_ignores_other_punctuation():
    assert ev('PCase([s], " ")', s="o'neil mc-donald") == "O'neil Mc-donald"


def test_pcase_does_not_capitalise_after_a_digit():
    assert ev("PCase([s])", s="3RD floor") == "3rd Floor"


# --------------------------------------------------------------------------------------- Replace


def test_replace_old_value_with_replacement_value():
    expression = 'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )'
    assert ev(expression, BusinessTitle="Product Developer") == "Software Engineer"
    assert ev(expression, BusinessTitle="Senior Product Developer") == "Senior Software Engineer"


def test_replace_is_case_sensitive():
    assert ev('Replace([s], "a", , , "x", , )', s="aA") == "xA"


def test_replace_strips_a_known_domain():
    assert ev('Replace([mail], "@contoso.com", , ,"", ,)', mail="john.doe@contoso.com") == "john.doe"


def test_replace_template():
    expression = 'Replace([UserID],"<username>", , , , , "<username>@contoso.com")'
    assert ev(expression, UserID="jsmith") == "jsmith@contoso.com"


def test_replace_regex_with_named_group_substitution():
    expression = (
        r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )'
    )
    assert ev(expression, telephoneNumber="+91 9998887777") == "9998887777"


def test_replace_regex_removes_characters():
    # The documented output omits the "+", but the pattern [()\s-]+ does not match it.
    assert ev(r'Replace([mobile], , "[()\\s-]+", , "", , )', mobile="+1 (999) 888-7777") == "+19998887777"
    assert ev('Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', mailNickname="john_doe72") == "72"


def test_replace_regex_numbered_substitution_and_dollar_escape():
    assert ev(r'Replace([s], , "(\\w+) (\\w+)", , "$2, $1 $$", , )', s="John Smith") == "Smith, John $"


def test_replace_regex_group_replaces_only_the_group():
    expression = r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )'
    assert ev(expression, AddressLineData="545 Tremont Street") == "888 Tremont Street"
    assert ev('Replace([upn], , "(?<Suffix>@(.)*)", "Suffix", "", , )', upn="jsmith@contoso.com") == "jsmith"


def test_replace_regex_group_from_replacement_attribute_when_source_is_empty():
    expression = r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )'
    assert ev(expression, telephoneNumber="", mobile="+91 8887779999") == "8887779999"
    assert ev(expression, mobile="+91 8887779999") == "8887779999"
    assert ev(expression, telephoneNumber="555", mobile="+91 8887779999") == "555"
    assert ev(expression, telephoneNumber="", mobile="no digits") is None


def test_replace_null_source_is_null():
    assert ev('Replace([missing], "a", , , "b", , )') is None


def test_replace_invalid_regex_from_an_attribute_is_an_evaluation_error():
    with pytest.raises(InvalidRegexError) as caught:
        ev('Replace([s], , [pattern], , "", , )', s="abc", pattern="(unclosed")
    assert isinstance(caught.value, ExpressionEvaluationError)
    assert caught.value.position == 0


# ---------------------------------------------------------------------------------- Split / Strip


def test_split_documented_example_keeps_the_space_after_the_delimiter():
    # .NET String.Split does not trim; the reference page shows the second value trimmed.
    assert ev('Split([e], ",")', e="PermissionSetOne, PermissionSetTwo") == [
        "PermissionSetOne",
        " PermissionSetTwo",
    ]


def test_split_null_and_multi_character_delimiter():
    assert ev('Split([e], ",")') is None
    assert ev('Split([e], "::")', e="a::b::c") == ["a", "b", "c"]


def test_strip_spaces_removes_only_spaces():
    assert ev("StripSpaces([s])", s=" a b\tc ") == "ab\tc"


# ------------------------------------------------------------------------------------- case rules


def test_to_lower_documented_upn_example():
    expression = 'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"))'
    assert ev(expression, PreferredFirstName="John", PreferredLastName="Smith") == "john.smith@contoso.com"


def test_case_functions_use_invariant_culture_and_simple_case_mapping():
    assert ev("ToUpper([s])", s="straße") == "STRAßE"  # .NET does not expand ß
    assert ev("ToLower([s])", s="ΟΔΟΣ") == "οδοσ"  # no final-sigma rule
    assert ev("ToUpper([s])", s="istanbul") == "ISTANBUL"


def test_case_functions_with_turkish_culture():
    assert ev('ToUpper([s], "tr-TR")', s="istanbul") == "İSTANBUL"
    assert ev('ToLower([s], "tr-TR")', s="ISPARTA") == "\u0131sparta"  # dotless i


def test_case_functions_reject_a_malformed_culture():
    with pytest.raises(ArgumentTypeError, match="culture"):
        ev("ToLower([s], [c])", s="a", c="not a culture!")


# ------------------------------------------------------------------------------------ Word / InStr


def test_word_documented_examples():
    assert ev('Word("The quick brown fox",3," ")') == "brown"
    assert ev('Word("This,string!has&many separators",3,",!&#")') == "has"


@pytest.mark.parametrize(
    "expression",
    ['Word("a b", 0, " ")', 'Word("a b", 3, " ")', 'Word([missing], 1, " ")', 'Word("", 1, " ")'],
)
def test_word_out_of_range_or_null_is_empty(expression):
    assert ev(expression) == ""


def test_word_ignores_repeated_delimiters():
    assert ev('Word("a  ,b", 2, " ,")') == "b"


def test_instr_documented_examples():
    assert ev('InStr("The quick brown fox","quick")') == 5
    assert ev('InStr("repEated","e",3,vbBinaryCompare)') == 7
    assert ev('InStr("repEated","e",3,vbTextCompare)') == 4


def test_instr_not_found_null_and_start_past_the_end():
    assert ev('InStr("abc","z")') == 0
    assert ev('InStr([missing],"z")') is None
    assert ev('InStr("abc","a",9)') == 0
    assert ev('InStr("abc","",2)') == 2
    assert ev('InStr("ABC","b", , "vbTextCompare")') == 2


def test_item_and_count_and_remove_duplicates_on_multi_valued_values():
    source = {"proxyAddresses": ["SMTP:a@x", "smtp:b@x", "SMTP:a@x"]}
    assert evaluate("Item([proxyAddresses], 1)", source) == "SMTP:a@x"
    assert evaluate("Item([proxyAddresses], 4)", source) is None
    assert evaluate("Count([proxyAddresses])", source) == 3
    assert evaluate("Count([missing])", source) == 0
    assert evaluate("Count([one])", {"one": "x"}) == 1
    assert evaluate("RemoveDuplicates([proxyAddresses])", source) == ["SMTP:a@x", "smtp:b@x"]
