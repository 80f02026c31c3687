"""Every main page rendered in a pseudo-locale: any interface word outside ⟦…⟧ is a string that was not
marked for translation (in a template, a form or a view), so French, Dutch and Thai readers would see
English there."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.urls import reverse

from portal.applications.gallery import search_templates
from tests.fixtures.browser_pages import build_tenant
from tests.i18n.pseudo import PSEUDO, WORD, untranslated_words, write_pseudo_catalogue

pytestmark = pytest.mark.django_db

# Words that are names in every language: products, protocols, formats.
NAMES = {
    "english",
    "microsoft",
    "entra",
    "scim",
    "graph",
    "json",
    "csv",
    "oauth",
    "url",
    "uri",
    "utc",
    "api",
    "http",
}


@pytest.fixture
def pseudo_locale(settings, tmp_path):
    vocabulary = write_pseudo_catalogue(tmp_path)
    settings.LANGUAGES = [*settings.LANGUAGES, (PSEUDO, "Pseudo")]
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
    return vocabulary


def _data_words() -> set[str]:
    """Words of what the tenant holds (names, descriptions, attribute names): shown as they are.
    Only the stored values count, not the field names (a column called "created" is no excuse)."""
    values: list[str] = []
    for model in apps.get_models():
        if model._meta.app_label in {"directory", "applications", "provisioning", "portal", "auth"}:
            for row in model.objects.values_list():
                values.extend(json.dumps(value, default=str) for value in row if value)
    values.append(repr(search_templates("")))
    return {w.lower() for w in WORD.findall(" ".join(values))}


def test_every_main_page_is_translated_in_a_pseudo_locale(
    pseudo_locale, client, scim_server, admin_user, django_capture_on_commit_callbacks
):
    pages = build_tenant(scim_server.base_url, scim_server.token, admin_user)
    pages.pop("api-docs")  # the Graph-style API and its reference stay English, as Graph's do
    # Interface words that also occur in the data (an app's description says "users and groups") stay checked.
    data_words = _data_words() - {"users", "groups", "provisioning", "name", "type", "status", "action"}
    client.force_login(admin_user)
    client.cookies["portal_language"] = PSEUDO
    problems = []
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert response["Content-Language"] == PSEUDO, name
        leftovers = untranslated_words(response.content.decode(), pseudo_locale - NAMES, data_words)
        problems.extend(f"{name}: {leftover}" for leftover in leftovers)
    client.logout()
    client.cookies["portal_language"] = PSEUDO  # logging out forgets the cookies
    response = client.get(reverse("login"))
    problems.extend(
        f"login: {leftover}"
        for leftover in untranslated_words(response.content.decode(), pseudo_locale - NAMES, data_words)
    )
    assert not problems, "Not marked for translation:\n" + "\n".join(sorted(set(problems)))


def test_the_check_finds_a_string_that_is_not_marked(pseudo_locale):
    """The detector itself: an English sentence outside ⟦…⟧ is reported, a wrapped one is not."""
    html = "<p>⟦Provisioning Status⟧</p><p>Provisioning Status</p><code>userName</code>"
    leftovers = untranslated_words(html, pseudo_locale, data_words=set())
    assert leftovers == ["'Provisioning' in 'Provisioning Status'", "'Status' in 'Provisioning Status'"]
    sentence = '<p title="Show logs">⟦Stored <strong>token</strong>: set⟧</p>'
    assert untranslated_words(sentence, {"show", "logs", "stored", "token"}, set()) == [
        "'Show' in 'Show logs'",
        "'logs' in 'Show logs'",
    ]
