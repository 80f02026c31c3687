"""Which language a page is in: the account's choice, else the browser's Accept-Language, else English;
the Graph-style API always English; dates and numbers as each language writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.accounts.models import LanguagePreference
from tests.fixtures.api_client import ApiClient

pytestmark = pytest.mark.django_db


def test_the_browsers_language_is_used_on_the_first_visit(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9,en;q=0.5")
    page = response.content.decode()
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in page
    assert "Se connecter" in page and "Sign in to manage" not in page
    assert "Accept-Language" in response["Vary"]


def test_without_a_known_language_the_portal_is_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response["Content-Language"] == "en"
    assert "Sign in to manage users" in response.content.decode()


def test_the_picker_stores_the_language_on_the_account_and_it_wins_over_the_browser(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("set_language"), {"language": "nl", "next": reverse("home")})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert LanguagePreference.objects.get(user=admin_user).language == "nl"
    home = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr")
    assert home["Content-Language"] == "nl"
    assert "Bedrijfstoepassingen" in home.content.decode()

    # Another browser: the account's language comes back at sign-in, whatever that browser asks for.
    other = Client()
    other.force_login(admin_user)
    page = other.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="th")
    assert page["Content-Language"] == "nl"


def test_the_picker_works_before_sign_in_and_refuses_unknown_languages(client):
    response = client.post(reverse("set_language"), {"language": "th"})
    assert response.status_code == 302
    assert client.cookies["portal_language"].value == "th"
    assert client.get(reverse("login"))["Content-Language"] == "th"
    assert client.post(reverse("set_language"), {"language": "xx"}).status_code == 400
    assert not LanguagePreference.objects.exists()  # nobody signed in: nothing stored


def test_the_header_offers_every_language_with_the_current_one_selected(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "th"})
    page = client.get(reverse("home")).content.decode()
    for code, name in (("en", "English"), ("fr", "Français"), ("nl", "Nederlands"), ("th", "ไทย")):
        assert f'<option value="{code}" lang="{code}"' in page and name in page
    assert '<option value="th" lang="th" selected>' in page


def test_a_request_leaves_the_thread_in_english(client):
    """A visitor's language must not stay active in the thread afterwards: the test client's thread
    (and a live server's, an eager task's) would otherwise write French into logs and emails."""
    client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr")
    assert translation.get_language() == "en"


def test_the_graph_api_stays_english_even_for_a_french_user(client, make_token, admin_user):
    """Graph answers in English whatever the caller's language, and so does the portal's API, error
    messages included (the same validation as the French user form)."""
    LanguagePreference.objects.create(user=admin_user, language="fr")
    token = make_token(user=admin_user)
    client.force_login(admin_user)  # the session says French too
    client.cookies["portal_language"] = "fr"
    api = ApiClient(client, token)
    body = {"displayName": "Ada", "userPrincipalName": "not an upn"}
    french = api.post("/users", body, HTTP_ACCEPT_LANGUAGE="fr")
    english = api.post("/users", body, HTTP_ACCEPT_LANGUAGE="en")
    assert french.status_code == english.status_code == 400
    assert french["Content-Language"] == "en"
    assert french.json()["error"]["message"] == english.json()["error"]["message"]
    missing = api.get("/mailFolders", HTTP_ACCEPT_LANGUAGE="fr")
    assert missing.status_code == 404 and missing["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Dec 6, 2026, 08:03:28 | 12,345 | 1234.5"),
        ("fr", "6 déc. 2026 08:03:28 | 12\xa0345 | 1234,5"),
        ("nl", "6 dec 2026 08:03:28 | 12.345 | 1234,5"),
        ("th", "6 ธ.ค. 2026, 08:03:28 | 12,345 | 1234.5"),
    ],
)
def test_dates_and_numbers_are_written_the_way_each_language_writes_them(language, expected):
    template = Template(
        '{% load humanize %}{{ when|date:"DATETIME_FORMAT" }} | {{ count|intcomma }} | {{ rate|floatformat:1 }}'
    )
    context = Context({"when": datetime(2026, 12, 6, 8, 3, 28, tzinfo=UTC), "count": 12345, "rate": 1234.5})
    with translation.override(language):
        assert template.render(context) == expected


def test_pages_show_dates_in_the_users_language(client, admin_user):
    from portal.applications.services import instantiate

    instantiate("scim-generic", "Contoso HR")
    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "fr"})
    page = client.get(reverse("applications:app_list")).content.decode()
    months = (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    )
    with translation.override("fr"):
        from django.utils import formats, timezone

        today = formats.date_format(timezone.now(), "DATE_FORMAT")
    assert today in page and any(month in today for month in months)
