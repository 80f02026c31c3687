"""Sign-in (local form and "Sign in with Microsoft"), the Microsoft callback, sign-out, CSRF refusals."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from portal.accounts import msal_auth
from portal.accounts.backends import ENTRA_BACKEND, local_accounts_enabled
from portal.accounts.middleware import forbidden


def _safe_next(request: HttpRequest, url: str) -> str:
    """``url`` if it stays on this site, else the default landing page."""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return settings.LOGIN_REDIRECT_URL


class SignInView(LoginView):
    """Django's sign-in form plus "Sign in with Microsoft"; the form is refused when local accounts are off."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["local_accounts_enabled"] = local_accounts_enabled()
        context["microsoft_enabled"] = msal_auth.entra_config().enabled
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not local_accounts_enabled():
            context = self.get_context_data(form=self.get_form())
            context["refused"] = _("Local accounts are turned off here: sign in with Microsoft.")
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


@method_decorator(login_not_required, name="dispatch")
class SignOutView(LogoutView):
    """Sign-out: drops the MSAL token cache, then Django ends the session."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        msal_auth.clear_token_cache(request)
        return super().post(request, *args, **kwargs)


@login_not_required
@never_cache
def microsoft_sign_in(request: HttpRequest) -> HttpResponse:
    """Start "Sign in with Microsoft": remember the flow in the session, send the browser to Entra ID."""
    if not msal_auth.entra_config().enabled:
        return _not_configured(request)
    next_url = _safe_next(request, request.GET.get("next", ""))
    try:
        return HttpResponseRedirect(msal_auth.start_sign_in(request, next_url))
    except msal_auth.SignInError as exc:
        return _sign_in_error(request, exc, status=502)


@login_not_required
@never_cache
def microsoft_callback(request: HttpRequest) -> HttpResponse:
    """Entra ID sends the browser back here: exchange the code, sign the user in, or explain why not."""
    if not msal_auth.entra_config().enabled:
        return _not_configured(request)
    try:
        result = msal_auth.complete_sign_in(request)
    except msal_auth.SignInError as exc:
        return _sign_in_error(request, exc, status=400)
    if not result.user.is_active:
        return _sign_in_error(
            request, msal_auth.SignInError(_("This account is disabled in the portal.")), 403
        )
    auth_login(request, result.user, backend=ENTRA_BACKEND)
    msal_auth.remember_tokens(request, result.tokens)
    return redirect(_safe_next(request, result.next_url))


def _not_configured(request: HttpRequest) -> HttpResponse:
    """A stale "Sign in with Microsoft" link on a portal without ENTRA_* settings: back to sign-in."""
    messages.warning(request, _("Sign-in with Microsoft is not configured on this portal."))
    return redirect_to_login(settings.LOGIN_REDIRECT_URL, settings.LOGIN_URL)


def _sign_in_error(request: HttpRequest, error: msal_auth.SignInError, status: int) -> HttpResponse:
    context = {"message": error.message, "detail": error.detail if settings.DEBUG else ""}
    return render(request, "accounts/sign_in_error.html", context, status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusals in the shell (Django's own page has inline styles the CSP blocks)."""
    return forbidden(
        request,
        _(
            "The form could not be verified (its security token is missing or expired). "
            "Reload the page and try again."
        ),
    )
