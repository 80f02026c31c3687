"""``manage.py seed_logs``: realistic rows in bulk, with cycles whose counters match the rows."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.http import QueryDict
from django.utils import timezone

from provisioning.logs.query import LogFilterForm, cycle_summary_links
from provisioning.logs.retention import retention_days
from provisioning.models import Cycle, ProvisioningLog

pytestmark = pytest.mark.django_db


def test_seed_logs_adds_rows_and_cycles_for_a_new_app(capsys):
    call_command("seed_logs", rows=2500, app="Seeded SCIM app", days=2)
    logs = ProvisioningLog.objects.filter(job__application__display_name="Seeded SCIM app")
    assert logs.count() == 2500
    assert logs.values("log_id").distinct().count() == 2500  # each row its own GUID (COPY on PostgreSQL too)
    assert "Added 2,500 log rows" in capsys.readouterr().out
    cycles = Cycle.objects.filter(job__application__display_name="Seeded SCIM app")
    assert cycles.count() == len(set(logs.values_list("cycle_id", flat=True)))
    totals = cycles.aggregate(
        *(Sum(f) for f in ("created", "updated", "disabled", "deleted", "skipped", "failed"))
    )
    assert sum(totals.values()) == 2500
    assert set(logs.values_list("action", flat=True)) >= {
        "Create",
        "Update",
        "Skip",
        "Disable",
        "Delete",
        "Other",
    }
    assert logs.filter(status="failure").exclude(error_code="").exists()
    assert logs.filter(action="Update").exclude(modified_properties=[]).exists()


def test_seeded_cycle_counters_match_their_summary_links(settings):
    """What the overview shows for a seeded cycle is what its links find in the logs."""
    call_command("seed_logs", rows=800, app="Seeded", days=1)

    cycle = Cycle.objects.filter(job__application__display_name="Seeded").order_by("-started_at").first()
    for counter, url in cycle_summary_links("/x", cycle.cycle_id).items():
        if counter == "all":
            continue
        found = LogFilterForm(QueryDict(urlsplit(url).query)).filter().count()
        assert found == getattr(cycle, counter), counter


def test_seeded_rows_stay_inside_the_retention_period():
    call_command("seed_logs", rows=300, app="Seeded", days=29)
    oldest = ProvisioningLog.objects.order_by("activity_at").first().activity_at
    assert (timezone.now() - oldest).days < retention_days()


def test_seed_logs_reuses_an_existing_app():
    call_command("seed_logs", rows=100, app="Seeded")
    call_command("seed_logs", rows=100, app="Seeded")
    assert ProvisioningLog.objects.values("job").distinct().count() == 1
    assert ProvisioningLog.objects.count() == 200
