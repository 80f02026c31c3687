"""A task round-trips through a real worker on the configured broker."""

import time
import uuid

import pytest
from django.core.cache import cache

from portal.celery import ping

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_round_trips_through_a_real_worker(celery_worker):
    value = uuid.uuid4().hex
    ping.delay(value)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and cache.get(f"ping:{value}") is None:
        time.sleep(0.1)
    assert cache.get(f"ping:{value}") == value
