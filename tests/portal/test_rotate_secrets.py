"""Key rotation and unreadable secrets (issue 15, point 6): rotate_secrets, then drop the old key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from portal.applications import services
from provisioning.models import ProvisioningJob
from provisioning.sync.operations import plan

pytestmark = pytest.mark.django_db

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
TOKEN = "tok-Zq8vN3xW7pLk2Rj5"
CLIENT_SECRET = "cs-Hy4mT9bQ1sVx6Wd0"


@pytest.fixture
def jobs(settings) -> list[ProvisioningJob]:
    """Two jobs whose secrets were written with key A only."""
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    made = []
    for name in ("One", "Two"):
        job = services.instantiate("taskize-connect", name).provisioning
        job.tenant_url = "https://taskize.example/scim/v2"
        job.secret_token, job.oauth_client_secret = f"{TOKEN}-{name}", f"{CLIENT_SECRET}-{name}"
        job.save()
        made.append(job)
    return made


def raw(job: ProvisioningJob, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {ProvisioningJob._meta.db_table} WHERE id = %s", [job.pk])
        return cursor.fetchone()[0]


def test_rotate_then_drop_the_old_key_and_read_everything(jobs, settings, capsys):
    before = {job.pk: raw(job, "secret_token") for job in jobs}
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    call_command("rotate_secrets")

    assert "Re-encrypted 4 secret(s) with the newest key." in capsys.readouterr().out
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]  # the old key is gone
    for job in jobs:
        fresh = ProvisioningJob.objects.get(pk=job.pk)
        name = job.application.display_name
        assert (fresh.secret_token, fresh.oauth_client_secret) == (
            f"{TOKEN}-{name}",
            f"{CLIENT_SECRET}-{name}",
        )
        assert raw(job, "secret_token") != before[job.pk]


def test_an_unreadable_secret_is_a_clear_error_on_the_page_not_a_500(jobs, settings, signed_in_client):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]  # key A dropped without rotating
    job = jobs[0]

    response = signed_in_client.get(
        reverse("provisioning:configuration", args=[job.application.service_principal_id])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "A stored secret can't be decrypted" in html
    assert "Stored token: can't be decrypted: type it again" in html


def test_an_unreadable_secret_is_kept_and_stops_provisioning_with_the_reason(jobs, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    job = ProvisioningJob.objects.get(pk=jobs[0].pk)
    stored = raw(job, "secret_token")

    job.save()  # a full save must not wipe what a restored key could read
    result = plan(job)

    assert raw(job, "secret_token") == stored
    assert result.error is not None and "can't be decrypted" in result.error.reason
    with pytest.raises(CommandError, match="4 secret\\(s\\) can't be decrypted with any configured key"):
        call_command("rotate_secrets")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # the key comes back: the secret is readable again
    assert ProvisioningJob.objects.get(pk=job.pk).secret_token == f"{TOKEN}-One"
