"""CSRF: every POST without a token is refused, on every URL of the site — htmx requests included.

Django checks the token before the view runs, so a view that only answers GET still proves nothing is
exempt. The control run sends the token the way base.html does for htmx (``X-CSRFToken``) and must
get past the check everywhere, so the test can tell a CSRF refusal from any other.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.fixtures.urlmap import all_routes

pytestmark = pytest.mark.django_db

CSRF_MESSAGE = b"its security token is missing or expired"


def _post(client: Client, url: str, **extra: str):
    with transaction.atomic():
        response = client.post(url, **extra)
        transaction.set_rollback(True)
    return response


@pytest.fixture
def strict_client(django_user_model) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    admin = django_user_model.objects.create_superuser("csrf-admin", "csrf@example.com", "pw")
    client.force_login(admin)
    client.get(reverse("home"))  # every shell page carries the token (hx-headers), which sets the cookie
    return client


def _urls(world) -> list[tuple[str, str]]:
    urls = []
    for route in all_routes():
        if route.view_name in {"logout"}:
            continue  # checked on its own below: a successful sign-out would end the session
        url, _, _ = world["values"].url(route)
        urls.append((route.view_name, url))
    return urls


def test_every_post_without_a_token_is_refused(world, strict_client):
    urls = _urls(world)
    assert len(urls) > 20
    accepted = []
    for name, url in urls:
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = _post(strict_client, url, **extra)
            if response.status_code != 403 or CSRF_MESSAGE not in response.content:
                accepted.append(f"{name} {url} {extra}: {response.status_code}")
    assert not accepted, "POSTs accepted without a CSRF token:\n" + "\n".join(accepted)


def test_the_same_posts_with_the_token_get_past_the_check(world, strict_client):
    token = strict_client.cookies["csrftoken"].value
    refused = []
    for name, url in _urls(world):
        response = _post(strict_client, url, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
        if CSRF_MESSAGE in response.content:
            refused.append(f"{name} {url}")
    assert not refused, refused


def test_sign_out_and_sign_in_need_the_token_too(strict_client):
    assert _post(strict_client, reverse("logout")).status_code == 403
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post(reverse("login"), {"username": "csrf-admin", "password": "pw"})
    assert response.status_code == 403 and CSRF_MESSAGE in response.content


def test_an_htmx_csrf_refusal_swaps_into_the_page(strict_client):
    response = _post(strict_client, reverse("directory:user_create"), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#main"
    assert b"<html" not in response.content  # a fragment, not a whole page inside the page
