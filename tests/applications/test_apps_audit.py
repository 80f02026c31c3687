"""The Audit logs page: newest first, filters with field errors, keyset paging that never skips a row."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from portal.applications import services
from portal.audit import Activity, record_audit
from portal.audit_views import PAGE_SIZE
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _entry(activity: str, name: str, at: dt.datetime, app=None) -> AuditEntry:
    entry = record_audit(
        None, activity, target_type="Application", target_id="x", target_name=name, application=app
    )
    AuditEntry.objects.filter(pk=entry.pk).update(at=at)
    return entry


def _table(response) -> str:
    """The entries table only (the Activity filter's options list every activity name too)."""
    html = response.content.decode()
    return html[html.index('id="audit-entries"') :]


def _names(html: str) -> list[str]:
    return re.findall(r"<td>(Entry [^<]*) <span", html)


def test_page_lists_entries_newest_first_with_who_what_and_changes(signed_in_client, admin_user):
    app = services.instantiate("slack", "Slack", actor=admin_user)
    services.rename(app, "Slack (prod)", actor=admin_user)
    html = _table(signed_in_client.get(reverse("audit_log")))
    assert html.index("Update application") < html.index("Add application")
    assert "<strong>DisplayName</strong>: Slack → Slack (prod)" in html
    assert "<td>admin</td>" in html and "<td>Slack (prod)</td>" in html


def test_filter_by_activity(signed_in_client):
    now = dt.datetime(2026, 11, 20, 12, tzinfo=UTC)
    _entry(Activity.ADD_APPLICATION, "Entry add", now)
    _entry(Activity.START_PROVISIONING, "Entry start", now)
    html = signed_in_client.get(
        reverse("audit_log"), {"activity": Activity.START_PROVISIONING}
    ).content.decode()
    assert _names(html) == ["Entry start"]


def test_filter_by_app_including_a_deleted_one(signed_in_client):
    slack, zoom = services.instantiate("slack", "Slack"), services.instantiate("zoom", "Zoom")
    slack_pk = slack.pk
    services.delete_application(slack)
    response = signed_in_client.get(reverse("audit_log"), {"app": slack_pk})
    assert f"Deleted application (#{slack_pk})" in response.content.decode()  # still selectable
    html = _table(response)
    assert "Delete application" in html and "Add application" in html
    assert "<td>Zoom</td>" not in html
    html = _table(signed_in_client.get(reverse("audit_log"), {"app": zoom.pk}))
    assert "Delete application" not in html and "<td>Zoom</td>" in html


def test_filter_by_date_range_includes_both_end_days(signed_in_client):
    for day in (1, 2, 3, 4):
        _entry(Activity.ADD_APPLICATION, f"Entry {day}", dt.datetime(2026, 11, day, 23, 59, tzinfo=UTC))
    html = signed_in_client.get(
        reverse("audit_log"), {"date_from": "2026-11-02", "date_to": "2026-11-03"}
    ).content.decode()
    assert _names(html) == ["Entry 3", "Entry 2"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"date_from": "yesterday"}, "Enter a date as YYYY-MM-DD."),
        ({"date_to": "2026-13-45"}, "Enter a date as YYYY-MM-DD."),
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "The end date is before the start date."),
        ({"activity": "Hack the planet"}, "Choose an activity from the list."),
        ({"app": "abc"}, "Choose an application from the list."),
    ],
)
def test_bad_filters_are_field_errors(signed_in_client, params, error):
    _entry(Activity.ADD_APPLICATION, "Entry x", dt.datetime(2026, 11, 1, tzinfo=UTC))
    response = signed_in_client.get(reverse("audit_log"), params)
    html = response.content.decode()
    assert response.status_code == 200
    assert error in html and "Fix the filters above to see entries." in html


def test_keyset_paging_walks_every_entry_once_even_with_equal_timestamps(signed_in_client):
    same = dt.datetime(2026, 11, 10, 8, tzinfo=UTC)
    total = PAGE_SIZE * 2 + 7
    for i in range(total):
        _entry(Activity.ADD_APPLICATION, f"Entry {i:03d}", same if i % 3 else same + dt.timedelta(seconds=i))
    seen: list[str] = []
    query = {"activity": Activity.ADD_APPLICATION}
    url = reverse("audit_log")
    pages = 0
    while True:
        html = signed_in_client.get(url, query).content.decode()
        pages += 1
        seen += _names(html)
        match = re.search(r'href="\?([^"]+)" rel="next"', html)
        if not match:
            break
        next_query = match.group(1).replace("&amp;", "&")
        assert "activity=" in next_query  # the filters stay on the next page
        query = dict(part.split("=", 1) for part in next_query.split("&"))
        query = {k: v.replace("%2F", "/").replace("+", " ") for k, v in query.items()}
    assert pages == 3
    assert len(seen) == total and len(set(seen)) == total
    assert "Newest</a>" in html


def test_a_tampered_page_link_falls_back_to_the_newest_entries(signed_in_client):
    _entry(Activity.ADD_APPLICATION, "Entry only", dt.datetime(2026, 11, 1, tzinfo=UTC))
    html = signed_in_client.get(reverse("audit_log"), {"after": "not-a-cursor!!"}).content.decode()
    assert "That page link is not valid any more" in html and _names(html) == ["Entry only"]


def test_empty_log(signed_in_client):
    html = signed_in_client.get(reverse("audit_log")).content.decode()
    assert "No audit entries match these filters." in html


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"app": "99999999999999999999"},
        {"activity": "\x00"},
        {"after": "\x00"},
    ],
)
def test_extreme_filters_never_crash(signed_in_client, params):
    _entry(Activity.ADD_APPLICATION, "Entry x", dt.datetime(2026, 11, 1, tzinfo=UTC))
    assert signed_in_client.get(reverse("audit_log"), params).status_code == 200
