"""The provisioning blade in English, French, Dutch and Thai in real Chromium: the header's picker
switches the language, the words are Microsoft's, and Thai renders with the portal's own font (served
offline, no font CDN). PORTAL_SCREENSHOTS=docs/screenshots saves one picture per language there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.browser_pages import build_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS", "")
# The blade's Admin Credentials heading and Test Connection button, as each admin center words them.
WORDS = {
    "en": ("Admin Credentials", "Test Connection"),
    "fr": ("Informations d’identification de l’administrateur", "Tester la connexion"),
    "nl": ("Beheerdersreferenties", "Verbinding testen"),
    "th": ("ข้อมูลประจำตัวของผู้ดูแลระบบ", "ทดสอบการเชื่อมต่อ"),
}


def test_the_provisioning_blade_in_each_language(live_server, signed_in_page, scim_server, admin_user):
    pages = build_tenant(scim_server.base_url, scim_server.token, admin_user)
    page = signed_in_page
    page.set_viewport_size({"width": 1280, "height": 900})
    fonts: list[str] = []
    page.on("request", lambda request: fonts.append(request.url) if request.url.endswith(".woff2") else None)
    for language, (heading, button) in WORDS.items():
        page.goto(f"{live_server.url}{pages['provisioning']}")
        page.select_option("#portal-language", language)  # submits itself (portal.js)
        page.wait_for_function(f"document.documentElement.lang === '{language}'")
        page.wait_for_load_state("networkidle")
        assert page.locator("h2", has_text=heading).count() == 1, language
        assert page.get_by_role("button", name=button).is_visible(), language
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), language
        if language == "th":
            page.evaluate("document.fonts.ready")
            assert page.evaluate("document.fonts.check('14px \"Portal Noto Sans Thai\"', 'การจัดเตรียม')")
            assert any(url.startswith(live_server.url) and "noto-sans-thai" in url for url in fonts)
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS) / f"provisioning-{language}.png"))
            page.goto(f"{live_server.url}{pages['provisioning-overview']}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(Path(SCREENSHOTS) / f"provisioning-overview-{language}.png"))
    assert not [url for url in fonts if not url.startswith(live_server.url)]  # nothing from outside
