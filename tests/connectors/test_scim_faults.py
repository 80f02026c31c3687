"""Error mapping and retries through a fault-injecting proxy on real sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from provisioning.connectors.scim import ErrorCategory, ErrorCode, RetryPolicy, ScimTarget, TargetError
from tests.fixtures.clock import FakeClock
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.scim_server import ScimTenant

USERS = "/Users"


@pytest.fixture
def proxy(scim_server: ScimTenant) -> Iterator[FaultProxy]:
    with FaultProxy(scim_server.base_url, seed=7, hang_seconds=3) as running:
        yield running


@pytest.fixture
def via_proxy(make_target: Callable[..., ScimTarget], proxy: FaultProxy) -> Callable[..., ScimTarget]:
    def make(**options: Any) -> ScimTarget:
        return make_target(base_url=proxy.base_url, **options)

    return make


def test_server_error_then_success_is_retried(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock, scim_server: ScimTenant
) -> None:
    target = via_proxy()
    proxy.fail_next("error", method="POST", path=USERS)
    created = target.create("User", {"userName": "bjensen"})
    assert created.retry_count == 1
    assert proxy.total("POST", USERS) == 2 and proxy.forwarded[("POST", proxy.upstream_path + USERS)] == 1
    assert clock.sleeps == [0.1]  # base_delay * 2**0, jitter fixed at its ceiling
    assert len(scim_server.users()) == 1
    assert target.stats["retries"] == 1 and target.stats["error:InternalServerError"] == 1


def test_backoff_grows_and_gives_up(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock
) -> None:
    target = via_proxy()
    proxy.fail_next("error", count=4, method="GET", status=503, body="html", retry_after=None)
    with pytest.raises(TargetError) as caught:
        target.find("User", "userName", "x")
    error = caught.value
    assert (error.code, error.category, error.http_status) == (
        "InternalServerError",
        ErrorCategory.TRANSIENT,
        503,
    )
    assert error.retry_count == 3 and error.retryable
    assert "HTML" in error.reason
    assert clock.sleeps == [0.1, 0.2, 0.4]
    assert proxy.total("GET", USERS) == 4


def test_429_retry_after_seconds_is_honoured(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock
) -> None:
    target = via_proxy()
    proxy.fail_next("throttle", method="POST", path=USERS, retry_after="7")
    created = target.create("User", {"userName": "bjensen"})
    assert created.retry_count == 1
    assert clock.sleeps == [7.0]


def test_429_retry_after_http_date_is_honoured(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock
) -> None:
    target = via_proxy()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    target.create("User", {"userName": "x"})
    proxy.fail_next("throttle", method="GET", retry_after=when)
    found = target.find("User", "userName", "x")
    assert found is not None and found.retry_count == 1
    assert len(clock.sleeps) == 1 and 25 <= clock.sleeps[0] <= 30


def test_429_retry_after_is_capped_and_kept_on_the_error(
    make_target: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock
) -> None:
    policy = RetryPolicy(
        max_attempts=2, base_delay=0.1, max_retry_after=10, sleep=clock.sleep, random=lambda: 1.0
    )
    target = make_target(base_url=proxy.base_url, retry=policy)
    proxy.fail_next("throttle", count=2, method="GET", retry_after="3600")
    with pytest.raises(TargetError) as caught:
        target.find("User", "userName", "x")
    assert caught.value.code == ErrorCode.TOO_MANY_REQUESTS and caught.value.retry_after == 3600
    assert clock.sleeps == [10.0]


def test_a_throttled_target_pauses_every_caller(
    make_target: Callable[..., ScimTarget], proxy: FaultProxy, clock: FakeClock
) -> None:
    """After a 429, the next request of any thread waits for Retry-After instead of hammering."""
    target = make_target(base_url=proxy.base_url, retry=RetryPolicy(max_attempts=1, sleep=clock.sleep))
    proxy.fail_next("throttle", method="GET", retry_after="5")
    with pytest.raises(TargetError):
        target.find("User", "userName", "x")
    assert clock.sleeps == []
    assert target.find("User", "userName", "x") is None
    assert clock.sleeps == [5.0] and target.stats["throttle_waits"] == 1


def test_hang_on_read_becomes_a_timeout_and_is_retried(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy
) -> None:
    target = via_proxy(timeout=0.3, retry=RetryPolicy(max_attempts=2, sleep=lambda s: None))
    proxy.fail_next("hang", count=2, method="GET")
    with pytest.raises(TargetError) as caught:
        target.find("User", "userName", "x")
    error = caught.value
    assert (error.code, error.category, error.retry_count) == ("Timeout", ErrorCategory.TRANSIENT, 1)
    assert proxy.total("GET", USERS) == 2


def test_lost_post_response_is_not_retried_and_flags_outcome_unknown(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, scim_server: ScimTenant
) -> None:
    target = via_proxy()
    proxy.fail_next("lose_response", method="POST", path=USERS)
    with pytest.raises(TargetError) as caught:
        target.create("User", {"userName": "bjensen"})
    error = caught.value
    assert error.outcome_unknown and error.category is ErrorCategory.TRANSIENT and error.retry_count == 0
    assert error.code == ErrorCode.PROTOCOL_ERROR
    assert proxy.total("POST", USERS) == 1  # never sent twice
    assert len(scim_server.users()) == 1  # ...because it did happen
    adopted = target.find("User", "userName", "bjensen")  # what the engine does next
    assert adopted is not None and adopted.id == scim_server.users()[0]["id"]


def test_post_timeout_is_not_retried(via_proxy: Callable[..., ScimTarget], proxy: FaultProxy) -> None:
    target = via_proxy(timeout=0.3)
    proxy.fail_next("hang", method="POST", path=USERS)
    with pytest.raises(TargetError) as caught:
        target.create("User", {"userName": "bjensen"})
    assert caught.value.code == ErrorCode.TIMEOUT and caught.value.outcome_unknown
    assert proxy.total("POST", USERS) == 1


def test_gateway_error_on_post_is_outcome_unknown(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy
) -> None:
    target = via_proxy()
    proxy.fail_next("error", method="POST", path=USERS, status=504, body="html")
    with pytest.raises(TargetError) as caught:
        target.create("User", {"userName": "bjensen"})
    assert caught.value.outcome_unknown and caught.value.http_status == 504
    assert proxy.total("POST", USERS) == 1


def test_idempotent_requests_are_retried_after_a_lost_response(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, scim_server: ScimTenant
) -> None:
    target = via_proxy()
    user = target.create("User", {"userName": "bjensen"})
    group = target.create("Group", {"displayName": "Guides"})
    proxy.fail_next("lose_response", method="PATCH")
    target.add_members(group.id, [user.id])  # applied, answer lost, re-sent: still one member
    assert [m["value"] for m in scim_server.groups()[0]["members"]] == [user.id]
    proxy.fail_next("lose_response", method="PATCH")
    target.remove_members(group.id, [user.id])
    assert not scim_server.groups()[0].get("members")
    proxy.fail_next("drop", method="DELETE")
    proxy.fail_next("lose_response", method="DELETE")
    target.delete("User", user.id)  # dropped, then applied-but-lost, then 404 → done
    assert scim_server.users() == []
    assert proxy.total("DELETE") == 3


def test_unauthorized_is_not_retried(make_target: Callable[..., ScimTarget], proxy: FaultProxy) -> None:
    target = make_target(base_url=proxy.base_url, token="wrong-token")
    with pytest.raises(TargetError) as caught:
        target.create("User", {"userName": "x"})
    assert caught.value.category is ErrorCategory.UNAUTHORIZED and caught.value.retry_count == 0
    assert proxy.total("POST", USERS) == 1


def test_bulk_retries_a_refused_request_but_not_a_lost_one(
    via_proxy: Callable[..., ScimTarget], proxy: FaultProxy, scim_server: ScimTenant
) -> None:
    target = via_proxy()
    proxy.fail_next("throttle", method="POST", path="/Bulk", retry_after="1")
    results = target.bulk_create("User", [{"userName": "a"}, {"userName": "b"}])
    assert [getattr(r, "retry_count", None) for r in results] == [1, 1]
    proxy.fail_next("lose_response", method="POST", path="/Bulk")
    lost = target.bulk_create("User", [{"userName": "c"}, {"userName": "d"}])
    assert all(isinstance(r, TargetError) and r.outcome_unknown for r in lost)
    assert proxy.total("POST", "/Bulk") == 3
    assert sorted(u["userName"] for u in scim_server.users()) == ["a", "b", "c", "d"]


def test_proxy_is_deterministic_with_a_seed(scim_server: ScimTenant) -> None:
    def pattern(seed: int) -> list[str]:
        with FaultProxy(scim_server.base_url, seed=seed, error_rate=0.3, throttle_rate=0.2) as proxy:
            return [proxy._decide("GET", "/x").fault for _ in range(40)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)
    assert {"pass", "error", "throttle"} <= set(pattern(3))


def test_chaos_creates_every_user_exactly_once(
    make_target: Callable[..., ScimTarget], scim_server: ScimTenant
) -> None:
    """Random 500s, 429s, dropped connections and lost answers: with the engine's rule (an unknown
    outcome → match before creating again) every user exists exactly once."""
    names = [f"user{i:02d}" for i in range(30)]
    with FaultProxy(
        scim_server.base_url, seed=11, error_rate=0.15, throttle_rate=0.1, drop_rate=0.05, lose_rate=0.1
    ) as proxy:
        target = make_target(base_url=proxy.base_url, retry=RetryPolicy(max_attempts=6, sleep=lambda s: None))
        for name in names:
            for _ in range(10):
                try:
                    target.create("User", {"userName": name})
                    break
                except TargetError as error:
                    assert error.outcome_unknown, error
                    if target.find("User", "userName", name) is not None:
                        break
        assert proxy.injected["lose_response"] > 0 and proxy.injected["error"] > 0
    assert sorted(u["userName"] for u in scim_server.users()) == names
