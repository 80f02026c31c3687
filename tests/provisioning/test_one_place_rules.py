"""Rules that used to live in several places and disagreed: each is kept once and every caller uses it."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.applications.services import instantiate
from portal.directory.models import DirectoryUser
from portal.directory.services import soft_delete
from portal.models import AuditEntry
from provisioning.models import AuthMethod, Cycle, CycleKind, CycleStatus, JobState, ProvisioningJob
from provisioning.sync import connector_pool
from provisioning.sync.credentials import Credentials, credentials_tested

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> ProvisioningJob:
    job = instantiate("taskize-connect", "One place").provisioning
    job.tenant_url, job.secret_token = "https://scim.example.test/v2", "token"
    job.save()
    return job


def test_the_on_demand_picker_uses_the_principal_search_and_hides_the_recycle_bin(signed_in_client, job):
    for name in ("Quinn Active", "Quinn Deleted"):
        DirectoryUser.objects.create(
            user_principal_name=f"{name.split()[1].lower()}@contoso.test",
            display_name=name,
            mail_nickname="q",
        )
    soft_delete(DirectoryUser.objects.get(display_name="Quinn Deleted"))
    url = reverse("provisioning:on_demand", args=[job.application.service_principal_id])
    html = signed_in_client.get(url, {"q": "quinn"}).content.decode()
    assert "Quinn Active" in html and "Quinn Deleted" not in html


def stopped_by_the_threshold(job: ProvisioningJob) -> Cycle:
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True, state=JobState.QUARANTINE, quarantine_reason="TooManyDeletes"
    )
    return Cycle.objects.create(
        job=job, kind=CycleKind.INITIAL, status=CycleStatus.QUARANTINED, finished_at=timezone.now()
    )


@pytest.mark.parametrize(
    ("name", "key"), [("provisioning:app_allow_deletes", "pk"), ("provisioning:allow_deletes", "sp")]
)
def test_allow_deletes_from_either_page_is_one_command_with_one_audit_shape(
    signed_in_client, job, monkeypatch, name, key
):
    monkeypatch.setattr("provisioning.sync.cycles._advance", lambda cycle_id: None)
    cycle = stopped_by_the_threshold(job)
    arg = job.application_id if key == "pk" else job.application.service_principal_id
    before = AuditEntry.objects.count()
    signed_in_client.post(reverse(name, args=[arg]))
    assert AuditEntry.objects.count() == before + 1
    cycle.refresh_from_db()
    assert cycle.force_deletes and cycle.status == CycleStatus.RUNNING
    entry = AuditEntry.objects.order_by("-pk").first()
    assert (entry.activity, entry.target_type, entry.target_id, entry.changes) == (
        "Enable/restart provisioning configuration",
        "Application",
        str(job.application.app_id),
        [{"field": "reset_scope", "old": "", "new": "ForceDeletes"}],
    )


def test_a_scope_change_gives_a_new_connector_and_needs_a_new_test(job):
    job.auth_method = AuthMethod.OAUTH_CLIENT_CREDENTIALS
    job.oauth_token_url, job.oauth_client_id = "https://login.example.test/token", "client"
    job.oauth_client_secret, job.oauth_scope = "secret", "scim.read"
    job.credentials_fingerprint = Credentials.from_job(job).fingerprint()
    job.credentials_tested_at = timezone.now()
    job.save()
    first = connector_pool.target_for(job)
    assert connector_pool.target_for(job) is first  # unchanged credentials: the pooled connector
    job.oauth_scope = "scim.read scim.write"
    job.save()
    try:
        assert connector_pool.target_for(job) is not first
        assert not credentials_tested(job)  # the one fingerprint: the test passed for the old scope
    finally:
        connector_pool.forget_target(job.pk)


def test_the_connector_key_is_the_fingerprint_test_connection_records(job, monkeypatch):
    """A credential that does not change where or as whom we connect keeps the pooled connector."""
    first = connector_pool.target_for(job)
    try:
        job.oauth_scope = f"unused-by-bearer-{uuid.uuid4().hex}"  # the bearer method sends no scope
        job.save()
        assert (
            Credentials.from_job(job).fingerprint()
            == Credentials.from_job(ProvisioningJob.objects.get(pk=job.pk)).fingerprint()
        )
        assert connector_pool.target_for(job) is first
    finally:
        connector_pool.forget_target(job.pk)
