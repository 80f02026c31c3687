"""Every way of running a worker consumes every queue the tasks are routed to."""

from pathlib import Path

import yaml
from django.conf import settings

from portal.management.commands.start import WORKER_QUEUES

ROOT = Path(__file__).resolve().parents[2]


def _routed() -> set[str]:
    return {q.name for q in settings.CELERY_TASK_QUEUES} | {
        r["queue"] for r in settings.CELERY_TASK_ROUTES.values()
    }


def test_pages_cycle_starts_and_housekeeping_have_their_own_queues():
    assert settings.CELERY_TASK_ROUTES["provisioning.tasks.process_page"]["queue"] == "pages"
    assert settings.CELERY_TASK_ROUTES["provisioning.tasks.run_cycle"]["queue"] == "realtime"
    assert settings.CELERY_TASK_ROUTES["provisioning.tasks.near_real_time"]["queue"] == "realtime"
    assert _routed() == {"realtime", "celery", "pages"}


def test_start_compose_and_the_test_worker_consume_every_queue_most_urgent_first():
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["worker"]["command"]
    compose_queues = command[command.index("-Q") + 1]
    fixture = (ROOT / "tests" / "fixtures" / "worker.py").read_text()
    for queues in (WORKER_QUEUES, compose_queues):
        assert queues.split(",") == ["realtime", "celery", "pages"]
        assert set(queues.split(",")) == _routed()
    assert 'queues=["realtime", "celery", "pages"]' in fixture and '"realtime,celery,pages"' in fixture
