"""Provisioning logs pages: list (tenant-wide and per app), htmx partials, detail tabs, downloads."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from provisioning.models import ProvisioningLog
from tests.fixtures.logs import make_log, new_job

pytestmark = pytest.mark.django_db

HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "log-results"}
STEPS = [
    {
        "name": "Import",
        "status": "success",
        "description": "Received User 'Grady Archie' change",
        "details": {},
    },
    {"name": "Scoping", "status": "success", "description": "User 'Grady Archie' is in scope", "details": {}},
    {
        "name": "Matching",
        "status": "success",
        "description": "Matched on userName",
        "details": {"TargetId": "t-1"},
    },
    {
        "name": "Export",
        "status": "failure",
        "description": "The application returned HTTP 409",
        "details": {"http_status": 409},
    },
]
MODIFIED = [
    {"name": "displayName", "old": "GRADY", "new": "Grady Archie"},
    {"name": 'emails[type eq "work"].value', "old": None, "new": "grady@contoso.com"},
]


@pytest.fixture
def job():
    return new_job("Contoso SCIM")


@pytest.fixture
def failed_log(job) -> ProvisioningLog:
    return make_log(
        job,
        action="Update",
        status="failure",
        source_name="Grady Archie",
        target_name="grady@contoso.com",
        target_id="t-1",
        steps=STEPS,
        modified_properties=MODIFIED,
        error_code="EntryConflict",
        error_category="conflict",
        error_reason="The application returned HTTP 409: userName already exists.",
        recommended_action="Adjust the matching attributes.",
        retry_count=0,
    )


def body(response) -> str:
    return response.content.decode()


# --- the list ----------------------------------------------------------------------------------------------


def test_left_navigation_links_the_tenant_wide_page(signed_in_client):
    html = body(signed_in_client.get(reverse("provisioning:log_list")))
    assert f'<a href="{reverse("provisioning:log_list")}" aria-current="page"' in html


def test_tenant_wide_list_shows_every_app(signed_in_client, job):
    other = new_job("Fabrikam HR")
    make_log(job, source_name="Adele Vance")
    make_log(other, source_name="Megan Bowen")
    response = signed_in_client.get(reverse("provisioning:log_list"))
    assert response.status_code == 200
    html = body(response)
    assert "Adele Vance" in html and "Megan Bowen" in html
    assert "Contoso SCIM" in html and "Fabrikam HR" in html  # target system column
    assert 'name="app"' in html  # the Application filter


def test_app_page_shows_only_its_app(signed_in_client, job):
    other = new_job("Fabrikam HR")
    make_log(job, source_name="Adele Vance")
    make_log(other, source_name="Megan Bowen")
    response = signed_in_client.get(reverse("provisioning:app_logs", args=[job.application_id]))
    html = body(response)
    assert "Adele Vance" in html and "Megan Bowen" not in html
    assert "Contoso SCIM | Provisioning logs" in html  # inside the app's blade


def test_app_page_of_unknown_app_is_404(signed_in_client):
    assert signed_in_client.get(reverse("provisioning:app_logs", args=[999999])).status_code == 404


def test_filters_from_the_query_string(signed_in_client, job, failed_log):
    make_log(job, source_name="Adele Vance", status="success")
    response = signed_in_client.get(reverse("provisioning:log_list"), {"status": "failure"})
    html = body(response)
    assert "Grady Archie" in html and "Adele Vance" not in html
    assert 'value="failure" checked' in html
    assert "1 filter applied" in html


def test_htmx_filter_request_gets_only_the_results(signed_in_client, job, failed_log):
    response = signed_in_client.get(reverse("provisioning:log_list"), {"q": "grady"}, **HTMX_RESULTS)
    html = body(response)
    assert html.lstrip().startswith('<div id="log-results"')
    assert "<html" not in html and "Grady Archie" in html


def test_pager_links_follow_keyset_cursors(signed_in_client, job):
    now = timezone.now()
    for i in range(60):
        make_log(job, source_name=f"User {i:02d}", activity_at=now - timedelta(seconds=i))
    first = signed_in_client.get(reverse("provisioning:log_list"), {"status": "success"})
    page = first.context["page"]
    assert len(page.items) == 50 and "older" in page.links and "newer" not in page.links
    assert "status=success" in page.links["older"]
    second = signed_in_client.get(page.links["older"])
    assert [r.source_name for r in second.context["page"].items] == [f"User {i}" for i in range(50, 60)]
    assert "newer" in second.context["page"].links


def test_bad_filter_values_are_reported_not_a_server_error(signed_in_client, job):
    make_log(job)
    response = signed_in_client.get(reverse("provisioning:log_list"), {"cycle": "nope", "after": "%%%"})
    assert response.status_code == 200
    html = body(response)
    assert 'data-testid="filter-errors"' in html and "Cycle ID" in html
    assert "No provisioning logs match" in html


def test_list_page_query_count_does_not_grow_with_rows(signed_in_client, job, django_assert_max_num_queries):
    other = new_job("Fabrikam HR")
    for i in range(40):
        make_log(job if i % 2 else other)
    with django_assert_max_num_queries(12):
        signed_in_client.get(reverse("provisioning:log_list"))


# --- the detail panel ---------------------------------------------------------------------------------


def detail(client, log, tab=None, htmx=False):
    extra = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "log-detail"} if htmx else {}
    params = {"tab": tab} if tab else {}
    return client.get(reverse("provisioning:log_detail", args=[log.pk]), params, **extra)


def test_detail_steps_tab_is_the_default(signed_in_client, failed_log):
    html = body(detail(signed_in_client, failed_log))
    assert 'data-testid="tab-body-steps"' in html
    for step in STEPS:
        assert escape(step["description"]) in html
    assert "(export, failure)" in html and "(matching, success)" in html


def test_detail_troubleshooting_tab(signed_in_client, failed_log):
    html = body(detail(signed_in_client, failed_log, "troubleshooting"))
    assert 'data-testid="error-code">EntryConflict' in html
    assert "userName already exists" in html
    assert "Adjust the matching attributes." in html


def test_troubleshooting_falls_back_to_entra_guidance_and_says_no_error(signed_in_client, job):
    transient = make_log(
        job, status="failure", error_code="Timeout", error_category="transient", error_reason="slow"
    )
    html = body(detail(signed_in_client, transient, "troubleshooting"))
    assert "too slow" in html and "retried automatically" in html
    ok = make_log(job)
    assert 'data-testid="no-error"' in body(detail(signed_in_client, ok, "troubleshooting"))


def test_detail_modified_properties_tab(signed_in_client, failed_log):
    html = body(detail(signed_in_client, failed_log, "modified"))
    assert "displayName" in html and "GRADY" in html and "Grady Archie" in html
    assert "grady@contoso.com" in html
    assert "&quot;work&quot;" in html  # escaped, not raw


def test_detail_summary_tab_shows_source_and_target_ids(signed_in_client, failed_log):
    html = body(detail(signed_in_client, failed_log, "summary"))
    assert f'data-testid="source-id">{failed_log.source_id}' in html
    assert 'data-testid="target-id">t-1' in html
    assert str(failed_log.change_id) in html and str(failed_log.cycle_id) in html
    assert failed_log.job.job_id in html


def test_detail_for_htmx_is_the_panel_only_and_tabs_swap_it(signed_in_client, failed_log):
    html = body(detail(signed_in_client, failed_log, "modified", htmx=True))
    assert html.lstrip().startswith('<aside id="log-detail"')  # replaces the page's empty aside
    assert "<html" not in html
    assert 'hx-target="#log-detail" hx-swap="outerHTML"' in html
    assert 'aria-selected="true" class="active" data-testid="tab-modified"' in html


def test_unknown_tab_and_unknown_log(signed_in_client, failed_log):
    assert 'data-testid="tab-body-steps"' in body(detail(signed_in_client, failed_log, "bogus"))
    assert signed_in_client.get(reverse("provisioning:log_detail", args=[999999])).status_code == 404


# --- downloads ------------------------------------------------------------------------------------------


def download(client, fmt, **params):
    response = client.get(reverse("provisioning:log_download", args=[fmt]), params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content).decode("utf-8")


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with a BOM
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_download_applies_the_filters(signed_in_client, job, failed_log):
    make_log(job, source_name="Adele Vance")
    response, text = download(signed_in_client, "csv", status="failure")
    assert response["Content-Disposition"] == 'attachment; filename="ProvisioningLogs.csv"'
    rows = read_csv(text)
    assert len(rows) == 1
    row = rows[0]
    assert row["Identity"] == "Grady Archie"
    assert row["Change ID"] == str(failed_log.change_id)
    assert row["Application"] == "Contoso SCIM" and row["Job ID"] == job.job_id
    assert row["Error code"] == "EntryConflict" and row["Status"] == "failure"


def test_csv_steps_and_modified_properties_join_on_the_change_id(signed_in_client, job, failed_log):
    make_log(job)  # one more row, filtered out below
    _, steps_text = download(signed_in_client, "csv", part="steps", change=str(failed_log.change_id))
    steps = read_csv(steps_text)
    assert [(s["Name"], s["Step type"]) for s in steps] == [  # Graph's step names, as the API gives them
        ("EntryImport", "import"),
        ("EntrySynchronizationScoping", "scoping"),
        ("EntrySynchronizationUpdate", "matching"),
        ("EntryExportUpdate", "export"),
    ]
    assert {s["Change ID"] for s in steps} == {str(failed_log.change_id)}
    assert json.loads(steps[3]["Details"]) == {"http_status": "409"}
    response, modified_text = download(
        signed_in_client, "csv", part="modified", change=str(failed_log.change_id)
    )
    assert "ProvisioningLogs_ModifiedProperties.csv" in response["Content-Disposition"]
    modified = read_csv(modified_text)
    assert [(m["Property"], m["Old value"], m["New value"]) for m in modified] == [
        ("displayName", "GRADY", "Grady Archie"),
        ('emails[type eq "work"].value', "", "grady@contoso.com"),
    ]


def test_csv_neutralises_spreadsheet_formulas(signed_in_client, job):
    make_log(job, source_name='=HYPERLINK("http://evil")')
    rows = read_csv(download(signed_in_client, "csv")[1])
    assert rows[0]["Identity"] == '\'=HYPERLINK("http://evil")'


def test_csv_of_many_rows_is_complete_and_ordered(signed_in_client, job):
    now = timezone.now()
    for i in range(1203):  # more than one chunk of written rows
        make_log(job, source_name=f"User {i}", activity_at=now - timedelta(seconds=i // 3))
    rows = read_csv(download(signed_in_client, "csv")[1])
    assert len(rows) == 1203
    expected = ProvisioningLog.objects.order_by("-activity_at", "-id").values_list("change_id", flat=True)
    assert [r["Change ID"] for r in rows] == [str(c) for c in expected]


def test_json_download_is_a_graph_shaped_array(signed_in_client, job, failed_log):
    make_log(job, source_name="Adele Vance")
    response, text = download(signed_in_client, "json", q="grady")
    assert response["Content-Type"] == "application/json"
    assert "\n" not in text and ", " not in text.split('"reason"')[0]  # minified
    records = json.loads(text)
    assert len(records) == 1
    record = records[0]
    assert record["changeId"] == str(failed_log.change_id)
    assert record["provisioningAction"] == "update"
    assert record["jobId"] == job.job_id
    assert record["sourceIdentity"] == {
        "id": failed_log.source_id,
        "displayName": "Grady Archie",
        "identityType": "User",
        "details": {},
    }
    assert record["targetSystem"]["displayName"] == "Contoso SCIM"
    assert [s["provisioningStepType"] for s in record["provisioningSteps"]] == [
        "import",
        "scoping",
        "matching",
        "export",
    ]
    assert record["modifiedProperties"][0] == {
        "displayName": "displayName",
        "oldValue": "GRADY",
        "newValue": "Grady Archie",
    }
    info = record["provisioningStatusInfo"]
    assert info["status"] == "failure" and info["errorInformation"]["errorCode"] == "EntryConflict"


def test_json_download_of_nothing_is_an_empty_array(signed_in_client, job):
    make_log(job)
    assert json.loads(download(signed_in_client, "json", cycle=str(uuid.uuid4()))[1]) == []


def test_download_of_the_app_page_keeps_the_app(signed_in_client, job):
    other = new_job("Fabrikam HR")
    make_log(job, source_name="Adele Vance")
    make_log(other, source_name="Megan Bowen")
    page = signed_in_client.get(
        reverse("provisioning:app_logs", args=[job.application_id]), {"status": "success"}
    )
    url = page.context["downloads"]["json"]
    assert f"app={job.application_id}" in url and "status=success" in url
    records = json.loads(b"".join(signed_in_client.get(url).streaming_content))
    assert [r["sourceIdentity"]["displayName"] for r in records] == ["Adele Vance"]


def test_unknown_download_format_or_part_is_404(signed_in_client):
    assert signed_in_client.get("/applications/provisioning-logs/download.xml").status_code == 404
    url = reverse("provisioning:log_download", args=["csv"])
    assert signed_in_client.get(url, {"part": "secrets"}).status_code == 404


def test_pages_need_sign_in(client, job):
    response = client.get(reverse("provisioning:log_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
