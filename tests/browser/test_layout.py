"""Every main page fits 1280 px and stays usable at 820 px: no horizontal overflow, one page title."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.browser_pages import build_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(280)]

WIDTHS = (1280, 820)
# PORTAL_SCREENSHOTS=docs/screenshots saves each page at 1280 px as a PNG there (README's pictures).
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS", "")


def test_main_pages_fit_1280_and_820_pixels(live_server, signed_in_page, scim_server, admin_user):
    pages = build_tenant(scim_server.base_url, scim_server.token, admin_user)
    page = signed_in_page
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, f"{name}: {response and response.status}"
            page.wait_for_load_state("networkidle")
            scroll_width, inner_width, titles = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth,"
                " document.querySelectorAll('h1').length]"
            )
            if scroll_width > inner_width:
                problems.append(f"{name} at {width} px is {scroll_width} px wide")
            if titles != 1:
                problems.append(f"{name} has {titles} page titles (h1)")
            if SCREENSHOTS and width == WIDTHS[0]:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)
    assert not problems, "\n".join(problems)
