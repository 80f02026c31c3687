"""Compatibility switches, one by one, in the app's advanced settings and in the API; Slack can't be On."""

import pytest

from portal.applications import services
from portal.models import AuditEntry
from provisioning.connectors.scim.compat import LEGACY, SWITCHES, Compatibility
from provisioning.models import ProvisioningJob
from tests.fixtures.configuration_form import errors_of, form_data, mark_tested, page_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> ProvisioningJob:
    return services.instantiate("scim-generic", "Contoso SCIM").provisioning


def test_advanced_settings_show_each_switch_and_no_legacy_box(signed_in_client, job):
    html = signed_in_client.get(page_url(job)).content.decode()
    assert "Advanced settings: compatibility switches" in html
    for switch in SWITCHES:
        assert f"{switch.label} ({switch.name})" in html
        for _, label in switch.choices:
            assert label.replace('"', "&quot;") in html
    assert "Legacy Entra compatibility" not in html


def test_one_switch_changes_only_itself_and_is_audited(signed_in_client, job):
    data = form_data(job, compat_member_removal="valueList")
    response = signed_in_client.post(page_url(job), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.compatibility == {"memberRemoval": "valueList"}
    assert job.compat == Compatibility(member_removal="valueList")
    assert not job.compat.string_booleans and not job.compat.capitalized_ops
    entry = AuditEntry.objects.latest("pk")
    changes = {c["field"]: (c["old"], c["new"]) for c in entry.changes}
    assert changes["compatibility"] == ({}, {"memberRemoval": "valueList"}), changes
    html = signed_in_client.get(page_url(job)).content.decode()
    assert '<option value="valueList" selected>' in html


def test_a_tampered_switch_is_a_field_error(signed_in_client, job):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, compat_boolean_form="yes")))
    assert "Choose one of:" in html
    job.refresh_from_db()
    assert job.compatibility == {}


def test_legacy_switch_set_is_the_old_box():
    """The migration maps legacy=True to exactly these switches (the old box's behaviours)."""
    from importlib import import_module

    migration = import_module("provisioning.migrations.0007_compatibility_switches")
    assert Compatibility.from_dict(migration.LEGACY) == LEGACY
    assert LEGACY.changed() == migration.LEGACY


def test_slack_cant_be_turned_on_and_says_why(signed_in_client):
    slack = services.instantiate("slack", "Slack").provisioning
    mark_tested(slack)
    html = signed_in_client.get(page_url(slack)).content.decode()
    assert "Provisioning Slack is not supported yet" in html and "SCIM 1.1" in html
    html = errors_of(signed_in_client.post(page_url(slack), form_data(slack, enabled="on")))
    assert "Provisioning Slack is not supported yet" in html
    slack.refresh_from_db()
    assert not slack.enabled


@pytest.mark.django_db(transaction=True)
def test_migration_turns_the_legacy_box_into_its_switches(migrator):
    """A job saved with the old box ticked comes out of the migration with the same behaviours."""
    old = migrator.to(("provisioning", "0006_oauth_authorization_code"))
    application = old.get_model("applications", "Application")
    old_job = old.get_model("provisioning", "ProvisioningJob")
    legacy = old_job.objects.create(
        application=application.objects.create(display_name="Old", template_id="scim-generic"),
        job_id="legacy-job",
        legacy_entra_compatibility=True,
    )
    modern = old_job.objects.create(
        application=application.objects.create(display_name="New", template_id="scim-generic"),
        job_id="modern-job",
    )
    new_job = migrator.to(("provisioning", "0007_compatibility_switches")).get_model(
        "provisioning", "ProvisioningJob"
    )
    assert Compatibility.from_dict(new_job.objects.get(pk=legacy.pk).compatibility) == LEGACY
    assert new_job.objects.get(pk=modern.pk).compatibility == {}


def test_a_slack_job_turned_on_earlier_fails_its_cycles_visibly_and_sends_nothing(scim_server):
    """Before: each cycle failed every user with advice blaming the app; now the cycle says why."""
    from portal.directory.models import DirectoryUser
    from provisioning.sync.cycles import start_cycle

    slack = services.instantiate("slack", "Slack").provisioning
    slack.tenant_url, slack.secret_token, slack.enabled = scim_server.base_url, scim_server.token, True
    slack.save()
    user = DirectoryUser.objects.create(user_principal_name="ada@contoso.test", display_name="Ada")
    role = slack.application.app_roles.filter(is_default=False).first()
    slack.application.assignments.create(app_role=role, user=user)

    cycle = start_cycle(slack.pk)

    assert cycle.status == "failed" and "Provisioning Slack is not supported yet" in cycle.error
    assert scim_server.users() == []
