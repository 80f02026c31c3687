"""Near-real-time provisioning: a directory change reaches the target within seconds.

Each commit that records directory changes schedules, per app with provisioning On, one small
incremental cycle about two seconds later; further changes inside that window ride along (debounce).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from portal.directory.models import DirectoryChange
from provisioning.models import JobState, ProvisioningJob
from provisioning.sync import dispatch


def on_directory_changes(changes: list[DirectoryChange]) -> None:
    if not changes:
        return
    apps = {c.app_id for c in changes}
    jobs = ProvisioningJob.objects.filter(enabled=True, near_real_time=True, state=JobState.ACTIVE)
    if None not in apps:  # only assignment changes: only those apps
        jobs = jobs.filter(application_id__in=apps)
    delay = settings.PROVISIONING_DEBOUNCE_SECONDS
    for job_id in jobs.values_list("pk", flat=True):
        if cache.add(f"provisioning:nrt:{job_id}", 1, timeout=max(delay * 5, 10)):
            dispatch.queue_near_real_time(job_id, countdown=delay)
