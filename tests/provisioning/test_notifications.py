"""Notification emails: one per app per day for each kind, sent only after the transaction commits."""

import pytest
from django.core import mail
from django.db import transaction

from provisioning.models import Cycle, CycleKind, CycleStatus, ProvisioningJob
from provisioning.sync import quarantine
from tests.fixtures.provisioning import notifying_job

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs only on a real commit


@pytest.fixture
def job():
    return notifying_job()


def finished_cycle(job, failed: int = 3, total: int = 10) -> Cycle:
    return Cycle.objects.create(
        job=job, kind=CycleKind.INCREMENTAL, status=CycleStatus.COMPLETED, failed=failed, total=total
    )


def subjects() -> list[str]:
    return [m.subject for m in mail.outbox]


def test_a_failures_email_earlier_the_same_day_does_not_suppress_the_quarantine_email(job):
    quarantine.after_cycle(job, finished_cycle(job))
    assert len(mail.outbox) == 1 and "failures" in mail.outbox[0].subject

    quarantine.enter(job, "EncounteredQuarantineException", "The target answered 401 Unauthorized.")

    assert len(mail.outbox) == 2
    assert "quarantined" in mail.outbox[1].subject and mail.outbox[1].to == ["ops@contoso.test"]
    assert "EncounteredQuarantineException" in mail.outbox[1].body


def test_emails_of_one_kind_are_still_limited_to_one_a_day(job):
    quarantine.after_cycle(job, finished_cycle(job))
    quarantine.after_cycle(job, finished_cycle(job, failed=5))
    quarantine.enter(job, "EncounteredQuarantineException", "401")
    quarantine.leave(job)
    quarantine.enter(job, "EncounteredQuarantineException", "401 again")

    assert ["failures" in s for s in subjects()] == [True, False]


def test_deletions_held_has_its_own_budget(job):
    quarantine.enter(job, "EncounteredQuarantineException", "401")
    quarantine.leave(job)

    quarantine.enter(job, "TooManyDeletes", "600 deletions were staged; the threshold is 500.")

    assert len(mail.outbox) == 2 and "TooManyDeletes" in mail.outbox[1].body


def test_the_email_waits_for_the_commit_and_is_not_sent_when_the_transaction_rolls_back(job):
    with pytest.raises(RuntimeError), transaction.atomic():
        ProvisioningJob.objects.select_for_update().get(pk=job.pk)  # as the cycle code holds its lock
        quarantine.enter(job, "EncounteredQuarantineException", "401")
        assert mail.outbox == []  # not sent while the row lock is held
        raise RuntimeError("the page failed to save")
    assert mail.outbox == []

    with transaction.atomic():
        ProvisioningJob.objects.select_for_update().get(pk=job.pk)
        quarantine.enter(job, "EncounteredQuarantineException", "401")
        assert mail.outbox == []
    assert len(mail.outbox) == 1  # the rolled-back attempt did not use up the day's quarantine email


def test_a_mail_server_failure_gives_the_slot_back(job, settings):
    settings.EMAIL_BACKEND = "tests.provisioning.test_notifications.BrokenBackend"
    quarantine.enter(job, "EncounteredQuarantineException", "401")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    quarantine.leave(job)

    quarantine.enter(job, "EncounteredQuarantineException", "401")

    assert len(mail.outbox) == 1


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")
