"""Provisioning log retention: delete rows older than PROVISIONING_LOG_RETENTION_DAYS (30 by default).

Why a scheduled purge and not a cascade or partitioning: one indexed range delete a day is cheap at a
million rows, and deleting in batches of ids keeps each transaction (and its locks) short while cycles
keep writing new rows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from provisioning.models import ProvisioningLog

log = logging.getLogger(__name__)

BATCH_SIZE = 10_000


def retention_days() -> int:
    return int(settings.PROVISIONING_LOG_RETENTION_DAYS)


def purge_before(cutoff: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete log rows with activity_at < cutoff, one batch of ids per statement; returns the count."""
    deleted = 0
    stale = ProvisioningLog.objects.filter(activity_at__lt=cutoff).order_by()
    while True:
        ids = list(stale.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = ProvisioningLog.objects.filter(pk__in=ids).delete()
        deleted += count


def purge_expired() -> int:
    """Delete the rows past the retention period (the daily beat task's work); idempotent."""
    cutoff = timezone.now() - timedelta(days=retention_days())
    deleted = purge_before(cutoff)
    if deleted:
        log.info("Purged %d provisioning log rows older than %s", deleted, cutoff.isoformat())
    return deleted
