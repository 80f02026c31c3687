"""The retry policy on its own: what is retried, how long it waits."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from provisioning.connectors.scim.errors import ErrorCode, make_error
from provisioning.connectors.scim.retry import RetryPolicy, call_with_retry, parse_retry_after
from provisioning.engine.target_protocol import TargetError


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 1.5 ", 1.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    now = time.time()
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1)
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0.0


def test_full_jitter_stays_under_the_capped_exponential() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, random=lambda: 0.999)
    assert [round(policy.backoff(n), 2) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert RetryPolicy(random=lambda: 0.0).backoff(3) == 0.0


def flaky(errors: list[TargetError]) -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    return calls, attempt


def test_transient_errors_are_retried_until_success() -> None:
    sleeps: list[float] = []
    calls, attempt = flaky(
        [make_error(ErrorCode.INTERNAL_SERVER_ERROR, "x"), make_error(ErrorCode.TIMEOUT, "y")]
    )
    result = call_with_retry(attempt, RetryPolicy(sleep=sleeps.append, random=lambda: 1.0), idempotent=True)
    assert result == ("done", 2) and len(calls) == 3 and sleeps == [0.5, 1.0]


def test_permanent_errors_are_not_retried() -> None:
    calls, attempt = flaky([make_error(ErrorCode.BAD_REQUEST, "no")])
    with pytest.raises(TargetError) as caught:
        call_with_retry(attempt, RetryPolicy(sleep=lambda s: None), idempotent=True)
    assert caught.value.retry_count == 0 and len(calls) == 1


def test_unknown_outcome_is_retried_only_when_idempotent() -> None:
    lost = make_error(ErrorCode.PROTOCOL_ERROR, "lost", outcome_unknown=True)
    calls, attempt = flaky([lost])
    with pytest.raises(TargetError):
        call_with_retry(attempt, RetryPolicy(sleep=lambda s: None), idempotent=False)
    assert len(calls) == 1
    calls, attempt = flaky([make_error(ErrorCode.PROTOCOL_ERROR, "lost", outcome_unknown=True)])
    assert call_with_retry(attempt, RetryPolicy(sleep=lambda s: None), idempotent=True) == ("done", 1)


def test_a_conflict_after_an_unknown_outcome_can_count_as_done() -> None:
    errors = [
        make_error(ErrorCode.PROTOCOL_ERROR, "lost", outcome_unknown=True),
        make_error(ErrorCode.ENTRY_CONFLICT, "dup"),
    ]
    calls, attempt = flaky(errors)
    result = call_with_retry(
        attempt,
        RetryPolicy(sleep=lambda s: None),
        idempotent=True,
        accept_after_unknown=lambda e: e.code == ErrorCode.ENTRY_CONFLICT,
    )
    assert result == (None, 1) and len(calls) == 2


def test_a_conflict_on_the_first_attempt_is_still_an_error() -> None:
    calls, attempt = flaky([make_error(ErrorCode.ENTRY_CONFLICT, "dup")])
    with pytest.raises(TargetError):
        call_with_retry(attempt, RetryPolicy(), idempotent=True, accept_after_unknown=lambda e: True)
    assert len(calls) == 1


def test_max_attempts_counts_the_first_attempt() -> None:
    calls, attempt = flaky([make_error(ErrorCode.TIMEOUT, str(i)) for i in range(10)])
    with pytest.raises(TargetError) as caught:
        call_with_retry(attempt, RetryPolicy(max_attempts=3, sleep=lambda s: None), idempotent=True)
    assert len(calls) == 3 and caught.value.retry_count == 2


def test_target_error_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    error = make_error(
        ErrorCode.TOO_MANY_REQUESTS, "slow down", http_status=429, retry_after=5.0, retry_count=2
    )
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert clone.to_dict() == error.to_dict() and str(clone) == str(error)
