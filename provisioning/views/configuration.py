"""The Provisioning page of an app: Mode, Admin Credentials (+ Test Connection), Mappings, Settings, Status.

Save and Discard work as full posts and as htmx swaps of the form; Test Connection answers htmx with
just its result box (the typed secret stays in the browser's input, never comes back in HTML).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.applications.models import Application
from portal.applications.views import blade_context
from portal.crypto import unreadable_fields
from provisioning.forms.configuration import (
    COMPAT_FIELDS,
    CredentialsForm,
    ProvisioningConfigurationForm,
    SaveOutcome,
    unsupported_reason,
)
from provisioning.models import ProvisioningJob, ProvisioningMode
from provisioning.sync.credentials import (
    Credentials,
    TestVerdict,
    credentials_tested,
    matching_attribute,
    rate_limited_verdict,
    record_test,
    run_connection_test,
    test_connection_wait,
)

PAGE = "provisioning/configuration.html"
TEST_RESULT = "provisioning/configuration_test_result.html"


def _job(object_id: Any) -> ProvisioningJob:
    application = get_object_or_404(Application, service_principal_id=object_id)
    return get_object_or_404(ProvisioningJob.objects.select_related("application"), application=application)


def _callback_uri() -> str:
    """Authorize's redirect URI as shown on the page (the view builds the absolute one per request)."""
    return settings.PROVISIONING_OAUTH_REDIRECT_URI or reverse("provisioning:oauth_callback")


def _mapping_link(object_id: Any, key: str) -> str:
    return reverse("provisioning:mapping", args=[object_id, key])


def _context(job: ProvisioningJob, form: ProvisioningConfigurationForm, **extra: Any) -> dict[str, Any]:
    application = job.application
    saved = Credentials.from_job(job)
    mode = form["mode"].value()  # the entered value when bound, else the initial one
    auth = form["auth_method"].value()
    return {
        **blade_context(application, "provisioning", _("Provisioning")),
        "job": job,
        "form": form,
        "manual": mode == ProvisioningMode.MANUAL,
        "oauth": auth == "oauth2_client_credentials",
        "authorization_code": auth == "oauth2_authorization_code",
        "redirect_uri": _callback_uri(),
        "token_set": bool(saved.secret_token),
        "client_secret_set": bool(saved.oauth_client_secret),
        "unreadable": unreadable_fields(job),
        "saved_credentials_tested": credentials_tested(job, saved),
        "compat_fields": [form[name] for name in COMPAT_FIELDS],
        "compat_changed": bool(job.compatibility),
        "not_supported": unsupported_reason(job),
        "mappings": [
            {"mapping": m, "url": _mapping_link(application.service_principal_id, m.key)}
            for m in job.object_mappings.all()
        ],
        **extra,
    }


def _outcome_message(outcome: SaveOutcome) -> str:
    if outcome.nothing:
        return _("No changes to save.")
    if outcome.started:
        return _("Saved. Provisioning is On: the initial cycle starts shortly.")
    if outcome.stopped:
        return _("Saved. Provisioning is Off; a cycle in progress finishes first.")
    return _("Saved the provisioning configuration.")


@require_http_methods(["GET", "POST"])
def configuration(request: HttpRequest, object_id: Any) -> HttpResponse:
    job = _job(object_id)
    swap_form = bool(request.htmx and request.htmx.target == "configuration")
    template = f"{PAGE}#config-form" if swap_form else PAGE
    if request.method == "POST":
        form = ProvisioningConfigurationForm(request.POST, job=job)
        if form.is_valid():
            message = _outcome_message(form.save(actor=request.user))
            job.refresh_from_db()
            if swap_form:
                fresh = ProvisioningConfigurationForm(job=job)
                return render(request, template, _context(job, fresh, saved_message=message))
            messages.success(request, message)
            return redirect("provisioning:configuration", object_id)
        return render(request, template, _context(job, form))
    return render(request, template, _context(job, ProvisioningConfigurationForm(job=job)))


@require_POST
def test_connection(request: HttpRequest, object_id: Any) -> HttpResponse:
    """Test the credentials as entered (blank secrets = the stored ones); remember a pass."""
    job = _job(object_id)
    form = CredentialsForm(request.POST, job=job)
    verdict: TestVerdict | None = None
    if form.is_valid() and form.require_complete():
        credentials = form.credentials()
        if wait := test_connection_wait(request.user.pk):
            verdict = rate_limited_verdict(wait)
        else:
            timeout = settings.PROVISIONING_TEST_CONNECTION_TIMEOUT
            verdict = run_connection_test(
                credentials, matching=matching_attribute(job), timeout=timeout, job_id=job.pk
            )
            record_test(job, credentials, verdict)
    context = {
        "verdict": verdict,
        "test_form": form,
        "differs_from_saved": verdict is not None and form.credentials() != Credentials.from_job(job),
    }
    if request.htmx:
        return render(request, TEST_RESULT, context)
    # Without JavaScript: the whole page, the entered values kept (secrets are never echoed back).
    entered = {k: v for k, v in request.POST.items() if k not in Credentials.SECRET_FIELDS}
    page_form = ProvisioningConfigurationForm(job=job, initial=entered)
    return render(request, PAGE, _context(job, page_form, **context))
