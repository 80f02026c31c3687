"""In Chromium: the pages work under the Content-Security-Policy — no violations, htmx and the nav toggle
still work, and a role's refusals show in the shell."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.accounts.roles import PortalRole

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def _violations(page: Page) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return messages


def test_pages_and_htmx_work_without_csp_violations(page: Page, live_server, admin_user, admin_password):
    violations = _violations(page)
    _sign_in(page, live_server.url, "admin", admin_password)
    expect(page.locator("h1")).to_have_text("Overview")
    for path in ("/directory/users/", "/directory/groups/", "/applications/", "/audit/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("[data-testid=forbidden]")).to_have_count(0)
    # htmx with allowEval off: the gallery's search-as-you-type swaps the results in place.
    page.goto(f"{live_server.url}/applications/gallery/")
    page.fill("input[type=search]", "slack")
    expect(page.locator("#gallery-results")).to_contain_text("Slack")
    expect(page.locator("#gallery-results")).not_to_contain_text("Zoom")
    # The nav toggle now lives in static/portal/portal.js, not in an onclick attribute.
    page.set_viewport_size({"width": 500, "height": 800})
    page.click("[data-nav-toggle]")
    expect(page.locator("body")).to_have_class("nav-open")
    assert violations == []


def test_a_reports_reader_sees_only_logs_and_is_refused_in_the_shell(
    page: Page, live_server, django_user_model
):
    from portal.accounts.models import RoleAssignment

    reader = django_user_model.objects.create_user("reader", "reader@example.com", "reader-password")
    RoleAssignment.objects.create(user=reader, role=PortalRole.REPORTS_READER)
    _sign_in(page, live_server.url, "reader", "reader-password")
    nav = page.locator("nav.sidenav")
    expect(nav).to_contain_text("Audit logs")
    expect(nav).not_to_contain_text("Users")
    page.goto(f"{live_server.url}/directory/users/")
    expect(page.locator("[data-testid=forbidden] h1")).to_have_text("You don't have access to this page")
    page.click("[data-testid=forbidden] button:has-text('Sign out')")
    expect(page.locator("h1")).to_have_text("Sign in")


def test_portal_js_replaces_inline_handlers_declaratively(page: Page, live_server):
    """``data-show-when`` / ``data-hide-when`` / ``data-confirm``: what pages use instead of on*= handlers."""
    page.set_content(
        f"""<form id="f" data-confirm="Really?">
          <select name="mode"><option>Automatic</option><option>Manual</option></select>
          <label><input type="radio" name="auth" value="bearer" checked>Bearer</label>
          <label><input type="radio" name="auth" value="oauth">OAuth</label>
          <p id="manual" data-show-when="mode=Manual">manual</p>
          <div id="auto" data-hide-when="mode=Manual">automatic</div>
          <div id="oauth" data-show-when="auth=oauth">oauth fields</div>
          <button type="submit">Save</button>
        </form>
        <script src="{live_server.url}/static/portal/portal.js"></script>"""
    )
    expect(page.locator("#manual")).to_be_hidden()
    expect(page.locator("#auto")).to_be_visible()
    expect(page.locator("#oauth")).to_be_hidden()
    page.select_option("select[name=mode]", "Manual")
    expect(page.locator("#manual")).to_be_visible()
    expect(page.locator("#auto")).to_be_hidden()
    page.check("input[value=oauth]")
    expect(page.locator("#oauth")).to_be_visible()
    page.evaluate(
        "document.getElementById('f').addEventListener('submit', e => { e.preventDefault(); window.sent = true; })"
    )
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button[type=submit]")
    assert page.evaluate("window.sent === undefined")  # declined: the form was not sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[type=submit]")
    assert page.evaluate("window.sent === true")
