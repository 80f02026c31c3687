"""The API tokens page: create a personal token (shown once), see and revoke your tokens.

It lives under ``/api/tokens/``, which the portal's access-policy middleware leaves to the API, so the
role check is made here: any portal role (or app ownership) may hold tokens, since a token acts with
its owner's roles and no more. Global Administrators also see and may revoke everyone's tokens.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.middleware import forbidden
from portal.accounts.roles import Capability, PortalRole, has_capability, roles_of
from portal.api.models import DEFAULT_EXPIRY_DAYS, ApiToken, record_token_issued
from portal.audit import audit_user

EXPIRY_CHOICES = [
    (7, _("7 days")),
    (30, _("30 days")),
    (90, _("90 days")),
    (180, _("180 days")),
    (366, _("1 year")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “nightly onboarding script”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    days = forms.TypedChoiceField(
        label=_("Expires after"), choices=EXPIRY_CHOICES, coerce=int, initial=DEFAULT_EXPIRY_DAYS
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name


def _may_hold_tokens(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.PORTAL_ACCESS)


def _is_global_admin(user: Any) -> bool:
    return PortalRole.GLOBAL_ADMINISTRATOR in roles_of(user)


def _context(request: HttpRequest, form: TokenForm, **extra: Any) -> dict[str, Any]:
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "breadcrumbs": [(_("API tokens"), None)],
        "roles": sorted(role.label for role in roles_of(request.user)),
        **extra,
    }
    if _is_global_admin(request.user):
        context["all_tokens"] = ApiToken.objects.select_related("user").exclude(user=request.user)[:500]
    return context


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    if not _may_hold_tokens(request):
        return forbidden(request, "API tokens act with your portal roles, and you have none.")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, plain = ApiToken.issue(request.user, form.cleaned_data["name"], form.cleaned_data["days"])
        record_token_issued(request.user, token)
        response = render(
            request, "api/tokens.html", _context(request, TokenForm(), created=token, plain=plain)
        )
        response["Cache-Control"] = "no-store"  # the only response that ever holds the token
        return response
    return render(request, "api/tokens.html", _context(request, form))


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_hold_tokens(request):
        return forbidden(request, "API tokens act with your portal roles, and you have none.")
    tokens = (
        ApiToken.objects.all()
        if _is_global_admin(request.user)
        else ApiToken.objects.filter(user=request.user)
    )
    token = get_object_or_404(tokens.select_related("user"), pk=pk)
    if token.revoke():
        audit_user(
            request.user, token.user, "Revoke API token", [("name", token.name, None)], "Authentication"
        )
        messages.success(request, f"Revoked “{token.name}”. Scripts using it now get 401.")
    return redirect("api_tokens:list")
