"""The provisioning logs query: every filter, keyset paging (ties, both directions), no OFFSET/COUNT."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.paging import decode_cursor, encode_cursor
from provisioning.logs.query import (
    LogFilterForm,
    cycle_summary_links,
    keyset_page,
)
from provisioning.models import ProvisioningJob, ProvisioningLog
from provisioning.sync.cycles import _count
from tests.fixtures.logs import make_log, new_job

pytestmark = pytest.mark.django_db


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def filtered(query: str, **form_kwargs) -> set[int]:
    return ids(LogFilterForm(QueryDict(query), **form_kwargs).filter())


@pytest.fixture
def job() -> ProvisioningJob:
    return new_job()


# --- filters -------------------------------------------------------------------------------------------


def test_status_filter_takes_one_or_several_values(job):
    ok = make_log(job, status="success")
    failed = make_log(job, status="failure", error_code="EntryConflict")
    skipped = make_log(job, status="skipped", action="Skip")
    make_log(job, status="warning")
    assert filtered("status=failure") == {failed.pk}
    assert filtered("status=success&status=skipped") == {ok.pk, skipped.pk}


def test_unknown_status_is_reported_and_ignored(job):
    rows = {make_log(job).pk, make_log(job, status="failure").pk}
    form = LogFilterForm(QueryDict("status=exploded"))
    assert ids(form.filter()) == rows
    assert "status" in form.errors


def test_action_filter(job):
    create = make_log(job, action="Create")
    update = make_log(job, action="Update")
    delete = make_log(job, action="Delete")
    make_log(job, action="Skip", status="skipped")
    assert filtered("action=Update") == {update.pk}
    assert filtered("action=Create&action=Delete") == {create.pk, delete.pk}


def test_identity_matches_name_prefix_case_insensitively(job):
    adele = make_log(job, source_name="Adele Vance", target_name="adele@contoso.com")
    alex = make_log(job, source_name="Alex Wilber", target_name="alexw@contoso.com")
    make_log(job, source_name="Megan Bowen", target_name="megan@contoso.com")
    assert filtered("q=ad") == {adele.pk}
    assert filtered("q=ADELE") == {adele.pk}
    assert filtered("q=a") == {adele.pk, alex.pk}
    assert filtered("q=alexw@") == {alex.pk}  # the target name (userName) too


def test_identity_is_a_prefix_not_a_substring(job):
    make_log(job, source_name="Adele Vance", target_name="adele@contoso.com")
    assert filtered("q=vance") == set()
    assert filtered("q=dele") == set()


def test_identity_matches_source_and_target_ids_exactly(job):
    source = str(uuid.uuid4())
    by_source = make_log(job, source_id=source)
    by_target = make_log(job, target_id="00u1abcd", source_name="Someone Else")
    make_log(job)
    assert filtered(f"q={source}") == {by_source.pk}
    assert filtered(f"q={source.upper()}") == {by_source.pk}  # a UUID in any case
    assert filtered("q=00u1abcd") == {by_target.pk}
    assert filtered(f"q={source[:8]}") == set()  # ids are not prefix-matched


def test_identity_with_like_wildcards_is_literal(job):
    make_log(job, source_name="Adele Vance")
    assert filtered("q=%25") == set()
    assert filtered("q=_dele") == set()


def test_app_filter_and_fixed_app(job):
    other = new_job("Other app")
    mine = make_log(job)
    theirs = make_log(other)
    assert filtered(f"app={job.application_id}") == {mine.pk}
    assert filtered("", app=other.application) == {theirs.pk}
    # the per-app page ignores an app= in the query string
    assert filtered(f"app={job.application_id}", app=other.application) == {theirs.pk}


def test_unknown_app_matches_nothing(job):
    make_log(job)
    assert filtered("app=999999") == set()
    assert filtered("app=abc") == set()


def test_job_id_filter(job):
    other = new_job("Other app")
    mine = make_log(job)
    make_log(other)
    assert filtered(f"job={job.job_id}") == {mine.pk}
    assert filtered("job=scim.nope") == set()
    assert filtered(f"job={job.job_id}&app={other.application_id}") == set()


def test_cycle_and_change_filters(job):
    cycle = uuid.uuid4()
    in_cycle = [make_log(job, cycle_id=cycle).pk for _ in range(3)]
    other = make_log(job)
    assert filtered(f"cycle={cycle}") == set(in_cycle)
    assert filtered(f"change={other.change_id}") == {other.pk}
    assert filtered(f"cycle={cycle}&change={other.change_id}") == set()


def test_malformed_cycle_or_change_id_matches_nothing(job):
    make_log(job)
    form = LogFilterForm(QueryDict("cycle=not-a-uuid"))
    assert ids(form.filter()) == set()
    assert "cycle" in form.errors
    assert filtered("change=123") == set()


def test_date_presets(job):
    now = timezone.now()
    recent = make_log(job, activity_at=now - timedelta(hours=2))
    days = make_log(job, activity_at=now - timedelta(days=3))
    weeks = make_log(job, activity_at=now - timedelta(days=20))
    assert filtered("date=24h") == {recent.pk}
    assert filtered("date=7d") == {recent.pk, days.pk}
    assert filtered("date=30d") == {recent.pk, days.pk, weeks.pk}
    assert filtered("") == {recent.pk, days.pk, weeks.pk}


def test_custom_date_range_from_datetime_local_inputs(job):
    base = timezone.now().replace(microsecond=0) - timedelta(days=5)
    inside = make_log(job, activity_at=base)
    make_log(job, activity_at=base - timedelta(days=1))
    make_log(job, activity_at=base + timedelta(days=1))
    start = (base - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (base + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert filtered(f"date=custom&start={start}&end={end}") == {inside.pk}
    assert len(filtered(f"date=custom&start={start}")) == 2  # open-ended


def test_filters_combine(job):
    cycle = uuid.uuid4()
    hit = make_log(job, cycle_id=cycle, action="Update", status="failure", source_name="Grady Archie")
    make_log(job, cycle_id=cycle, action="Update", status="success", source_name="Grady Archie")
    make_log(job, cycle_id=cycle, action="Create", status="failure", source_name="Grady Archie")
    make_log(job, action="Update", status="failure", source_name="Grady Archie")
    query = f"cycle={cycle}&action=Update&status=failure&q=grady&app={job.application_id}&date=24h"
    assert filtered(query) == {hit.pk}


def test_summary_links_select_the_rows_each_counter_counts(job):
    """The last-cycle numbers on the overview link to logs that add up to the same numbers."""
    cycle = uuid.uuid4()
    rows = [
        ("Create", "success"),
        ("Create", "warning"),
        ("Create", "failure"),
        ("Update", "success"),
        ("Update", "failure"),
        ("Disable", "success"),
        ("Delete", "success"),
        ("Skip", "skipped"),
        ("Other", "success"),
        ("Other", "failure"),
    ]
    for action, status in rows:
        make_log(job, cycle_id=cycle, action=action, status=status)
    make_log(job, action="Create")  # another cycle
    expected = _count([SimpleNamespace(action=a, status=s) for a, s in rows])
    links = cycle_summary_links("/logs/", cycle)
    for counter, value in expected.items():
        query = urlsplit(links[counter]).query
        assert len(filtered(query)) == value, counter
    assert len(filtered(urlsplit(links["all"]).query)) == len(rows)
    assert parse_qs(urlsplit(links["failed"]).query)["status"] == ["failure"]


# --- keyset pagination ----------------------------------------------------------------------------------


def walk(queryset, size: int) -> tuple[list[int], list[str]]:
    """Follow the "older" cursors from the first page to the end; return ids and cursors used."""
    seen, cursors = [], []
    page = keyset_page(queryset, size=size)
    while True:
        seen += [row.pk for row in page.items]
        if not page.older_cursor:
            return seen, cursors
        cursors.append(page.older_cursor)
        page = keyset_page(queryset, after=page.older_cursor, size=size)


def test_keyset_pages_have_no_duplicates_or_gaps_with_equal_timestamps(job):
    """The engine writes one timestamp per page of 500 rows: ties are the normal case."""
    base = timezone.now()
    stamps = [base - timedelta(seconds=s) for s in (0, 0, 0, 5, 5, 9)]
    for i in range(97):
        make_log(job, activity_at=stamps[i % len(stamps)], source_name=f"User {i}")
    expected = list(ProvisioningLog.objects.order_by("-activity_at", "-id").values_list("pk", flat=True))
    for size in (1, 7, 10, 50, 200):
        seen, _ = walk(ProvisioningLog.objects.all(), size)
        assert seen == expected, size


def test_keyset_walks_back_with_newer_cursors(job):
    base = timezone.now()
    for i in range(45):
        make_log(job, activity_at=base - timedelta(seconds=i // 4))
    queryset = ProvisioningLog.objects.all()
    pages = [keyset_page(queryset, size=10)]
    while pages[-1].older_cursor:
        pages.append(keyset_page(queryset, after=pages[-1].older_cursor, size=10))
    assert [len(p.items) for p in pages] == [10, 10, 10, 10, 5]
    assert pages[0].newer_cursor is None and pages[-1].older_cursor is None
    # from the last page back to the first through "newer"
    page = pages[-1]
    for expected in reversed(pages[:-1]):
        page = keyset_page(queryset, before=page.newer_cursor, size=10)
        assert [r.pk for r in page.items] == [r.pk for r in expected.items]
    assert page.newer_cursor is None


def test_pages_use_neither_offset_nor_count(job):
    base = timezone.now()
    for i in range(30):
        make_log(job, activity_at=base - timedelta(seconds=i))
    form = LogFilterForm(QueryDict("status=success"))
    first = form.page(size=10)
    with CaptureQueriesContext(connection) as queries:
        deep = LogFilterForm(QueryDict(f"status=success&after={first.older_cursor}")).page(size=10)
    assert len(deep.items) == 10
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert len(queries.captured_queries) <= 2  # the page, and one EXISTS for "newer"


def test_list_rows_leave_the_json_columns_unread(job):
    make_log(job, steps=[{"name": "Import", "status": "success", "description": "x" * 5000, "details": {}}])
    with CaptureQueriesContext(connection) as queries:
        LogFilterForm(QueryDict("")).page()
    assert '"steps"' not in queries.captured_queries[0]["sql"]


def test_mangled_cursor_means_first_page(job):
    rows = [make_log(job).pk for _ in range(3)]
    for bad in ("garbage", "Zm9vfGJhcg", encode_cursor([timezone.now(), 1])[:-3], ""):
        page = keyset_page(ProvisioningLog.objects.all(), after=bad, size=10)
        assert sorted(r.pk for r in page.items) == sorted(rows)
    assert decode_cursor("WyJub3QtYS1kYXRlIiwxXQ", ["datetime", "int"]) is None  # ["not-a-date",1]


def test_cursor_past_the_end_offers_the_way_back(job):
    make_log(job)
    very_old = encode_cursor([timezone.now() - timedelta(days=400), 1])
    page = keyset_page(ProvisioningLog.objects.all(), after=very_old)
    assert page.items == [] and page.newer_cursor == very_old


def test_cursor_round_trip_keeps_microseconds():
    when = timezone.now().replace(microsecond=123456)
    assert decode_cursor(encode_cursor([when, 42]), ["datetime", "int"]) == [when, 42]
