import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_visit_lands_on_sign_in_then_home(page, live_server, admin_user, admin_password):
    page.goto(f"{live_server.url}/directory/users/")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#id_username", "admin")
    page.fill("#id_password", admin_password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Users")  # back where the visitor wanted to go
    page.click("text=Home")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("nav.sidenav")).to_contain_text("Groups")


def test_sign_out_returns_to_sign_in(signed_in_page, live_server):
    signed_in_page.click("text=Sign out")
    expect(signed_in_page.locator("h1")).to_have_text("Sign in")
    signed_in_page.goto(f"{live_server.url}/")
    expect(signed_in_page.locator("h1")).to_have_text("Sign in")
