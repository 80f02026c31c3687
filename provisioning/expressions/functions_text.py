"""String functions: Append, Join, Left, Mid, Word, InStr, PCase, ToLower/ToUpper, Split, Replace...

String transforms accept multi-valued values too and then apply to each value; a null source stays
null unless Entra documents otherwise (Left and Word return an empty string for null).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any

from provisioning.messages import Message, gettext_noop

from . import dotnet_regex
from .budget import current
from .diacritics import normalize_diacritics
from .dotnet_regex import Match, Pattern, compile_regex, compile_replacement
from .errors import ArgumentTypeError, InvalidRegexError
from .nodes import Call, Empty
from .registry import Thunk, check_literal, function, int_params, literal_text
from .values import first, is_null_or_empty, to_int, to_str, to_text


def map_text(value: Any, transform: Callable[[str], Any]) -> Any:
    """Apply a ``str -> value`` transform to one value or to every value of a multi-valued one."""
    if value.__class__ is str:
        return transform(value)
    if value is None:
        return None
    if isinstance(value, list):
        current().step(len(value))  # a multi-valued source is one transform per value
        return [transform(to_text(v)) for v in value if v is not None]
    return transform(to_text(value))


def replace_all(text: str, find: str, replacement: str) -> str:
    """``text.replace(find, replacement)``, refused before it is built when it would exceed the size cap."""
    if len(replacement) > len(find):
        budget = current()
        grown = len(text) + text.count(find) * (len(replacement) - len(find))
        if grown > budget.limits.max_value_length:
            raise budget.too_long()
    return text.replace(find, replacement)


def each(transform: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of ``map_text`` for functions whose first parameter is the text."""

    @wraps(transform)
    def apply(value: Any, *rest: Any) -> Any:
        if value.__class__ is str:
            return transform(value, *rest)
        return map_text(value, lambda text: transform(text, *rest))

    return apply


@function("Append", "source, suffix")
@each
def append(source: str, suffix: Any) -> str:
    """Adds the suffix to the end of the source value."""
    return source + to_text(suffix)


@function("ConvertToBase64", "source")
@each
def convert_to_base64(source: str) -> str:
    """Base64 of the value's UTF-16LE bytes (.NET's "Unicode")."""
    return base64.b64encode(source.encode("utf-16-le", "surrogatepass")).decode("ascii")


@function("ConvertToUTF8Hex", "source")
@each
def convert_to_utf8_hex(source: str) -> str:
    """Upper-case hex of the value's UTF-8 bytes."""
    return source.encode("utf-8", "surrogatepass").hex().upper()


@function("CStr", "value")
@each
def cstr(value: str) -> str:
    """Converts a number, Boolean or reference to a string."""
    return value


@function("Join", "separator, source...", min_args=2)
def join(separator: Any, *sources: Any) -> str:
    """Joins the values (every value of multi-valued ones), skipping null and empty ones."""
    parts: list[str] = []
    for source in sources:
        values = source if isinstance(source, list) else (source,)
        for value in values:
            text = to_str(value)
            if text:
                parts.append(text)
    return to_text(separator).join(parts)


@function("Left", "String, NumChars", checks=int_params("Left", 1))
def left(value: Any, count: Any) -> Any:
    """The first NumChars characters; 0 gives "", a negative count gives the whole string."""
    number = to_int(count, "Left", "NumChars")

    def cut(text: str) -> str:
        if number == 0:
            return ""
        return text if number < 0 else text[:number]

    if isinstance(value, list):
        return [cut(to_text(v)) for v in value if v is not None]
    return cut(to_text(value))


@function("Mid", "source, start, length", checks=int_params("Mid", 1, 2))
def mid(source: Any, start: Any, length: Any) -> Any:
    """Substring from the 1-based start, at most length characters."""
    begin = to_int(start, "Mid", "start")
    size = to_int(length, "Mid", "length")
    if begin < 1:
        raise ArgumentTypeError(
            Message(gettext_noop("Mid: start must be 1 or more, got %(begin)s"), begin=begin)
        )
    if size < 0:
        raise ArgumentTypeError(
            Message(gettext_noop("Mid: length can't be negative, got %(size)s"), size=size)
        )
    return map_text(source, lambda text: text[begin - 1 : begin - 1 + size])


@function("NormalizeDiacritics", "source")
@each
def normalize(source: str) -> str:
    """Replaces accented Latin letters with plain ones (Zoë -> Zoe, ß -> ss)."""
    return normalize_diacritics(source)


@function("StripSpaces", "source")
@each
def strip_spaces(source: str) -> str:
    """Removes every space character."""
    return source.replace(" ", "")


@function("Split", "source, delimiter")
def split(source: Any, delimiter: Any) -> list[str] | None:
    """Splits a string into a multi-valued attribute at each delimiter."""
    if source is None:
        return None
    separator = to_text(delimiter)
    values = source if isinstance(source, list) else [source]
    result: list[str] = []
    for value in values:
        text = to_text(value)
        result.extend(text.split(separator) if separator else [text])
    return result


@function("Word", "String, WordNumber, Delimiters", checks=int_params("Word", 1))
def word(value: Any, number: Any, delimiters: Any) -> Any:
    """The WordNumber-th word (1-based) between any of the delimiter characters; "" if there isn't one."""
    index = to_int(number, "Word", "WordNumber")
    chars = to_text(delimiters)

    def pick(text: str) -> str:
        if index < 1 or not text:
            return ""
        words = [w for w in re.split("[" + re.escape(chars) + "]", text) if w] if chars else [text]
        return words[index - 1] if index <= len(words) else ""

    if isinstance(value, list):
        return [pick(to_text(v)) for v in value if v is not None]
    return pick(to_text(value))


_COMPARE = {"vbbinarycompare": False, "vbtextcompare": True, "0": False, "1": True}


def _text_compare(compare: Any) -> bool:
    if compare is None:
        return False
    key = to_text(first(compare)).strip().lower()
    if key not in _COMPARE:
        raise ArgumentTypeError(
            Message(
                gettext_noop('InStr: compareType must be vbTextCompare or vbBinaryCompare, got "%(key)s"'),
                key=key,
            )
        )
    return _COMPARE[key]


def _compare_literal(text: str) -> None:
    _text_compare(text)


@function(
    "InStr",
    "value1, value2, start?, compareType?",
    checks=(*int_params("InStr", 2), check_literal(3, _compare_literal)),
)
def instr(value1: Any, value2: Any, start: Any = None, compare: Any = None) -> int | None:
    """1-based position of value2 in value1 (0 if absent); vbTextCompare ignores case."""
    haystack, needle = to_str(first(value1)), to_str(first(value2))
    begin = 1 if start is None else to_int(start, "InStr", "start")
    ignore_case = _text_compare(compare)
    if haystack is None or needle is None:
        return None
    if begin < 1:
        raise ArgumentTypeError(
            Message(gettext_noop("InStr: start must be 1 or more, got %(begin)s"), begin=begin)
        )
    if begin > len(haystack):
        return 0
    if not needle:
        return begin
    if ignore_case:
        haystack, needle = haystack.lower(), needle.lower()
    return haystack.find(needle, begin - 1) + 1


# ------------------------------------------------------------------------------------------ case rules

_CULTURE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*\Z")
_DOTTED_I = ("tr", "az")  # Turkish and Azerbaijani: dotted and dotless i are distinct letters


def _language(culture: Any, function_name: str) -> str:
    if culture is None:
        return ""
    name = to_text(first(culture)).strip()
    if not name:
        return ""
    if not _CULTURE.match(name):
        raise ArgumentTypeError(
            Message(
                gettext_noop('%(function_name)s: "%(name)s" is not a culture name such as "en-US"'),
                function_name=function_name,
                name=name,
            )
        )
    return name.split("-")[0].split("_")[0].lower()


def _culture_literal(function_name: str) -> Callable[[str], None]:
    return lambda text: _language(text, function_name) and None


def _simple(text: str, convert: Callable[[str], str]) -> str:
    """.NET maps case one character at a time: no 'ß' -> 'SS', no final-sigma rule."""
    converted = convert(text)
    if len(converted) == len(text) and "Σ" not in text:
        return converted
    out = []
    for ch in text:
        mapped = convert(ch)
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def lower(text: str, language: str = "") -> str:
    if text.isascii() and language not in _DOTTED_I:
        return text.lower()
    if language in _DOTTED_I:
        text = text.replace("I", "\u0131").replace("İ", "i")
    return _simple(text, str.lower)


def upper(text: str, language: str = "") -> str:
    if text.isascii() and language not in _DOTTED_I:
        return text.upper()
    if language in _DOTTED_I:
        text = text.replace("i", "İ")
    return _simple(text, str.upper)


@function("ToLower", "source, culture?", checks=(check_literal(1, _culture_literal("ToLower")),))
def to_lower(source: Any, culture: Any = None) -> Any:
    """Lower-cases the value, with the culture's rules (invariant by default)."""
    language = _language(culture, "ToLower")
    return map_text(source, lambda text: lower(text, language))


@function("ToUpper", "source, culture?", checks=(check_literal(1, _culture_literal("ToUpper")),))
def to_upper(source: Any, culture: Any = None) -> Any:
    """Upper-cases the value, with the culture's rules (invariant by default)."""
    language = _language(culture, "ToUpper")
    return map_text(source, lambda text: upper(text, language))


# .NET ToTitleCase's word separators, by Unicode category (listed in Entra's PCase remarks)
_SEPARATOR_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)
_ASCII_SEPARATORS = frozenset(
    chr(c) for c in range(128) if unicodedata.category(chr(c)) in _SEPARATOR_CATEGORIES
)


def _default_separator(ch: str) -> bool:
    if ch < "\x80":
        return ch in _ASCII_SEPARATORS
    return unicodedata.category(ch) in _SEPARATOR_CATEGORIES


def proper_case(text: str, separators: str | None = None) -> str:
    is_separator = _default_separator if separators is None else separators.__contains__
    out: list[str] = []
    word_start = True
    for ch in text:
        if is_separator(ch):
            out.append(ch)
            word_start = True
        elif word_start:
            title = ch.title()
            out.append(title if len(title) == 1 else ch)
            word_start = False
        else:
            low = ch.lower()
            out.append(low if len(low) == 1 else ch)
    return "".join(out)


@function("PCase", "source, wordSeparators?")
def pcase(source: Any, separators: Any = None) -> Any:
    """Proper case: first letter of each word upper, the rest lower."""
    chars = None if separators is None else to_text(first(separators))
    return map_text(source, lambda text: proper_case(text, chars or None))


# ---------------------------------------------------------------------------------------------- Replace

_REPLACE_PARAMS = "source, oldValue?, regexPattern?, regexGroupName?, replacementValue?, replacementAttributeName?, template?"


def _replace_mode(call: Call) -> str:
    """Which of Replace's five documented behaviours the supplied arguments select."""
    given = [not isinstance(arg, Empty) for arg in call.args]
    _, old, pattern, group, value, attribute, template = given
    if pattern:
        if group and attribute:
            return "regex-group-from-attribute"
        if group:
            if not value:
                raise ArgumentTypeError(
                    Message(
                        gettext_noop(
                            "Replace: regexGroupName needs replacementValue or replacementAttributeName"
                        )
                    ),
                    call.pos,
                )
            return "regex-group"
        if not value:
            raise ArgumentTypeError(
                Message(gettext_noop("Replace: regexPattern needs replacementValue")), call.pos
            )
        return "regex"
    if old:
        if template:
            return "template"
        if not value:
            raise ArgumentTypeError(
                Message(gettext_noop("Replace: oldValue needs replacementValue or template")), call.pos
            )
        return "literal"
    raise ArgumentTypeError(Message(gettext_noop("Replace: give oldValue or regexPattern")), call.pos)


def _check_replace(call: Call) -> None:
    mode = _replace_mode(call)
    pattern_text = literal_text(call.args[2])
    if pattern_text is not None:
        try:
            regex = compile_regex(pattern_text)
        except InvalidRegexError as error:
            error.position = call.args[2].pos
            raise
        group = literal_text(call.args[3])
        if mode.startswith("regex-group") and group is not None and not _has_group(regex, group):
            raise ArgumentTypeError(
                Message(gettext_noop('Replace: the pattern has no group named "%(group)s"'), group=group),
                call.args[3].pos,
            )


def _has_group(regex: Pattern, group: str) -> bool:
    return group in regex.groupindex or (group.isdigit() and int(group) <= regex.groups)


def _group_key(regex: Pattern, group: str) -> int | str:
    if group in regex.groupindex:
        return group
    if group.isdigit() and int(group) <= regex.groups:
        return int(group)
    raise InvalidRegexError(
        Message(gettext_noop('Replace: the pattern has no group named "%(group)s"'), group=group)
    )


def _regex_of(value: Any) -> Pattern:
    return compile_regex(to_text(first(value)))


def build_replace(call: Call, args: list[Thunk]) -> Thunk:
    mode = _replace_mode(call)
    source, old, pattern, group, value, attribute, template = args

    if mode == "literal":

        def literal(ctx: Any) -> Any:
            find = to_text(first(old(ctx)))
            if not find:
                return source(ctx)
            replacement = to_text(first(value(ctx)))
            return map_text(source(ctx), lambda text: replace_all(text, find, replacement))

        return literal

    if mode == "template":

        def templated(ctx: Any) -> Any:
            text = to_str(first(source(ctx)))
            form = to_str(first(template(ctx)))
            if text is None or form is None:
                return None
            find = to_text(first(old(ctx)))
            return replace_all(form, find, text) if find else form

        return templated

    if mode == "regex":

        def regex_replace(ctx: Any) -> Any:
            regex = _regex_of(pattern(ctx))
            expand = compile_replacement(to_text(first(value(ctx))), regex)
            return map_text(source(ctx), lambda text: dotnet_regex.sub(regex, expand, text))

        return regex_replace

    if mode == "regex-group":

        def group_replace(ctx: Any) -> Any:
            regex = _regex_of(pattern(ctx))
            key = _group_key(regex, to_text(first(group(ctx))))
            replacement = to_text(first(value(ctx)))

            def swap(match: Match) -> str:
                start, end = match.span(key)
                if start < 0:
                    return match.group(0)
                offset = match.start()
                whole = match.group(0)
                return whole[: start - offset] + replacement + whole[end - offset :]

            return map_text(source(ctx), lambda text: dotnet_regex.sub(regex, swap, text))

        return group_replace

    def from_attribute(ctx: Any) -> Any:
        current = source(ctx)
        if not is_null_or_empty(current):
            return current
        other = to_str(first(attribute(ctx)))
        if other is None:
            return None
        regex = _regex_of(pattern(ctx))
        match = dotnet_regex.search(regex, other)
        if match is None:
            return None
        return match.group(_group_key(regex, to_text(first(group(ctx)))))

    return from_attribute


@function("Replace", _REPLACE_PARAMS, min_args=7, build=build_replace, checks=(_check_replace,))
def replace() -> None:
    """Replaces text literally, by regex (with .NET group syntax), or fills a template."""
