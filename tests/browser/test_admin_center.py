"""Issue 19 in real Chromium: confirmations, downloads that follow the filters on screen."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from provisioning.models import CycleStatus, JobState
from tests.fixtures.logs import finished_cycle, make_log, new_job, quarantine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_allow_deletes_on_the_staged_deletions_page_asks_first(live_server, signed_in_page):
    job = new_job("Contoso SCIM")
    quarantine(job, "TooManyDeletes")
    finished_cycle(job, status=CycleStatus.QUARANTINED, phase="deprovision")
    page = signed_in_page
    url = reverse("provisioning:deletions", args=[job.application.service_principal_id])
    page.goto(f"{live_server.url}{url}")
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.once("dialog", dismiss)
    page.get_by_role("button", name="Allow deletes").click()  # returns once the dialog was answered
    assert dialogs and "cannot be undone" in dialogs[0]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Allow deletes").click()
    expect(page.get_by_text("Deletions allowed")).to_be_visible()
    assert len(posts) == 1  # the cancelled confirmation sent nothing; the accepted one sent it once
    job.refresh_from_db()
    assert job.state != JobState.QUARANTINE


def test_log_downloads_use_the_filters_applied(live_server, signed_in_page):
    job = new_job("Contoso SCIM")
    make_log(job, status="failure", source_name="Failing Fred", error_code="EntryConflict")
    make_log(job, status="success", source_name="Happy Hanna")
    make_log(job, status="failure", source_name="Other Olga", error_code="EntryConflict")
    page = signed_in_page
    page.goto(f"{live_server.url}{reverse('provisioning:log_list')}")
    page.get_by_label("Failure").check()
    page.fill("#log-identity", "Fail")
    page.get_by_role("button", name="Apply").click()
    # The grid shows both filters applied (status and identity), then the links must carry both.
    expect(page.get_by_test_id("log-table")).not_to_contain_text("Happy Hanna")
    expect(page.get_by_test_id("log-table")).not_to_contain_text("Other Olga")
    expect(page.get_by_test_id("log-table")).to_contain_text("Failing Fred")
    for testid in ("download-csv", "download-json"):
        href = page.get_by_test_id(testid).get_attribute("href")
        query = parse_qs(urlparse(href).query)
        assert query.get("status") == ["failure"], href
        assert query.get("q") == ["Fail"], href
    # The file itself holds exactly what the grid shows.
    with page.expect_download() as download:
        page.get_by_test_id("download-csv").evaluate("link => link.click()")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Failing Fred" in text and "Happy Hanna" not in text and "Other Olga" not in text


def test_log_detail_opens_as_a_side_panel_over_the_grid_and_deep_links_still_work(
    live_server, signed_in_page
):
    job = new_job("Contoso SCIM")
    log = make_log(job, status="success", source_name="Adele Vance")
    page = signed_in_page
    page.goto(f"{live_server.url}{reverse('provisioning:log_list')}")
    page.get_by_test_id("log-table").get_by_role("link", name="Adele Vance").click()
    panel = page.get_by_test_id("side-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("svg, .icon").first).to_be_attached()
    assert panel.evaluate("el => getComputedStyle(el).position") == "fixed"  # over the grid
    expect(page.get_by_test_id("log-table")).to_be_visible()
    permalink = page.get_by_test_id("permalink").get_attribute("href")
    page.get_by_test_id("close-panel").click()
    expect(page.get_by_test_id("side-panel")).to_have_count(0)
    # The deep link opens the same record as a page of its own.
    page.goto(f"{live_server.url}{permalink}")
    expect(page.get_by_test_id("log-detail")).to_contain_text("Adele Vance")
    assert permalink == reverse("provisioning:log_detail", args=[log.pk])
