"""Budgets that keep one evaluation from hanging or bloating the process that runs it.

An expression is admin-typed text run for every user of a cycle and in the mapping tester, so three
things are capped per evaluation:

- regular expressions share a time budget (``regex_timeout_ms``), enforced by the ``regex`` package's
  ``timeout`` -- catastrophic backtracking such as ``(a+)+$`` is stopped, not waited for;
- every value a function returns (and every string a regex substitution builds) is at most
  ``max_value_length`` characters -- nested ``Replace`` calls can't multiply a string to gigabytes;
- function calls and per-value transforms count as steps, at most ``max_steps``.

Going over any of them raises ``ExpressionBudgetError`` (an ``ExpressionError``) with a plain message.
The limits come from Django settings (``EXPRESSION_*``, applied by ``configure``) but this module
stays plain Python: the engine and tests can pass their own ``Limits``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from provisioning.messages import Message, gettext_noop

from .errors import ExpressionEvaluationError


class ExpressionBudgetError(ExpressionEvaluationError):
    """An evaluation went over its time, size or step budget."""


@dataclass(frozen=True)
class Limits:
    regex_timeout_ms: int = 250
    max_value_length: int = 65_536
    max_steps: int = 100_000


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set the process-wide limits (the portal calls this at start-up from its settings)."""
    global _limits
    _limits = limits


def current_limits() -> Limits:
    return _limits


class Budget:
    """What one evaluation has left to spend."""

    __slots__ = ("limits", "regex_seconds", "steps")

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or _limits
        self.steps = self.limits.max_steps
        self.regex_seconds = self.limits.regex_timeout_ms / 1000

    def step(self, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            raise ExpressionBudgetError(
                Message(
                    gettext_noop("The expression took more than %(max_steps)s steps"),
                    max_steps=format(self.limits.max_steps, ","),
                )
            )

    def too_long(self) -> ExpressionBudgetError:
        return ExpressionBudgetError(
            Message(
                gettext_noop(
                    "A value is longer than %(max_value_length)s characters, the most an expression may build"
                ),
                max_value_length=format(self.limits.max_value_length, ","),
            )
        )

    def check(self, value: Any) -> Any:
        """``value`` unchanged, or ``ExpressionBudgetError`` when it is too large."""
        if size(value) > self.limits.max_value_length:
            raise self.too_long()
        return value

    def run_regex(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run one ``regex`` method call with what is left of the time budget as its ``timeout``."""
        if self.regex_seconds <= 0:
            raise self._timed_out()
        started = time.monotonic()
        try:
            return call(*args, timeout=self.regex_seconds)
        except TimeoutError:
            self.regex_seconds = 0
            raise self._timed_out() from None
        finally:
            self.regex_seconds -= time.monotonic() - started

    def _timed_out(self) -> ExpressionBudgetError:
        return ExpressionBudgetError(
            Message(
                gettext_noop("The regular expression took longer than %(regex_timeout_ms)s ms"),
                regex_timeout_ms=format(self.limits.regex_timeout_ms, ","),
            )
        )


def size(value: Any) -> int:
    """Characters in a value: its text length, summed over a multi-valued one."""
    if value.__class__ is str:
        return len(value)
    if isinstance(value, list | tuple):
        return sum(size(v) for v in value) + len(value)
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(size(v) for v in value.values())
    return 0


_current: ContextVar[Budget | None] = ContextVar("expression_budget", default=None)


def current() -> Budget:
    """The running evaluation's budget; outside one (scoping filters, tests), a fresh budget."""
    return _current.get() or Budget()


@contextmanager
def spending(budget: Budget) -> Iterator[Budget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def spend(value: Any) -> Any:
    """Count one function call of the running evaluation and check the value it returned."""
    budget = _current.get()
    if budget is not None:
        budget.step()
        if size(value) > budget.limits.max_value_length:
            raise budget.too_long()
    return value
