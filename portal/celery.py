"""The Celery application shared by the web process, the workers and beat."""

import gc
import os

from celery import Celery
from celery.signals import task_postrun, worker_process_init, worker_ready

from portal import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
broker.install()  # the embedded broker without kombu's half-written messages

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="portal.ping")
def ping(value: str) -> str:
    """Round-trip check used by /healthz-style tests: proves a worker consumes from the broker."""
    from django.core.cache import cache

    cache.set(f"ping:{value}", value, 60)
    return value


@task_postrun.connect
def forget_queries(**_kwargs) -> None:
    """Empty Django's per-connection query log after each task.

    With DEBUG on (the embedded default) Django keeps the SQL of every query; a worker running pages of
    bulk INSERTs would otherwise grow by megabytes a page until the log's cap of 9,000 queries.
    """
    from django.db import reset_queries

    reset_queries()


@worker_ready.connect
@worker_process_init.connect
def freeze_startup_objects(**_kwargs) -> None:
    """Move what the worker built at start-up (Django, models, scim2-models' schemas: ~120,000 objects)
    out of the garbage collector's reach.

    They live as long as the process, yet every full collection walked them again: a tenth of a page's
    CPU. Objects made after this point (a page's work) are collected as before.
    """
    gc.collect()
    gc.freeze()
