"""The function table: names, parameters, arity, static checks and how each call is built.

Every Entra function is declared once with ``@function``. The declaration drives three things: the
static checks ``validate`` runs (unknown name, arity, required arguments left empty, literal
arguments of the wrong kind), the closures the evaluator builds, and the signature list the
expression builder shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioning.messages import Message, gettext_noop

from .errors import ArgumentCountError, ArgumentTypeError, ExpressionError
from .nodes import Call, Empty, Node, Number, String
from .values import to_int

Thunk = Callable[[Any], Any]  # context -> value
Builder = Callable[[Call, list[Thunk]], Thunk]
Check = Callable[[Call], None]


@dataclass(frozen=True)
class FunctionSpec:
    """One expression function as Entra documents it."""

    name: str
    params: tuple[str, ...]
    min_args: int
    max_args: int | None
    optional: frozenset[int]
    impl: Callable[..., Any] | None = None
    build: Builder | None = None
    needs_context: bool = False
    checks: tuple[Check, ...] = ()
    summary: str = ""
    even_args: bool = False
    top_level_only: bool = False

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)})"

    def expected_count(self) -> str:
        if self.max_args is None:
            rule = f"at least {self.min_args} arguments"
            return rule + (" (an even number)" if self.even_args else "")
        if self.min_args == self.max_args:
            return (
                "no arguments"
                if self.min_args == 0
                else f"{self.min_args} argument{'s' * (self.min_args != 1)}"
            )
        return f"{self.min_args} to {self.max_args} arguments"

    def check_call(self, call: Call) -> None:
        """Arity, empty required arguments and the function's own literal checks."""
        count = len(call.args)
        too_many = self.max_args is not None and count > self.max_args
        if count < self.min_args or too_many or (self.even_args and count % 2):
            raise ArgumentCountError(self.name, self.expected_count(), count, call.pos)
        for index, arg in enumerate(call.args):
            if isinstance(arg, Empty) and index not in self.optional:
                raise ArgumentTypeError(
                    Message(
                        gettext_noop("%(name)s: %(self)s is required and can't be left empty"),
                        name=self.name,
                        self=self.param_name(index),
                    ),
                    arg.pos,
                )
        for check in self.checks:
            check(call)

    def param_name(self, index: int) -> str:
        """Name of the parameter at ``index``, following repeats (``source...``, Switch's key/value pairs)."""
        params = self.params
        if not params:
            return f"argument {index + 1}"
        if params[-1] == "..." and index >= len(params) - 1:
            index = len(params) - 3 + (index - (len(params) - 3)) % 2
        elif index >= len(params):
            index = len(params) - 1
        return params[index].rstrip(".?")


REGISTRY: dict[str, FunctionSpec] = {}


def function(
    name: str,
    params: str = "",
    *,
    summary: str = "",
    min_args: int | None = None,
    max_args: int | type[Ellipsis] | None = ...,  # type: ignore[valid-type]
    needs_context: bool = False,
    build: Builder | None = None,
    checks: tuple[Check, ...] = (),
    even_args: bool = False,
    top_level_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an Entra function. ``params``: ``"source, culture?"``; ``?`` optional, ``...`` repeats."""
    names = tuple(p.strip() for p in params.split(",") if p.strip())
    optional = frozenset(i for i, p in enumerate(names) if p.endswith("?"))
    variadic = bool(names) and names[-1].endswith("...")
    required = [i for i, p in enumerate(names) if not p.endswith("?")]
    computed_min = (max(required) + 1) if required else 0
    computed_max = None if variadic else len(names)

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = FunctionSpec(
            name=name,
            params=names,
            min_args=computed_min if min_args is None else min_args,
            max_args=computed_max if max_args is ... else max_args,  # type: ignore[arg-type]
            optional=optional,
            impl=None if build else impl,
            build=build,
            needs_context=needs_context,
            checks=checks,
            summary=summary or _first_line(impl.__doc__),
            even_args=even_args,
            top_level_only=top_level_only,
        )
        return impl

    return register


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


# -------------------------------------------------------------------------------- static check helpers


def literal_text(node: Node) -> str | None:
    """The text of a string or number literal, else None (value only known at evaluation)."""
    if isinstance(node, String):
        return node.value
    if isinstance(node, Number):
        return str(node.value)
    return None


def check_literal(index: int, validator: Callable[[str], object], what: str | None = None) -> Check:
    """Run ``validator`` on argument ``index`` when it is a literal; its ExpressionError is positioned."""

    def check(call: Call) -> None:
        if index >= len(call.args):
            return
        arg = call.args[index]
        text = literal_text(arg)
        if text is None:
            return
        try:
            validator(text)
        except ExpressionError as error:
            if what:
                error.message = f"{call.name}: {what}: {error.message}"
            error.position = arg.pos
            raise

    return check


def int_params(function_name: str, *indexes: int) -> tuple[Check, ...]:
    """Static checks: the given arguments, when literal, must be whole numbers."""

    def make(index: int) -> Check:
        def check(call: Call) -> None:
            parameter = REGISTRY[function_name].param_name(index)
            check_literal(index, lambda text: to_int(text, function_name, parameter))(call)

        return check

    return tuple(make(i) for i in indexes)


def one_of(function_name: str, parameter: str, choices: dict[str, Any]) -> Callable[[str], None]:
    def validate(text: str) -> None:
        if text.lower() not in choices:
            allowed = ", ".join(f'"{c}"' for c in choices)
            raise ArgumentTypeError(
                Message(
                    gettext_noop(
                        '%(function_name)s: %(parameter)s must be one of %(allowed)s, got "%(text)s"'
                    ),
                    function_name=function_name,
                    parameter=parameter,
                    allowed=allowed,
                    text=text,
                )
            )

    return validate
