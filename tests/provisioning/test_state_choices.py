"""Cycle phases and quarantine reasons are choices; the migration keeps existing rows valid."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from provisioning.models import Cycle, CyclePhase, ProvisioningJob, QuarantineReason
from provisioning.sync import quarantine


def test_phases_and_reasons_are_closed_sets():
    assert [p.value for p in CyclePhase] == ["users", "references", "groups", "deprovision"]
    assert Cycle._meta.get_field("phase").choices == CyclePhase.choices
    assert "requests" not in {f.name for f in Cycle._meta.get_fields()}
    field = ProvisioningJob._meta.get_field("quarantine_reason")
    with pytest.raises(ValidationError):
        field.clean("Too many deletes", None)
    assert field.clean(QuarantineReason.TOO_MANY_DELETES, None) == "TooManyDeletes"
    assert set(quarantine.RECOMMENDED_ACTIONS) == set(QuarantineReason)


@pytest.mark.django_db(transaction=True)
def test_migration_brings_spelling_variants_to_the_choices(migrator):
    old = migrator.to(("provisioning", "0008_page_delivery_and_failure"))
    application = old.get_model("applications", "Application")
    job = old.get_model("provisioning", "ProvisioningJob").objects.create(
        application=application.objects.create(display_name="Old", template_id="scim-generic"),
        job_id="old-job",
        quarantine_reason=" toomanydeletes",
    )
    cycle = old.get_model("provisioning", "Cycle").objects.create(
        job=job, kind="initial", status="quarantined", phase="Deprovision", requests=3
    )
    new = migrator.to(("provisioning", "0009_choices_for_phases_and_quarantine_reasons_drop_cycle_requests"))
    assert new.get_model("provisioning", "ProvisioningJob").objects.get(pk=job.pk).quarantine_reason == (
        "TooManyDeletes"
    )
    assert new.get_model("provisioning", "Cycle").objects.get(pk=cycle.pk).phase == "deprovision"
