"""Checks for /healthz: the database, the Celery broker, stalled cycles and work the broker lost."""

from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def _broker_connection(timeout: float) -> Iterator[Connection]:
    """A fresh connection each time: a pooled one could hide a broker that went away."""
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=celery_app.conf.broker_transport_options
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        yield conn


def check_broker(timeout: float = 2.0) -> str | None:
    """None when the broker accepts a connection, else a short reason."""
    try:
        with _broker_connection(timeout):
            pass
    except Exception as exc:  # kombu raises transport-specific errors
        return f"{type(exc).__name__}: {exc}"
    return None


def check_cycles() -> str | None:
    """None when no provisioning cycle is stalled, else which ones and since when."""
    from provisioning.sync import stalls

    cycles = list(stalls.stalled().select_related("job__application").order_by("progress_at")[:5])
    if not cycles:
        return None
    return " ".join(
        f"Stalled cycle {c.cycle_id} of {c.job.application.display_name}: {stalls.describe(c)}"
        for c in cycles
    )


def check_lost_work(timeout: float = 2.0) -> str | None:
    """None unless a running cycle has pending pages that no message in the broker will ever run.

    Cheap: one grouped query, and a broker connection only when that query finds candidates.
    """
    from provisioning.sync import stalls

    waiting = stalls.pages_awaiting_messages()
    if not waiting:
        return None
    try:
        with _broker_connection(timeout) as conn:
            held = messages_held(conn)
    except Exception:  # a broker that is down is reported by check_broker
        return None
    if held:
        return None  # something is still queued or being worked on: not provably lost
    return " ".join(
        f"{w.pages} pending page(s) of cycle {w.cycle_id} of {w.application} have no message in the broker "
        "(lost work: they are queued again by the scheduler)."
        for w in waiting
    )


def queue_names() -> set[str]:
    """The queues tasks are sent to: the default one plus any declared or routed to."""
    conf = celery_app.conf
    names = {conf.task_default_queue}
    names.update(q.name for q in conf.task_queues or ())
    routes = conf.task_routes or {}
    for route in routes.values() if isinstance(routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return names


def messages_held(conn: Connection) -> int:
    """Messages waiting in the task queues, plus (Redis) those delivered to a worker and not yet acked."""
    channel = conn.default_channel
    held = sum(channel.queue_declare(queue=name).message_count for name in queue_names())
    unacked_key = getattr(channel, "unacked_key", None)
    if unacked_key:  # the filesystem broker cannot see messages a worker has taken
        held += channel.client.hlen(unacked_key)
    return held
