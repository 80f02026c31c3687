import pytest


@pytest.fixture
def signed_in_page(page, live_server, admin_user, admin_password):
    """A Chromium page signed in as the admin through the real sign-in form."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page
