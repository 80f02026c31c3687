"""The shell: sign-in required everywhere, sign-in works, health reports each dependency."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "logout", "healthz", "set_language"}  # set_language: the picker, also before sign-in


def _takes_arguments(entry: URLPattern) -> bool:
    return bool(getattr(entry.pattern, "converters", None) or entry.pattern.regex.groups)


def _named_routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or str(entry.pattern).startswith("api/"):
                continue  # the admin has its own sign-in; the API answers 401 (tested with the API)
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += _named_routes(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name and not _takes_arguments(entry):
            names.append(prefix + entry.name)
    return names


def test_every_page_redirects_anonymous_visitors_to_sign_in(client):
    routes = [name for name in _named_routes(get_resolver()) if name not in PUBLIC]
    assert "home" in routes and len(routes) > 2
    for name in routes:
        url = reverse(name)
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_sign_in_with_a_local_account_shows_home(client, admin_user, admin_password):
    response = client.post(reverse("login"), {"username": "admin", "password": admin_password}, follow=True)
    assert response.status_code == 200
    assert b"Overview" in response.content
    assert b"Sign out" in response.content


def test_wrong_password_is_refused_with_a_message(client, admin_user):
    response = client.post(reverse("login"), {"username": "admin", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_navigation_lists_the_sections(signed_in_client):
    html = signed_in_client.get(reverse("home")).content.decode()
    for label in ("Users", "Groups"):
        assert f">{label}</span></a>" in html


def test_htmx_is_served_locally_never_from_a_cdn(signed_in_client):
    html = signed_in_client.get(reverse("home")).content.decode()
    assert "/static/django_htmx/htmx-2" in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "cycles": "ok", "pages": "ok"},
    }


def test_healthz_names_the_broker_when_it_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"
