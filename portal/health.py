"""Reachability checks for /healthz: the database and the Celery broker."""

from django.conf import settings
from django.db import connection
from kombu import Connection

from portal.celery import app as celery_app


def check_database() -> str | None:
    """None when the database answers, else a short reason."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the reason is shown to operators
        return f"{type(exc).__name__}: {exc}"
    return None


def check_broker(timeout: float = 2.0) -> str | None:
    """None when the broker accepts a connection, else a short reason."""
    try:
        # A fresh connection each time: a pooled one could hide a broker that went away.
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=celery_app.conf.broker_transport_options
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"{type(exc).__name__}: {exc}"
    return None
