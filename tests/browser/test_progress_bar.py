"""The progress bar in real Chromium: Start on the overview, a real worker provisions 500 users into a
real scim2-server, and the htmx-polled bar moves through intermediate values to 100 %."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from provisioning.models import Cycle, JobState, ProvisioningJob
from provisioning.sync.credentials import Credentials
from tests.fixtures.provisioning import make_app, make_users

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]

USERS = 500


def read_percent(page: Page) -> int | None:
    bar = page.locator('[data-testid="progress-bar"]')
    if not bar.count():
        return None
    value = bar.first.get_attribute("aria-valuenow")
    return int(value) if value is not None else None


def test_progress_bar_advances_to_100_and_summary_matches_the_target(
    celery_worker, scim_server, live_server, signed_in_page, settings
):
    # Small pages and one request in flight per worker: the cycle lasts long enough to be watched.
    settings.PROVISIONING_PAGE_SIZE = 25
    settings.PROVISIONING_CONCURRENCY = 1
    app = make_app(scim_server.base_url, scim_server.token)
    ProvisioningJob.objects.filter(pk=app.job.pk).update(
        enabled=False,
        state=JobState.NOT_RUN,
        credentials_fingerprint=Credentials.from_job(app.job).fingerprint(),  # Test Connection passed
        credentials_tested_at=timezone.now(),
    )
    for user in make_users(USERS, prefix="watched"):
        app.assign(user)

    page = signed_in_page
    page.goto(f"{live_server.url}/applications/{app.job.application_id}/provisioning/overview/")
    expect(page.get_by_text("Provisioning has not run yet.")).to_be_visible()
    page.get_by_test_id("start-provisioning").click()
    expect(page.get_by_text("Provisioning started")).to_be_visible()

    seen: list[int] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        percent = read_percent(page)
        if percent is not None and (not seen or seen[-1] != percent):
            seen.append(percent)
        if percent == 100:
            break
        page.wait_for_timeout(100)
    print(f"progress values seen: {seen}")
    assert seen and seen[-1] == 100, f"the bar never reached 100 %: {seen}"
    assert any(0 < p < 100 for p in seen), f"no intermediate value was shown: {seen}"
    assert seen == sorted(seen), f"the bar went backwards: {seen}"

    # The final fragment came with 286: the summary is the finished cycle's, and it matches the target.
    cycle = Cycle.objects.get(job=app.job)
    assert cycle.status == "completed"
    target_users = scim_server.users()
    assert len(target_users) == USERS
    expect(page.get_by_test_id("cycle-state")).to_have_text("Completed")
    expect(page.get_by_test_id("count-created")).to_have_text(str(len(target_users)))
    expect(page.get_by_test_id("count-failed")).to_have_text("0")
    expect(page.get_by_test_id("users-provisioned")).to_contain_text(f"{len(target_users)}")
    expect(page.get_by_test_id("progress-count")).to_have_text(f"{USERS} of {USERS} objects processed")

    # Polling stopped: no further requests to the progress URL after the end.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(4500)
    assert not [url for url in requests if "/overview/progress/" in url], requests

    # The history chart reloaded once, on the "cycle finished" event, and shows the cycle.
    expect(page.locator("#cycle-history .cycle-bar")).to_have_count(1)

    # The summary links lead to the logs of exactly those users.
    page.get_by_test_id("count-created").click()
    rows = page.locator('[data-testid="log-table"] tbody tr')
    expect(rows).to_have_count(50)  # the first page of 500
    expect(rows.first).to_contain_text("Watched")
    expect(rows.first).to_contain_text("Create")
    expect(page.get_by_test_id("page-older")).to_be_visible()
