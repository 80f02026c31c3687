"""The Celery application shared by the web process, the workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="portal.ping")
def ping(value: str) -> str:
    """Round-trip check used by /healthz-style tests: proves a worker consumes from the broker."""
    from django.core.cache import cache

    cache.set(f"ping:{value}", value, 60)
    return value
