"""Hand work to the Celery workers by task name, so that sync/ never imports ``provisioning.tasks``.

``provisioning.tasks`` imports the sync layer (a task loads state and calls it); the sync layer queues
tasks. Sending by the registered name keeps the dependency one way. The task is looked up in the app's
registry (the same object ``provisioning.tasks`` defines), so ``apply_async``'s options, routing and
eager mode behave exactly as if the function had been imported. The names are the ones beat rows and
``CELERY_TASK_ROUTES`` store: they never change.
"""

from __future__ import annotations

from celery import Task, current_app

PROCESS_PAGE = "provisioning.tasks.process_page"
RUN_CYCLE = "provisioning.tasks.run_cycle"
NEAR_REAL_TIME = "provisioning.tasks.near_real_time"


def task(name: str) -> Task:
    """The registered task called ``name`` (``provisioning.apps`` imports the module that registers them)."""
    return current_app.tasks[name]


def queue_page(page_id: int, *, queue: str, countdown: float | None = None) -> None:
    task(PROCESS_PAGE).apply_async((page_id,), queue=queue, countdown=countdown)


def queue_cycle(job_id: int, *args: bool) -> None:
    """``run_cycle.delay(job_id, *args)``: ``args`` is ``(initial,)`` when a restart forces an initial cycle."""
    task(RUN_CYCLE).delay(job_id, *args)


def queue_near_real_time(job_id: int, *, countdown: float) -> None:
    task(NEAR_REAL_TIME).apply_async((job_id,), countdown=countdown)
