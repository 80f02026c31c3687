"""Entra ID attribute-mapping expressions: parse, check and evaluate (pure Python, no Django).

    >>> evaluate('Join(" ", [givenName], [surname])', {"givenName": "Zoë", "surname": "Smith"})
    'Zoë Smith'

``validate(text)`` raises an ``ExpressionError`` (with position, line and column) for anything Entra
would refuse; ``compile_expression(text)`` returns a reusable, cached ``CompiledExpression``.
"""

from .budget import Budget, ExpressionBudgetError, Limits
from .context import EvaluationContext
from .dotnet_regex import compile_regex
from .errors import (
    ArgumentCountError,
    ArgumentTypeError,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    InvalidDateError,
    InvalidRegexError,
    UniqueValueUnavailableError,
    UnknownFunctionError,
)
from .evaluator import CompiledExpression, compile_expression, evaluate, validate
from .functions import FUNCTIONS
from .functions_misc import REDACTED, AppRoleList
from .parser import MAX_EXPRESSION_LENGTH, parse
from .registry import FunctionSpec
from .values import IGNORE

__all__ = [
    "FUNCTIONS",
    "IGNORE",
    "MAX_EXPRESSION_LENGTH",
    "REDACTED",
    "AppRoleList",
    "ArgumentCountError",
    "ArgumentTypeError",
    "Budget",
    "CompiledExpression",
    "EvaluationContext",
    "ExpressionBudgetError",
    "ExpressionError",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "FunctionSpec",
    "InvalidDateError",
    "InvalidRegexError",
    "Limits",
    "UniqueValueUnavailableError",
    "UnknownFunctionError",
    "compile_expression",
    "compile_regex",
    "evaluate",
    "parse",
    "validate",
]
