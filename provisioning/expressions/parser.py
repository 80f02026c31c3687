"""Text -> expression tree, with Entra's syntax and positioned syntax errors.

The grammar lives in ``grammar.lark``. We use lark's LALR parser with tree-building callbacks run
during the parse (no intermediate lark tree, no recursion), build the parser once per process and
cache parse results per expression string, because the engine evaluates the same handful of
expressions for every user.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from provisioning.messages import Message, gettext_noop

from .errors import ExpressionSyntaxError
from .nodes import (
    Attribute,
    Boolean,
    Call,
    Comparison,
    Empty,
    Keyword,
    Node,
    Number,
    String,
    depth_of,
)

MAX_EXPRESSION_LENGTH = 10_000  # Entra's documented limit (known-issues.md)
MAX_NESTING_DEPTH = 100  # far beyond real mappings; keeps compilation and evaluation off the stack limit
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

_TOKEN_NAMES = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COMP_OP": "a comparison operator",
    "NAME": "a function name",
    "ATTRIBUTE": "an attribute such as [mail]",
    "STRING": 'a string constant in double quotes such as "text"',
    "NUMBER": "a number",
    "HEXNUMBER": "a hex number such as &HF",
    "$END": "the end of the expression",
}


def _unescape(body: str) -> str:
    r"""Resolve ``\"`` and ``\\``; any other backslash is kept as written (regex patterns rely on it)."""
    if "\\" not in body:
        return body
    return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in '"\\' else m.group(0), body)


def _end(token: Token) -> int:
    return token.start_pos + len(token)


class _TreeBuilder(Transformer):
    """Callbacks lark runs as it reduces each rule; they return our ``nodes`` directly."""

    def attribute(self, children: list[Token]) -> Attribute:
        (token,) = children
        name = token[1:-1].strip()
        if not name:
            raise ExpressionSyntaxError(Message(gettext_noop("Empty attribute name '[]'")), token.start_pos)
        return Attribute(name, token.start_pos, _end(token))

    def string(self, children: list[Token]) -> String:
        (token,) = children
        return String(_unescape(token[1:-1]), token.start_pos, _end(token))

    def number(self, children: list[Token]) -> Number:
        (token,) = children
        text = str(token)
        if "." in text:
            value: int | float = float(text)
        else:
            if len(text.lstrip("-")) > 19:
                raise ExpressionSyntaxError(
                    Message(gettext_noop("Number %(text)s... is out of range"), text=text[:24]),
                    token.start_pos,
                )
            value = int(text)
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise ExpressionSyntaxError(
                    Message(gettext_noop("Number %(text)s is out of range"), text=text), token.start_pos
                )
        return Number(value, token.start_pos, _end(token))

    def hexnumber(self, children: list[Token]) -> Number:
        (token,) = children
        digits = token[2:]
        if len(digits.lstrip("0")) > 16:
            raise ExpressionSyntaxError(
                Message(gettext_noop("Hex number %(token)s... is out of range"), token=token[:20]),
                token.start_pos,
            )
        return Number(int(digits, 16), token.start_pos, _end(token))

    def name(self, children: list[Token]) -> Boolean | Keyword:
        (token,) = children
        if token == "True":
            return Boolean(True, token.start_pos, _end(token))
        if token == "False":
            return Boolean(False, token.start_pos, _end(token))
        return Keyword(str(token), token.start_pos, _end(token))

    def comparison(self, children: list) -> Comparison:
        left, op, right = children
        depth = max(depth_of(left), depth_of(right)) + 1
        _check_depth(depth, left.pos)
        return Comparison(str(op), left, right, left.pos, right.end, op.start_pos, depth)

    def arg(self, children: list) -> Node | None:
        return children[0] if children else None

    def arglist(self, children: list) -> list:
        return children

    def call(self, children: list) -> Call:
        name, lpar, items, rpar = children
        args: list[Node] = []
        gap_start = _end(lpar)
        for index, item in enumerate(items):
            if isinstance(item, Token):  # a comma: the next empty argument starts after it
                gap_start = _end(item)
                continue
            if item is None:
                following = items[index + 1] if index + 1 < len(items) else rpar
                item = Empty(gap_start, following.start_pos)
            args.append(item)
        if len(args) == 1 and isinstance(args[0], Empty):
            args = []  # Name() is a call without arguments, not one empty argument
        depth = max((depth_of(a) for a in args), default=0) + 1
        _check_depth(depth, name.start_pos)
        return Call(str(name), tuple(args), name.start_pos, _end(rpar), depth)


def _check_depth(depth: int, position: int) -> None:
    if depth > MAX_NESTING_DEPTH:
        raise ExpressionSyntaxError(
            Message(
                gettext_noop("Expression is nested too deeply (more than %(max_nesting_depth)s levels)"),
                max_nesting_depth=MAX_NESTING_DEPTH,
            ),
            position,
        )


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar, parser="lalr", lexer="contextual", transformer=_TreeBuilder(), maybe_placeholders=False
    )


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of expression"
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"'{text}'"


def _expected(names) -> str:
    described = sorted({_TOKEN_NAMES.get(n, n) for n in names if not n.startswith("__")})
    if not described:
        return ""
    if len(described) == 1:
        return f"; expected {described[0]}"
    return "; expected " + ", ".join(described[:-1]) + " or " + described[-1]


def _syntax_error(error: UnexpectedInput, text: str) -> ExpressionSyntaxError:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream
        char = text[position]
        if char == '"':
            message = "Unclosed string constant: a double quote has no matching closing quote"
        elif char == "[":
            message = "Unclosed attribute reference: '[' has no matching ']' on the same line"
        elif char == "]":
            message = "Unexpected ']' without a matching '['"
        elif char == "'":
            message = "Unexpected single quote; string constants use double quotes"
        else:
            message = f"Unexpected character {char!r}"
        return ExpressionSyntaxError(message, position, expression=text)
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return ExpressionSyntaxError(
                "Unexpected end of expression" + _expected(error.expected), len(text), expression=text
            )
        hint = ""
        if token.type == "COMP_OP":
            hint = " (comparisons are only allowed once, inside an IIF or CBool condition)"
        return ExpressionSyntaxError(
            Message(
                gettext_noop("Unexpected %(describe)s%(expected)s%(hint)s"),
                describe=_describe(token),
                expected=_expected(error.expected),
                hint=hint,
            ),
            token.start_pos,
            expression=text,
        )
    if isinstance(error, UnexpectedEOF):
        return ExpressionSyntaxError(
            "Unexpected end of expression" + _expected(error.expected), len(text), expression=text
        )
    return ExpressionSyntaxError(str(error), None, expression=text)  # pragma: no cover - lark's other errors


def parse(text: str) -> Node:
    """Parse an expression into its tree (syntax only; ``validate`` also checks names and arity)."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(
            Message(gettext_noop("An expression must be text, not %(name)s"), name=type(text).__name__)
        )
    return _parse(text)


@lru_cache(maxsize=2048)
def _parse(text: str) -> Node:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            Message(
                gettext_noop(
                    "Expression is %(count)s characters long; the maximum is %(max_expression_length)s"
                ),
                count=len(text),
                max_expression_length=MAX_EXPRESSION_LENGTH,
            ),
            MAX_EXPRESSION_LENGTH,
            expression=text,
        )
    if not text.strip():
        raise ExpressionSyntaxError(Message(gettext_noop("Expression is empty")), 0, expression=text)
    try:
        return _parser().parse(text)
    except ExpressionSyntaxError as error:
        raise error.locate(text) from None
    except UnexpectedInput as error:
        raise _syntax_error(error, text) from None
