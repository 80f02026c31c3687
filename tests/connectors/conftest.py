"""Fixtures for the SCIM connector tests.

The scim2-server fixtures live in ``tests/fixtures/scim_server.py`` (a pytest plugin). Until
``tests/conftest.py`` lists ``pytest_plugins = ["tests.fixtures.scim_server"]`` the plugin is loaded from
here (pytest refuses ``pytest_plugins`` in a conftest below the top level; loading an already loaded
plugin again is a no-op, so this keeps working afterwards).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from provisioning.connectors.scim import RetryPolicy, ScimTarget
from tests.fixtures.clock import FakeClock

if TYPE_CHECKING:  # imported by pytest as a plugin below, so that its asserts are rewritten
    from tests.fixtures.scim_server import ScimTenant


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("tests.fixtures.scim_server")


@pytest.fixture
def retry(clock: FakeClock) -> RetryPolicy:
    """Deterministic backoff (jitter fixed at its ceiling) that sleeps on the fake clock."""
    return RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0, sleep=clock.sleep, random=lambda: 1.0)


@pytest.fixture
def make_target(
    scim_server: ScimTenant, retry: RetryPolicy, clock: FakeClock
) -> Iterator[Callable[..., ScimTarget]]:
    """ScimTarget factory pointed at this test's store (override anything: base_url, token, settings)."""
    targets: list[ScimTarget] = []

    def make(base_url: str | None = None, **options: Any) -> ScimTarget:
        options.setdefault("token", scim_server.token)
        options.setdefault("retry", retry)
        options.setdefault("clock", clock.now)
        options.setdefault("timeout", 5)
        target = ScimTarget(base_url or scim_server.base_url, **options)
        targets.append(target)
        return target

    yield make
    for target in targets:
        target.close()


@pytest.fixture
def target(make_target: Callable[..., ScimTarget]) -> ScimTarget:
    return make_target()
