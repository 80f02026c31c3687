"""One exception family for everything that can go wrong with an expression.

The portal shows these messages next to the mapping field and the engine escrows an object when
evaluation fails, so every error carries a human message and, when it is known, where in the
expression text the problem is (0-based ``position`` plus 1-based ``line``/``column``).
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioning.messages import Message, gettext_noop


class ExpressionError(Exception):
    """Base class: a problem with an attribute-mapping expression."""

    def __init__(
        self,
        message: str,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        expression: str | None = None,
    ) -> None:
        if position is not None and expression is not None and (line is None or column is None):
            line, column = line_column(expression, position)
        self.message = message
        self.position = position
        self.line = line
        self.column = column
        self.expression = expression
        super().__init__(message)

    def __str__(self) -> str:
        if self.line is not None and self.column is not None:
            return f"{self.message} (line {self.line}, column {self.column})"
        if self.position is not None:
            return f"{self.message} (at character {self.position + 1})"
        return self.message

    def locate(self, expression: str, offset: int = 0) -> ExpressionError:
        """Fill in the text and line/column once the caller knows which expression failed."""
        self.expression = expression
        if self.position is not None:
            self.position += offset
            self.line, self.column = line_column(expression, self.position)
        return self


class ExpressionSyntaxError(ExpressionError):
    """The text is not a well-formed expression (unclosed quote, unexpected token, too long...)."""


class UnknownFunctionError(ExpressionError):
    """A function name that Entra does not have; ``suggestion`` holds the closest real name."""

    def __init__(self, name: str, suggestion: str | None, position: int | None = None, **kwargs) -> None:
        if suggestion:
            message = Message(
                gettext_noop("Unknown function '%(name)s'; did you mean '%(suggestion)s'?"),
                name=name,
                suggestion=suggestion,
            )
        else:
            message = Message(gettext_noop("Unknown function '%(name)s'"), name=name)
        self.name = name
        self.suggestion = suggestion
        super().__init__(message, position, **kwargs)


class ArgumentCountError(ExpressionError):
    """A function was called with a number of arguments it does not accept."""

    def __init__(self, function: str, expected: str, got: int, position: int | None = None, **kwargs) -> None:
        self.function = function
        self.expected = expected
        self.got = got
        text = (
            gettext_noop("%(function)s expects %(expected)s, got %(got)s argument")
            if got == 1
            else gettext_noop("%(function)s expects %(expected)s, got %(got)s arguments")
        )
        super().__init__(Message(text, function=function, expected=expected, got=got), position, **kwargs)


class ArgumentTypeError(ExpressionError):
    """An argument has the wrong kind of value (known statically or found while evaluating)."""


class ExpressionEvaluationError(ExpressionError):
    """Evaluation against a directory object failed (bad date, invalid regex, ...)."""


class InvalidRegexError(ExpressionEvaluationError, ArgumentTypeError):
    """A regular expression pattern does not compile."""


class InvalidDateError(ExpressionEvaluationError):
    """A value could not be read as a date, or a date format is invalid."""


class UniqueValueUnavailableError(ExpressionEvaluationError):
    """SelectUniqueValue found every candidate taken; Entra escrows the object in that case."""

    def __init__(self, candidates: Sequence[str], position: int | None = None, **kwargs) -> None:
        self.candidates = list(candidates)
        shown = ", ".join(repr(c) for c in self.candidates) or "none"
        message = Message(
            gettext_noop("SelectUniqueValue: every candidate value is taken (%(candidates)s)"),
            candidates=shown,
        )
        super().__init__(message, position, **kwargs)


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based character offset."""
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column
