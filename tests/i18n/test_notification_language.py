"""Notification emails go out in the recipient's language: the language of the portal account with that
address, else the app's notification language, else English; the worker that sends them stays English."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from portal.accounts.models import LanguagePreference
from provisioning.models import Cycle, CycleKind, CycleStatus
from provisioning.sync import quarantine, stalls
from tests.fixtures.provisioning import notifying_job

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs only on a real commit


@pytest.fixture
def job():
    return notifying_job("Ops@Contoso.test")


def test_a_portal_users_email_is_in_their_language(job, django_user_model):
    owner = django_user_model.objects.create_user("ops", "ops@contoso.test", "x")
    LanguagePreference.objects.create(user=owner, language="fr")
    job.notification_language = "nl"  # the account's language wins over the app's setting
    job.save(update_fields=["notification_language"])

    quarantine.enter(job, "EncounteredQuarantineException", "The target answered 401 Unauthorized.")

    (email,) = mail.outbox
    assert email.subject.endswith("L’approvisionnement a été mis en quarantaine")
    assert "Action recommandée : La cible a refusé les informations d’identification" in email.body
    assert "The target answered 401 Unauthorized." in email.body  # the target's own words, as received
    assert "Journaux d’approvisionnement : http" in email.body
    assert translation.get_language() == "en"  # the sending thread is English again


def test_an_address_without_an_account_gets_the_apps_notification_language(job):
    job.notification_language = "th"
    job.save(update_fields=["notification_language"])
    cycle = Cycle.objects.create(
        job=job, kind=CycleKind.INCREMENTAL, status=CycleStatus.COMPLETED, failed=3, total=10
    )

    quarantine.after_cycle(job, cycle)

    (email,) = mail.outbox
    assert email.subject.endswith("การจัดเตรียมล้มเหลว")
    assert "วัตถุ 3 จาก 10 รายการจัดเตรียมไม่สำเร็จในรอบล่าสุด" in email.body


def test_the_stalled_email_translates_the_cycle_kind_in_dutch(job):
    job.notification_language = "nl"
    job.save(update_fields=["notification_language"])
    cycle = Cycle.objects.create(job=job, kind=CycleKind.INITIAL, status=CycleStatus.RUNNING, total=40)
    Cycle.objects.filter(pk=cycle.pk).update(progress_at=cycle.progress_at.replace(year=2000))

    assert stalls.report_stalled() == [cycle]

    (email,) = mail.outbox
    assert email.subject.endswith("De inrichting is vastgelopen")
    assert f"De cyclus {cycle.cycle_id} (Eerste cyclus) wordt uitgevoerd" in email.body
    assert "Geen voortgang sinds 2000-" in email.body


def test_without_any_language_the_email_is_english(job):
    quarantine.enter(job, "EncounteredQuarantineException", "401")
    (email,) = mail.outbox
    assert email.subject.endswith("Provisioning has been quarantined")
    assert "Recommended action: The target refused the admin credentials." in email.body
