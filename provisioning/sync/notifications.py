"""Email the app's notification address: at most once per app per day for each kind of notification.

Each kind has its own daily budget, so a routine "failures" email never suppresses a quarantine alert.
The email goes out only after the caller's transaction commits (never under a row lock, never for work
that was rolled back); the once-a-day claim is a conditional UPDATE, safe across workers and restarts.
It is written in the recipient's language: the portal account with that address, else the app's
notification language, else English.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.i18n.text import Text, render
from provisioning.models import JobNotification, NotificationKind, ProvisioningJob

log = logging.getLogger(__name__)


def recipient_language(job: ProvisioningJob) -> str:
    """The language of the portal account with the notification address, else the app's setting."""
    from django.contrib.auth import get_user_model

    from portal.i18n.preferences import language_of_user

    for user in get_user_model().objects.filter(email__iexact=job.notification_email, is_active=True):
        if language := language_of_user(user):
            return language
    return job.notification_language or settings.LANGUAGE_CODE


def notify(
    job: ProvisioningJob, kind: NotificationKind | str, subject: str | Text, message: str | Text
) -> None:
    """Queue one notification of ``kind``; it is sent once the current transaction (if any) commits."""
    if not job.notification_email:
        return
    kind = NotificationKind(kind)
    transaction.on_commit(lambda: send_now(job.pk, kind, subject, message))


def send_now(job_id: int, kind: NotificationKind | str, subject: str | Text, message: str | Text) -> bool:
    """Claim today's slot for this kind and send; False when there is no address or the slot is taken."""
    job = ProvisioningJob.objects.select_related("application").filter(pk=job_id).first()
    if job is None or not job.notification_email:
        return False
    kind = NotificationKind(kind)
    now = timezone.now()
    window = now - timedelta(seconds=settings.PROVISIONING_NOTIFICATION_INTERVAL)
    JobNotification.objects.bulk_create([JobNotification(job=job, kind=kind)], ignore_conflicts=True)
    slot = JobNotification.objects.filter(job=job, kind=kind)
    previous = slot.values_list("last_sent_at", flat=True).first()
    if not slot.filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=window)).update(last_sent_at=now):
        return False  # this kind already went out today
    app = job.application
    logs = reverse("provisioning:app_logs", args=[app.pk])
    with translation.override(recipient_language(job)):
        link = f"{settings.PORTAL_BASE_URL.rstrip('/')}{logs}"
        footer = gettext("Application: %(app)s\nProvisioning logs: %(link)s") % {
            "app": app.display_name,
            "link": link,
        }
        body = f"{render(message)}\n\n{footer}\n"
        subject_line = f"[{app.display_name}] {render(subject)}"
    try:
        send_mail(subject_line, body, settings.DEFAULT_FROM_EMAIL, [job.notification_email])
    except Exception:  # the mail server is down: give the slot back so a later attempt can send it
        slot.filter(last_sent_at=now).update(last_sent_at=previous)
        log.exception("Could not send the %s notification for %s", kind, app.display_name)
        return False
    log.info("Sent the %s notification for %s to %s", kind, app.display_name, job.notification_email)
    return True
