"""A page's results are written in bulk: N objects give N log rows and N escrow links in a number of
statements that does not grow with N, and saving the same page again duplicates nothing."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.engine.outcome import FORGET, Outcome
from provisioning.engine.source import EscrowRecord
from provisioning.models import EscrowEntry, ProvisioningLog
from provisioning.sync import escrow
from tests.fixtures.provisioning import make_app

pytestmark = pytest.mark.django_db


def created(count: int, *, prefix: str = "t") -> list[Outcome]:
    outcomes = []
    for n in range(count):
        outcome = Outcome(kind="User", source_id=str(uuid.uuid4()), source_name=f"User {n}")
        outcome.action, outcome.status, outcome.target_id = "Create", "success", f"{prefix}{n}"
        outcome.step("Export", "success", "Created.", request={"method": "POST"})
        outcome.modified = [{"name": "userName", "old": None, "new": f"user{n}@contoso.test"}]
        outcome.escrow = EscrowRecord(f"{prefix}{n}", {"userName": f"user{n}@contoso.test"}, [], "active")
        outcomes.append(outcome)
    return outcomes


def statements(job, outcomes: list[Outcome], cycle_id: uuid.UUID) -> int:
    with CaptureQueriesContext(connection) as queries:
        escrow.save(job, cycle_id, outcomes)
    return len(queries)


def test_a_page_writes_one_log_row_and_one_link_per_object_in_a_fixed_number_of_statements():
    job = make_app("http://127.0.0.1:9/scim", "token").job
    small = statements(job, created(5, prefix="a"), uuid.uuid4())
    large = statements(job, created(500, prefix="b"), uuid.uuid4())

    assert large == small  # 500 objects cost the statements 5 do: nothing per object
    assert large <= 4  # the moved-target check, the escrow upsert, the earlier-pass lookup, the log rows
    assert EscrowEntry.objects.filter(job=job).count() == 505
    assert ProvisioningLog.objects.filter(job=job).count() == 505
    log = ProvisioningLog.objects.get(job=job, target_id="b42")
    assert (log.action, log.status, log.source_name) == ("Create", "success", "User 42")
    assert log.steps[0]["details"]["request"] == {"method": "POST"}
    assert log.modified_properties == [{"name": "userName", "old": None, "new": "user42@contoso.test"}]
    link = EscrowEntry.objects.get(job=job, target_id="b42")
    assert (str(link.source_id), link.exported) == (log.source_id, {"userName": "user42@contoso.test"})


def test_saving_a_page_again_updates_links_and_merges_into_the_same_log_rows():
    """A page that runs twice (redelivered after a crash) keeps one link and one log row per object."""
    job = make_app("http://127.0.0.1:9/scim", "token").job
    cycle_id = uuid.uuid4()
    outcomes = created(600)
    escrow.save(job, cycle_id, outcomes)
    for outcome in outcomes:
        outcome.escrow = EscrowRecord(outcome.target_id, {"userName": "changed"}, [], "disabled")
    escrow.save(job, cycle_id, outcomes)

    assert EscrowEntry.objects.filter(job=job).count() == 600
    assert set(EscrowEntry.objects.filter(job=job).values_list("state", flat=True)) == {"disabled"}
    assert ProvisioningLog.objects.filter(job=job, cycle_id=cycle_id).count() == 600
    assert len(ProvisioningLog.objects.get(job=job, target_id="t599").steps) == 2  # both passes, one row


def test_a_target_id_moves_to_another_object_and_forgotten_links_go():
    job = make_app("http://127.0.0.1:9/scim", "token").job
    first, second = created(1), created(1)
    escrow.save(job, uuid.uuid4(), first)
    escrow.save(job, uuid.uuid4(), second)  # the same target id "t0" now belongs to another source object

    (link,) = EscrowEntry.objects.filter(job=job)
    assert str(link.source_id) == second[0].source_id

    second[0].escrow = FORGET
    escrow.save(job, uuid.uuid4(), second)
    assert not EscrowEntry.objects.filter(job=job).exists()
