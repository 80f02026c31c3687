"""Email the app's notification address, at most once per app per day (across workers and restarts)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from provisioning.models import ProvisioningJob


def notify(job: ProvisioningJob, subject: str, message: str, *, force: bool = False) -> bool:
    """Send one notification; False when there is no address or one was already sent in the last day."""
    if not job.notification_email:
        return False
    now = timezone.now()
    window = now - timedelta(seconds=getattr(settings, "PROVISIONING_NOTIFICATION_INTERVAL", 86400))
    claim = ProvisioningJob.objects.filter(pk=job.pk)
    if not force:
        claim = claim.filter(Q(last_notified_at__isnull=True) | Q(last_notified_at__lt=window))
    if not claim.update(last_notified_at=now):  # the conditional update is the once-a-day lock
        return False
    app = job.application
    try:
        logs = reverse("provisioning:app_logs", args=[app.pk])
    except NoReverseMatch:  # builds without the logs pages link to the app's provisioning page
        logs = reverse("provisioning:configuration", args=[app.service_principal_id])
    body = f"{message}\n\nApplication: {app.display_name}\nProvisioning logs: {settings.PORTAL_BASE_URL.rstrip('/')}{logs}\n"
    send_mail(f"[{app.display_name}] {subject}", body, settings.DEFAULT_FROM_EMAIL, [job.notification_email])
    return True
