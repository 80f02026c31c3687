"""Each portal user's language: chosen in the header, stored on the account, restored at sign-in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from portal.i18n.middleware import SESSION_KEY, supported


def remember(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """Use ``language`` from now on: in the session, the cookie and (signed in) on the account."""
    from portal.accounts.models import LanguagePreference

    request.session[SESSION_KEY] = language
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    if request.user.is_authenticated:
        LanguagePreference.objects.update_or_create(user=request.user, defaults={"language": language})


def language_of_user(user: Any) -> str | None:
    """The language ``user`` chose, or None when they never chose one."""
    from portal.accounts.models import LanguagePreference

    stored = LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()
    return supported(stored)


@receiver(user_logged_in, dispatch_uid="portal.i18n.restore_language")
def restore_language(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """At sign-in the account's language replaces whatever the browser asked for."""
    if request is None or not hasattr(request, "session"):
        return
    language = language_of_user(user)
    if language:
        request.session[SESSION_KEY] = language
