"""The one retry policy of the SCIM connector.

* 429 (and 503) honour ``Retry-After`` (delta-seconds or HTTP-date), capped by ``max_retry_after`` so
  one answer cannot park a worker for an hour; the error keeps the server's value for the engine.
* Other transient failures (5xx, timeouts, dropped connections) back off exponentially with full
  jitter: ``uniform(0, min(max_delay, base_delay * 2**n))`` (spreads concurrent workers apart).
* A request whose outcome is unknown (sent, answer lost) is retried only when it is idempotent.
  GET, PUT, DELETE and PATCH are; POST is not (see ``errors.py``).
* Membership PATCHes are idempotent by RFC 7644 (adding a present member or removing an absent one
  changes nothing), but some targets answer 409/400 on the repeat. ``accept_after_unknown`` lets the
  caller treat such an answer as success when an earlier attempt may already have applied the change.

Delays and sleeping are injected (``RetryPolicy(sleep=..., random=...)``) so tests take milliseconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from provisioning.engine.target_protocol import TargetError

__all__ = ["RetryPolicy", "call_with_retry", "parse_retry_after"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait. ``max_attempts`` counts the first attempt."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def backoff(self, retry_number: int) -> float:
        """Full-jitter exponential delay before retry ``retry_number`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return self.random() * ceiling

    def delay_for(self, error: TargetError, retry_number: int) -> float:
        """The server's Retry-After when it gave one (capped), else the backoff."""
        if error.retry_after is not None:
            return max(0.0, min(error.retry_after, self.max_retry_after))
        return self.backoff(retry_number)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110: delta-seconds or an HTTP-date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None on bad input
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def should_retry(error: TargetError, *, idempotent: bool) -> bool:
    """Retry only what can succeed unchanged, and never a non-idempotent request that may have happened."""
    if not error.retryable:
        return False
    return idempotent or not error.outcome_unknown


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    idempotent: bool,
    accept_after_unknown: Callable[[TargetError], bool] | None = None,
    on_retry: Callable[[TargetError, float], None] | None = None,
) -> tuple[T | None, int]:
    """Run ``attempt`` until it succeeds or the policy gives up; return (result, retries made).

    ``attempt`` raises :class:`TargetError`. On giving up the last error is raised with its
    ``retry_count`` set. If ``accept_after_unknown`` approves an error that follows an attempt with an
    unknown outcome, the call counts as done and ``(None, retries)`` is returned.
    """
    from provisioning.engine.target_protocol import TargetError

    retries = 0
    maybe_applied = False
    while True:
        try:
            return attempt(), retries
        except TargetError as error:
            error.retry_count = retries
            if maybe_applied and accept_after_unknown is not None and accept_after_unknown(error):
                return None, retries
            maybe_applied = maybe_applied or error.outcome_unknown
            if not should_retry(error, idempotent=idempotent) or retries + 1 >= policy.max_attempts:
                raise
            retries += 1
            delay = policy.delay_for(error, retries)
            if on_retry is not None:
                on_retry(error, delay)
            policy.sleep(delay)
