"""Pick the language of each request and keep it to that request.

Order: the language the user chose (kept in the session, stored on the account), the language cookie,
the browser's Accept-Language, English. The Graph-style API is always English, as Graph is.

Unlike Django's LocaleMiddleware this wraps the request in ``translation.override``, so the thread goes
back to English afterwards: a test client's thread, a live server's thread or an eager task that runs
next never inherits a visitor's language.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

SESSION_KEY = "portal_language"
ENGLISH_ONLY_PREFIXES = ("/api/beta/",)


def supported(code: str | None) -> str | None:
    """``code`` as one of LANGUAGES (``fr-BE`` → ``fr``), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def language_for(request: HttpRequest) -> str:
    """The language to answer ``request`` in."""
    if request.path_info.startswith(ENGLISH_ONLY_PREFIXES):
        return "en"
    session = getattr(request, "session", None)
    chosen = supported(session.get(SESSION_KEY)) if session is not None else None
    return chosen or translation.get_language_from_request(request) or settings.LANGUAGE_CODE


class PortalLocaleMiddleware:
    """Answer each request in its language (see the module docstring); place it after sessions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_for(request)
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response
