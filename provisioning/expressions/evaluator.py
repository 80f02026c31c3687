"""Check an expression tree and evaluate it against a directory object.

``compile_expression`` walks the tree once: it checks names, arity, argument kinds and where
comparisons appear, then turns every node into a small closure (attribute lookup, literal, function
call). Evaluating is calling the root closure with an ``EvaluationContext`` -- a plain tree
interpreter, no ``eval``/``exec``. Compiled expressions are cached per text because a cycle applies
the same ten expressions to every user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from provisioning.messages import Message, gettext_noop

from .budget import Budget, spend, spending
from .context import EvaluationContext
from .errors import (
    ArgumentTypeError,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    UnknownFunctionError,
)
from .functions import FUNCTIONS, KEYWORDS, suggest, suggest_keyword
from .functions_logic import IgnoreFlow, compare
from .functions_misc import AppRoleList
from .nodes import Attribute, Boolean, Call, Comparison, Empty, Keyword, Node, Number, String, walk
from .parser import parse
from .registry import Thunk
from .values import IGNORE, format_datetime_default

CONDITION_FUNCTIONS = frozenset({"IIF", "CBool"})  # the only places a comparison may appear


def check(tree: Node) -> None:
    """Static checks that need no source object: functions exist, arity, argument kinds, placement."""
    stack: list[tuple[Node, Call | None, int]] = [(tree, None, -1)]
    while stack:
        node, parent, index = stack.pop()
        if isinstance(node, Call):
            spec = FUNCTIONS.get(node.name)
            if spec is None:
                raise UnknownFunctionError(node.name, suggest(node.name), node.pos)
            spec.check_call(node)
            if spec.top_level_only and parent is not None:
                raise ArgumentTypeError(
                    Message(
                        gettext_noop("%(name)s must be the whole expression; it can't be nested"),
                        name=node.name,
                    ),
                    node.pos,
                )
            stack.extend((arg, node, i) for i, arg in reversed(list(enumerate(node.args))))
        elif isinstance(node, Comparison):
            if parent is None or parent.name not in CONDITION_FUNCTIONS or index != 0:
                raise ExpressionSyntaxError(
                    Message(
                        gettext_noop(
                            "Comparison operators can only be used in the condition of IIF or inside CBool"
                        )
                    ),
                    node.op_pos,
                )
            stack.extend(((node.right, parent, -1), (node.left, parent, -1)))
        elif isinstance(node, Keyword) and node.name not in KEYWORDS:
            raise ExpressionSyntaxError(_unknown_name(node.name), node.pos)


def _unknown_name(name: str) -> str:
    if name in FUNCTIONS:
        return f"'{name}' is a function; call it with parentheses: {name}(...)"
    message = f"Unknown name '{name}'; text constants must be in double quotes (\"{name}\")"
    close = suggest_keyword(name) or suggest(name)
    return message + (f"; did you mean '{close}'?" if close else "")


# ---------------------------------------------------------------------------------------- closures


def _none(ctx: Any) -> None:
    return None


def _constant(value: Any) -> Thunk:
    return lambda ctx: value


def _attribute(name: str) -> Thunk:
    folded = name.lower()

    def attribute(ctx: EvaluationContext) -> Any:
        try:
            value = ctx.source[name]
        except KeyError:
            return ctx.lookup(name, folded)
        if value.__class__ is list:
            return value or None
        if value.__class__ is tuple:
            return list(value) or None
        return value

    return attribute


def _located(error: ExpressionError, node: Call) -> ExpressionError:
    if error.position is None:
        error.position = node.pos
    return error


def _wrap(error: ValueError | ArithmeticError, node: Call) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(
        Message(gettext_noop("%(name)s: %(error)s"), name=node.name, error=error), node.pos
    )


def _guard(inner: Thunk, node: Call) -> Thunk:
    def guarded(ctx: Any) -> Any:
        try:
            return spend(inner(ctx))
        except ExpressionError as error:
            raise _located(error, node) from None
        except (ValueError, ArithmeticError) as error:
            raise _wrap(error, node) from error

    return guarded


def _eager(node: Call, impl: Any, args: list[Thunk], needs_context: bool) -> Thunk:
    """A call that evaluates its arguments first; unrolled for the common small arities."""
    count = len(args)
    if not needs_context and count == 1:
        (a,) = args

        def call1(ctx: Any) -> Any:
            try:
                return spend(impl(a(ctx)))
            except ExpressionError as error:
                raise _located(error, node) from None
            except (ValueError, ArithmeticError) as error:
                raise _wrap(error, node) from error

        return call1
    if not needs_context and count == 2:
        a, b = args

        def call2(ctx: Any) -> Any:
            try:
                return spend(impl(a(ctx), b(ctx)))
            except ExpressionError as error:
                raise _located(error, node) from None
            except (ValueError, ArithmeticError) as error:
                raise _wrap(error, node) from error

        return call2
    if not needs_context and count == 3:
        a, b, c = args

        def call3(ctx: Any) -> Any:
            try:
                return spend(impl(a(ctx), b(ctx), c(ctx)))
            except ExpressionError as error:
                raise _located(error, node) from None
            except (ValueError, ArithmeticError) as error:
                raise _wrap(error, node) from error

        return call3
    if needs_context:
        return _guard(lambda ctx: impl(ctx, *[arg(ctx) for arg in args]), node)
    return _guard(lambda ctx: impl(*[arg(ctx) for arg in args]), node)


def build(node: Node) -> Thunk:
    """Closure for a checked node (recursive; the parser caps nesting depth)."""
    if isinstance(node, String | Number | Boolean):
        return _constant(node.value)
    if isinstance(node, Attribute):
        return _attribute(node.name)
    if isinstance(node, Empty):
        return _none
    if isinstance(node, Keyword):
        return _constant(KEYWORDS[node.name])
    if isinstance(node, Comparison):
        left, right, op = build(node.left), build(node.right), node.op
        return lambda ctx: compare(op, left(ctx), right(ctx))
    spec = FUNCTIONS[node.name]
    args = [build(arg) for arg in node.args]
    if spec.build is not None:
        return _guard(spec.build(node, args), node)
    return _eager(node, spec.impl, args, spec.needs_context)


def finalize(value: Any) -> Any:
    """Dates leave an expression as Entra's ``M/d/yyyy h:mm:ss tt`` text."""
    if isinstance(value, datetime):
        return format_datetime_default(value)
    if (
        isinstance(value, list)
        and not isinstance(value, AppRoleList)
        and any(isinstance(v, datetime) for v in value)
    ):
        return [format_datetime_default(v) if isinstance(v, datetime) else v for v in value]
    return value


@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression, ready to evaluate many times."""

    text: str
    tree: Node
    attributes: tuple[str, ...]  # source attributes it reads, as first written
    functions: frozenset[str]
    _root: Thunk = field(repr=False, compare=False)

    @property
    def redacted(self) -> bool:
        """True when logs must show ``[Redact]`` instead of the value."""
        return "Redact" in self.functions

    @property
    def top_level_function(self) -> str | None:
        return self.tree.name if isinstance(self.tree, Call) else None

    def evaluate(self, context: EvaluationContext | Mapping[str, Any], budget: Budget | None = None) -> Any:
        """The value for this source object: str, bool, int, list, None, or ``IGNORE``.

        Each evaluation gets a fresh ``Budget`` (regex time, value size, steps) unless one is given.
        """
        if not isinstance(context, EvaluationContext):
            context = EvaluationContext(source=context)
        try:
            with spending(budget or Budget()):
                value = self._root(context)
        except IgnoreFlow:
            return IGNORE
        except ExpressionError as error:
            if error.expression is None:
                error.locate(self.text)
            raise
        return finalize(value)


def compile_expression(text: str) -> CompiledExpression:
    """Parse, check and build an expression; cached per text. Raises ``ExpressionError``."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(
            Message(gettext_noop("An expression must be text, not %(name)s"), name=type(text).__name__)
        )
    return _compile(text)


@lru_cache(maxsize=2048)
def _compile(text: str) -> CompiledExpression:
    tree = parse(text)
    try:
        check(tree)
        root = build(tree)
    except ExpressionError as error:
        raise error.locate(text) from None
    seen: dict[str, str] = {}
    functions: set[str] = set()
    for node in walk(tree):
        if isinstance(node, Attribute):
            seen.setdefault(node.name.lower(), node.name)
        elif isinstance(node, Call):
            functions.add(node.name)
    return CompiledExpression(text, tree, tuple(seen.values()), frozenset(functions), root)


def validate(expression: str) -> None:
    """Raise ``ExpressionError`` if the expression would not be accepted (no source object needed)."""
    compile_expression(expression)


def evaluate(expression: str | CompiledExpression, context: EvaluationContext | Mapping[str, Any]) -> Any:
    """Evaluate an expression against one source object (a context, or just its attribute mapping)."""
    compiled = expression if isinstance(expression, CompiledExpression) else compile_expression(expression)
    return compiled.evaluate(context)
