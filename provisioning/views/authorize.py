"""Authorize: sign in to the application with OAuth 2.0 authorization code + PKCE, keep the refresh token.

Authorize (a POST from the Admin Credentials form) saves the OAuth endpoint fields as entered, then sends
the browser to the application's authorization endpoint with a random ``state`` and a PKCE challenge.
The verifier stays in the admin's session, keyed by the state. The application redirects back to one
callback URL (register it at the application); the callback finds the job by the state, trades the code
for tokens and stores the refresh token encrypted. The engine then refreshes access tokens from it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from portal.audit import Activity, audit_application
from provisioning.connectors.scim.client import authorization_request, exchange_code
from provisioning.engine.target_protocol import TargetError
from provisioning.forms.configuration import CredentialsForm, ProvisioningConfigurationForm
from provisioning.models import AuthMethod, ProvisioningJob
from provisioning.sync.credentials import Credentials, oauth_client
from provisioning.views.configuration import PAGE, _context, _job

SESSION_KEY = "provisioning_authorize"
PENDING_LIMIT = 5  # sign-ins started and not finished, per session
PENDING_SECONDS = 15 * 60
ENDPOINT_FIELDS = (
    "oauth_authorize_url",
    "oauth_token_url",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
)
ERROR_PAGE = "provisioning/authorize_error.html"


def callback_uri(request: HttpRequest) -> str:
    """The redirect URI to register at the application (one for every app of this portal)."""
    configured = settings.PROVISIONING_OAUTH_REDIRECT_URI
    return configured or request.build_absolute_uri(reverse("provisioning:oauth_callback"))


@require_POST
def authorize(request: HttpRequest, object_id: Any) -> HttpResponse:
    job = _job(object_id)
    form = CredentialsForm(request.POST, job=job)
    problems: dict[str, str] = {}
    if form.is_valid():
        if not form.supports_authorize:
            problems["auth_method"] = gettext("This application does not offer Authorize.")
        credentials = replace(form.credentials(), auth_method=AuthMethod.OAUTH_AUTHORIZATION_CODE)
        problems.update(credentials.missing_for_authorize())
    if not form.is_valid() or problems:
        page_form = ProvisioningConfigurationForm(request.POST, job=job)
        page_form.is_valid()
        for name, message in problems.items():
            page_form.add_error(name if name in page_form.fields else None, message)
        return render(request, PAGE, _context(job, page_form), status=400)

    changes = [
        (name, getattr(job, name), getattr(credentials, name))
        for name in ENDPOINT_FIELDS
        if getattr(job, name) != getattr(credentials, name)
    ]
    if changes:
        for name, _, new in changes:
            setattr(job, name, new)
        job.save(update_fields=[name for name, _, _ in changes])
        audit_application(request.user, job.application, Activity.UPDATE_PROVISIONING, changes)
    redirect_uri = callback_uri(request)
    grant = authorization_request(
        credentials.oauth_authorize_url, credentials.oauth_client_id, redirect_uri, credentials.oauth_scope
    )
    now = time.time()
    pending = {
        state: entry
        for state, entry in request.session.get(SESSION_KEY, {}).items()
        if now - entry.get("at", 0) < PENDING_SECONDS
    }
    pending[grant.state] = {
        "job": job.pk,
        "verifier": grant.code_verifier,
        "redirect_uri": redirect_uri,
        "at": now,
    }
    request.session[SESSION_KEY] = dict(list(pending.items())[-PENDING_LIMIT:])
    return redirect(grant.url)


def _failed(
    request: HttpRequest, message: str, job: ProvisioningJob | None = None, status: int = 400
) -> HttpResponse:
    if job is not None:
        messages.error(request, message)
        return redirect("provisioning:configuration", job.application.service_principal_id)
    return render(request, ERROR_PAGE, {"message": message}, status=status)


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = dict(request.session.get(SESSION_KEY, {}))
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[SESSION_KEY] = pending
    if entry is None or time.time() - entry.get("at", 0) >= PENDING_SECONDS:
        return _failed(
            request,
            gettext(
                "This sign-in was not started from this browser session, or it took longer than 15 minutes. "
                "Open the application's provisioning page and select Authorize again."
            ),
        )
    job = ProvisioningJob.objects.select_related("application").filter(pk=entry["job"]).first()
    if job is None:
        return _failed(request, gettext("The application was deleted while you were signing in."), status=404)
    if request.GET.get("error"):
        description = request.GET.get("error_description") or ""
        return _failed(
            request,
            gettext(
                "The application did not authorize the portal (%(error)s%(description)s). Select Authorize to try again."
            )
            % {"error": request.GET["error"], "description": ": " + description if description else ""},
            job,
        )
    code = request.GET.get("code", "")
    if not code:
        return _failed(request, gettext("The application's answer carried no authorization code."), job)
    credentials = replace(Credentials.from_job(job), auth_method=AuthMethod.OAUTH_AUTHORIZATION_CODE)
    try:
        tokens = exchange_code(oauth_client(credentials), code, entry["redirect_uri"], entry["verifier"])
    except TargetError as error:
        return _failed(
            request,
            gettext("Signing in to the application failed: %(reason)s")
            % {"reason": credentials.scrub(error.reason)},
            job,
        )
    refresh = tokens.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        return _failed(
            request,
            gettext(
                "The application signed you in but granted no refresh token, so provisioning could not keep "
                "access. Add the scope the application needs for offline access (often offline_access) and "
                "select Authorize again."
            ),
            job,
        )
    old, old_method = job.oauth_refresh_token, job.auth_method
    # The grant is this method's credential, given for the endpoints just saved: the method goes with it,
    # so the stored client secret and grant are used where they were entered, never somewhere new.
    job.oauth_refresh_token, job.oauth_authorized_at = refresh, timezone.now()
    job.auth_method = AuthMethod.OAUTH_AUTHORIZATION_CODE
    job.save(update_fields=["oauth_refresh_token", "oauth_authorized_at", "auth_method"])
    audit_application(
        request.user,
        job.application,
        Activity.UPDATE_PROVISIONING,
        [("auth_method", old_method, job.auth_method), ("oauth_refresh_token", old, refresh)],
    )
    messages.success(
        request,
        gettext(
            "Authorized: %(app)s granted access, and the authentication method is now OAuth 2 authorization code. Select Test Connection, then Save."
        )
        % {"app": job.application.display_name},
    )
    return redirect("provisioning:configuration", job.application.service_principal_id)
