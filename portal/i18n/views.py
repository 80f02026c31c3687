"""The header's language picker."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.i18n.middleware import supported
from portal.i18n.preferences import remember


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the display language and go back to the page the picker was on."""
    language = supported(request.POST.get("language"))
    if language is None or language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language")
    back = request.POST.get("next") or request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = resolve_url(
            settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else settings.LOGIN_URL
        )
    response = HttpResponseRedirect(back)
    remember(request, response, language)
    return response
