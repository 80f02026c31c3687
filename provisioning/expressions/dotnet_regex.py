""".NET regular expressions on the ``regex`` package: pattern and replacement-string translation.

Entra documents its regexes in .NET syntax (``(?<isdCode>\\d* )``, ``${phoneNumber}``), and admins
paste patterns from those docs into Replace and into REGEX MATCH scoping clauses. Python's ``re``
spells a few constructs differently; this module rewrites those and reports what it can't express.
Compiled patterns are cached: the same few patterns run for every user in a cycle.

Patterns run on the ``regex`` package (in its ``re``-compatible VERSION0 mode) because it can stop a
match after a timeout: ``search`` and ``sub`` here spend the current evaluation's budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import regex as timed_re

from provisioning.messages import Message, gettext_noop

from .budget import current
from .errors import InvalidRegexError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


def translate_pattern(pattern: str) -> str:
    r"""Rewrite .NET-only syntax: ``(?<n>``/``(?'n'`` groups, ``\k<n>``, ``\z``/``\Z``, ``\p{..}``."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "k" and i + 2 < n and pattern[i + 2] in "<'":
                close = ">" if pattern[i + 2] == "<" else "'"
                end = pattern.find(close, i + 3)
                if end < 0:
                    raise InvalidRegexError(
                        Message(
                            gettext_noop("Unterminated \\k group reference in %(pattern)s"),
                            pattern=repr(pattern),
                        )
                    )
                name = pattern[i + 3 : end]
                out.append(f"(?P={name})" if not name.isdigit() else f"\\{name}")
                i = end + 1
                continue
            if nxt in "pP" and not in_class:
                raise InvalidRegexError(
                    Message(gettext_noop("Unicode categories (\\p{...}) are not supported in patterns"))
                )
            if nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z" and not in_class:
                out.append(r"(?=\n?\Z)")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "-" and pattern.startswith("-[", i):
                raise InvalidRegexError(
                    Message(gettext_noop("Character class subtraction ([a-z-[aeiou]]) is not supported"))
                )
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ']' is literal in both dialects
                out.append("]")
                i += 1
            continue
        named = pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!"  # not a lookbehind
        if ch == "(" and (named or pattern.startswith("(?'", i)):
            end = pattern.find(">" if named else "'", i + 3)
            name = pattern[i + 3 : end] if end > 0 else ""
            if not _NAME.fullmatch(name):
                raise InvalidRegexError(
                    Message(gettext_noop("Invalid group name in %(pattern)s"), pattern=repr(pattern))
                )
            out.append(f"(?P<{name}>" if not name.isdigit() else "(")
            i = end + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


Pattern = timed_re.Pattern
Match = timed_re.Match


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Pattern:
    """Compile a .NET-syntax pattern (case-sensitive, like Entra) or raise ``InvalidRegexError``."""
    translated = translate_pattern(pattern)
    try:
        re.compile(translated)  # the standard library's messages point at the problem best
        return timed_re.compile(translated, timed_re.VERSION0)
    except (re.error, timed_re.error, OverflowError, RecursionError, ValueError) as error:
        raise InvalidRegexError(
            Message(
                gettext_noop("Invalid regular expression %(pattern)s: %(error)s"),
                pattern=repr(pattern),
                error=error,
            )
        ) from None


def search(regex: Pattern, text: str) -> Match | None:
    """``regex.search(text)`` within the evaluation's regex time budget."""
    return current().run_regex(regex.search, text)


def sub(regex: Pattern, expand: Callable[[Match], str], text: str) -> str:
    """``regex.sub(expand, text)`` within the time budget, refusing a result over the size cap."""
    budget = current()
    room = budget.limits.max_value_length - len(text)
    if room < 0:
        raise budget.too_long()

    def counted(match: Match) -> str:
        nonlocal room
        out = expand(match)
        room -= len(out) - (match.end() - match.start())
        if room < 0:  # stop now: one substitution with $_ could otherwise build gigabytes
            raise budget.too_long()
        return out

    return budget.run_regex(regex.sub, counted, text)


Expander = Callable[[Match], str]


@lru_cache(maxsize=512)
def compile_replacement(replacement: str, regex: Pattern) -> Expander:
    r""".NET substitutions: ``$1``, ``${name}``, ``$$``, ``$&``, ``$0``, ``$` ``, ``$'``, ``$+``, ``$_``.

    References to groups the pattern does not have are left as written, as .NET does.
    """
    pieces: list[str | Callable[[Match], str]] = []
    literal: list[str] = []
    i, n = 0, len(replacement)

    def group_ref(key: int | str) -> Callable[[Match], str]:
        return lambda m: m.group(key) or ""

    while i < n:
        ch = replacement[i]
        if ch != "$" or i + 1 >= n:
            literal.append(ch)
            i += 1
            continue
        nxt = replacement[i + 1]
        piece: Callable[[Match], str] | str | None = None
        consumed = 2
        if nxt == "$":
            piece = "$"
        elif nxt in "&0":
            piece = group_ref(0)
        elif nxt == "`":
            piece = lambda m: m.string[: m.start()]  # noqa: E731
        elif nxt == "'":
            piece = lambda m: m.string[m.end() :]  # noqa: E731
        elif nxt == "_":
            piece = lambda m: m.string  # noqa: E731
        elif nxt == "+":
            last = regex.groups
            piece = group_ref(last) if last else ""
        elif nxt == "{":
            end = replacement.find("}", i + 2)
            name = replacement[i + 2 : end] if end > 0 else ""
            if name.isdigit() and int(name) <= regex.groups:
                piece, consumed = group_ref(int(name)), end - i + 1
            elif name in regex.groupindex:
                piece, consumed = group_ref(name), end - i + 1
        elif nxt.isdigit():
            j = i + 1
            while j < n and replacement[j].isdigit():
                j += 1
            # .NET takes the longest run of digits that names an existing group
            for k in range(j, i + 1, -1):
                number = int(replacement[i + 1 : k])
                if number <= regex.groups:
                    piece, consumed = group_ref(number), k - i
                    break
        if piece is None:
            literal.append(ch)
            i += 1
            continue
        if literal:
            pieces.append("".join(literal))
            literal = []
        pieces.append(piece)
        i += consumed
    if literal:
        pieces.append("".join(literal))
    if all(isinstance(p, str) for p in pieces):
        constant = "".join(pieces)  # type: ignore[arg-type]
        return lambda m: constant
    return lambda m: "".join(p if isinstance(p, str) else p(m) for p in pieces)
