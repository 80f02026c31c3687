"""The Provisioning page's form: mode, admin credentials, settings and status, saved in one step.

Rules the admin sees as field errors (Entra's, plus our stricter ones):

* secrets are write-only: the inputs never show them, a blank input keeps the stored value;
* provisioning can be switched On only with credentials whose fingerprint passed Test Connection
  (so changing the token after a successful test needs another test);
* failure notifications and accidental-deletion prevention need a notification email;
* the deletion threshold and the interval are positive whole numbers;
* the mode may go back to Manual (unlike Entra's known issue) but only while provisioning is Off.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from provisioning.connectors.scim.compat import SWITCHES, Compatibility
from provisioning.models import AuthMethod, ProvisioningJob, ProvisioningMode, Scope
from provisioning.sync import control
from provisioning.sync.credentials import Credentials, secrets_to_retype, validate_url

STATUS_CHOICES = [("on", _("On")), ("off", _("Off"))]
THRESHOLD_MAX = 1_000_000
INTERVAL_MAX = 24 * 60

# Saved fields in the order the audit entry lists them ("enabled" has its own audit activities).
SETTINGS_FIELDS = (
    "mode",
    # the admin credentials, but the refresh token: Authorize's callback sets it, nobody types it in
    *(name for name in Credentials.FIELDS if name != "oauth_refresh_token"),
    "notification_email",
    "notification_language",
    "notify_on_failure",
    "prevent_accidental_deletion",
    "deletion_threshold",
    "scope",
    "skip_out_of_scope_deletions",
    "compatibility",
    "near_real_time",
    "interval_minutes",
)


def _whole_number(label: str, maximum: int, error_messages: dict, **kwargs: Any) -> forms.IntegerField:
    """A count from 1 to ``maximum``; the browser's spinner steps by one."""
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=maximum,
        error_messages=error_messages,
        widget=forms.NumberInput(attrs={"min": 1, "step": 1}),
        **kwargs,
    )


def _secret_field(label: str, help_text: str) -> forms.CharField:
    # render_value=False: a secret is never written back into the page, not even after an error.
    widget = forms.PasswordInput(
        render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
    )
    return forms.CharField(label=label, required=False, max_length=4096, widget=widget, help_text=help_text)


def _url_field(label: str, help_text: str = "") -> forms.CharField:
    widget = forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    return forms.CharField(label=label, required=False, max_length=500, help_text=help_text, widget=widget)


class CredentialsForm(forms.Form):
    """Admin Credentials: what Test Connection needs. Blank secrets mean "keep the stored one"."""

    auth_method = forms.ChoiceField(
        label=_("Authentication method"),
        choices=AuthMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose Bearer token or OAuth 2 client credentials.")},
    )
    tenant_url = _url_field(
        _("Tenant URL"),
        help_text=_("The application's SCIM 2.0 base URL, e.g. https://app.example.com/scim/v2"),
    )
    secret_token = _secret_field(
        _("Secret Token"), _("Sent as Authorization: Bearer. Leave blank to keep the stored token.")
    )
    clear_secret_token = forms.BooleanField(label=_("Remove the stored secret token"), required=False)
    oauth_token_url = _url_field(_("Token endpoint"))
    oauth_client_id = forms.CharField(label=_("Client identifier"), required=False, max_length=256)
    oauth_client_secret = _secret_field(_("Client secret"), _("Leave blank to keep the stored secret."))
    oauth_scope = forms.CharField(label=_("Scope"), required=False, max_length=256)
    oauth_authorize_url = _url_field(
        _("Authorization endpoint"), help_text=_("Where Authorize sends you to sign in to the application.")
    )

    def __init__(self, *args: Any, job: ProvisioningJob, **kwargs: Any):
        kwargs.setdefault("initial", _initial(job))
        super().__init__(*args, **kwargs)
        self.job = job
        try:
            template = job.application.template
        except KeyError:  # the app's gallery template was removed since
            template = None
        default_url = template.default_tenant_url if template else None
        if default_url:
            self.fields["tenant_url"].widget.attrs["placeholder"] = default_url
        # Authorize is offered only for apps whose template declares it (or that already use it).
        self.supports_authorize = bool(template and template.supports_authorize) or (
            job.auth_method == AuthMethod.OAUTH_AUTHORIZATION_CODE
        )
        if not self.supports_authorize:
            self.fields["auth_method"].choices = [
                c for c in AuthMethod.choices if c[0] != AuthMethod.OAUTH_AUTHORIZATION_CODE
            ]
        defaults = template.oauth_authorization if template else None
        if defaults:
            for name, value in (
                ("oauth_authorize_url", defaults.authorization_url),
                ("oauth_token_url", defaults.token_url),
                ("oauth_scope", defaults.scope),
            ):
                if value and not self.initial.get(name):
                    self.initial[name] = value

    def clean_tenant_url(self) -> str:
        return self._clean_url("tenant_url", "tenant URL")

    def clean_oauth_token_url(self) -> str:
        return self._clean_url("oauth_token_url", "token endpoint")

    def _clean_url(self, name: str, described: str) -> str:
        value = self.cleaned_data[name].strip()
        if value and (problem := validate_url(value, described)):
            raise forms.ValidationError(problem)
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # A stored secret never follows a changed tenant URL, token endpoint or method: ask for it again.
        for name, message in secrets_to_retype(self._stored(), self._entered()).items():
            self.add_error(name, message)
        return cleaned

    def _stored(self) -> Credentials:
        stored = Credentials.from_job(self.job)
        if self.cleaned_data.get("clear_secret_token"):  # a token typed in at the same time still wins
            stored = replace(stored, secret_token="")
        return stored

    def _entered(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data.get(name, "") for name in Credentials.FIELDS if name in data}

    def clean_oauth_authorize_url(self) -> str:
        return self._clean_url("oauth_authorize_url", "authorization endpoint")

    def credentials(self) -> Credentials:
        """The credentials this form would save: entered values over the stored ones."""
        return self._stored().with_changes(**self._entered())

    def require_complete(self) -> bool:
        """Add a field error for each blank required credential; True when none is missing."""
        if self.errors:
            return False
        missing = self.credentials().missing()
        for name, message in missing.items():
            self.add_error(name, message)
        return not missing


class ProvisioningConfigurationForm(CredentialsForm):
    """Everything on the Provisioning page. ``save()`` applies, audits, and starts or stops the job."""

    mode = forms.ChoiceField(
        label=_("Provisioning Mode"),
        choices=ProvisioningMode.choices,
        error_messages={"invalid_choice": _("Choose Automatic or Manual.")},
    )
    notification_email = forms.EmailField(
        label=_("Notification Email"),
        required=False,
        max_length=254,
        error_messages={"invalid": _("Enter a valid email address, such as admin@contoso.com.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    notify_on_failure = forms.BooleanField(
        label=_("Send an email notification when a failure occurs"), required=False
    )
    notification_language = forms.ChoiceField(
        label=_("Notification language"),
        choices=[("", _("English (default)")), *[(c, n) for c, n in settings.LANGUAGES if c != "en"]],
        required=False,
        help_text=_(
            "For an address that is not a portal user's; a portal user gets emails in their own language."
        ),
    )
    prevent_accidental_deletion = forms.BooleanField(label=_("Prevent accidental deletion"), required=False)
    deletion_threshold = _whole_number(
        _("Accidental deletion threshold"),
        THRESHOLD_MAX,
        {
            "invalid": _("Enter the threshold as a whole number, such as 500."),
            "min_value": _("The threshold must be a positive whole number (1 or more)."),
            "max_value": f"The threshold can be at most {THRESHOLD_MAX:,}.",
        },
        required=False,
        help_text=_("Deletes and disables allowed per cycle before provisioning is quarantined."),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=Scope.choices,
        error_messages={"invalid_choice": _("Choose which users and groups to sync.")},
    )
    skip_out_of_scope_deletions = forms.BooleanField(
        label=_("Skip out-of-scope deletions (don't disable accounts that leave the scope)"), required=False
    )
    near_real_time = forms.BooleanField(
        label=_("Near-real-time provisioning (sync directory changes as they happen)"), required=False
    )
    interval_minutes = _whole_number(
        _("Interval between cycles (minutes)"),
        INTERVAL_MAX,
        {
            "required": _("Enter the interval in minutes, such as 40."),
            "invalid": _("Enter the interval as a whole number of minutes, such as 40."),
            "min_value": _("The interval must be at least 1 minute."),
            "max_value": f"The interval can be at most {INTERVAL_MAX} minutes (a day).",
        },
    )
    enabled = forms.ChoiceField(
        label=_("Provisioning Status"),
        choices=STATUS_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose On or Off.")},
    )

    field_order = [
        "mode",
        "auth_method",
        "tenant_url",
        "secret_token",
        "clear_secret_token",
        "oauth_token_url",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
        "oauth_authorize_url",
    ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        turning_on = cleaned.get("enabled") == "on"
        email = cleaned.get("notification_email")

        if cleaned.get("notify_on_failure") and not email and "notification_email" not in self.errors:
            self.add_error(
                "notification_email", _("Enter the email address that should receive failure notifications.")
            )
        needs_threshold = (
            cleaned.get("prevent_accidental_deletion") and "deletion_threshold" not in self.errors
        )
        if needs_threshold and cleaned.get("deletion_threshold") is None:
            self.add_error(
                "deletion_threshold", _("Enter how many deletions per cycle are allowed, such as 500.")
            )
        if cleaned.get("mode") == ProvisioningMode.MANUAL and turning_on:
            self.add_error(
                "mode",
                _("Provisioning can only be On in Automatic mode. Turn it Off before switching to Manual."),
            )
        if turning_on and not self.errors:
            self._check_ready_to_run(cleaned)
        return cleaned

    def _check_ready_to_run(self, cleaned: dict[str, Any]) -> None:
        if reason := unsupported_reason(self.job):
            self.add_error("enabled", reason)
            return
        if not self.require_complete():  # a field error on each blank credential, then the rule's message
            self.add_error("enabled", _(control.INCOMPLETE))
            return
        if cleaned.get("prevent_accidental_deletion") and not cleaned.get("notification_email"):
            self.add_error(
                "notification_email",
                _(
                    "Accidental-deletion prevention alerts this address when it stops a cycle: enter a notification "
                    "email, or turn prevention off."
                ),
            )
        credentials = self.credentials()
        if self.job.enabled and credentials == Credentials.from_job(self.job):
            return  # already On with what it runs with: saving other settings needs no new test
        if refusal := control.turn_on_refusal(self.job, mode=cleaned.get("mode"), credentials=credentials):
            self.add_error("enabled", _(refusal.message))

    def changes(self) -> list[tuple[str, Any, Any]]:
        """``[(field, old, new)]`` for every saved field that differs (secrets compared, never shown)."""
        credentials = self.credentials()
        new = self._new_values(credentials)
        return [
            (name, getattr(self.job, name), new[name])
            for name in SETTINGS_FIELDS
            if getattr(self.job, name) != new[name]
        ]

    def _new_values(self, credentials: Credentials) -> dict[str, Any]:
        data = self.cleaned_data
        values = {name: getattr(credentials, name) for name in Credentials.FIELDS}
        values["compatibility"] = Compatibility(
            **{s.field: data.get(f"compat_{s.field}") or s.default for s in SWITCHES}
        ).changed()
        values.update({name: data[name] for name in SETTINGS_FIELDS if name not in values})
        if values["deletion_threshold"] is None:  # blank while prevention is off: keep the number
            values["deletion_threshold"] = self.job.deletion_threshold
        return values

    def save(self, *, actor: Any = None) -> SaveOutcome:
        """Apply the form to the job in one transaction (audited), then turn it On or Off."""
        job = self.job
        turn_on = self.cleaned_data["enabled"] == "on"
        new = self._new_values(self.credentials())
        with transaction.atomic():
            changed = control.save_settings(job, {name: new[name] for name in SETTINGS_FIELDS}, actor=actor)
            outcome = SaveOutcome(changed=changed)
            if turn_on and not job.enabled:
                control.turn_on(job, actor=actor)
                outcome.started = True
            elif not turn_on and job.enabled:
                control.turn_off(job, actor=actor)
                outcome.stopped = True
        return outcome


def _switch_field(switch: Any) -> forms.ChoiceField:
    # The switch tables are pure (no Django): their texts are in portal/i18n/stored.py for the catalogues.
    allowed = ", ".join(label for _, label in switch.choices)
    return forms.ChoiceField(
        label=format_lazy("{} ({})", _(switch.label), switch.name),
        choices=[(value, _(label)) for value, label in switch.choices],
        initial=switch.default,
        required=False,
        error_messages={"invalid_choice": f"Choose one of: {allowed}."},
    )


for _switch in SWITCHES:  # Advanced settings: one field per compatibility switch
    ProvisioningConfigurationForm.base_fields[f"compat_{_switch.field}"] = _switch_field(_switch)
COMPAT_FIELDS = tuple(f"compat_{s.field}" for s in SWITCHES)


def unsupported_reason(job: ProvisioningJob) -> str:
    """Why this app's provisioning can't be turned On (its gallery template is not supported yet)."""
    return job.not_supported


@dataclass
class SaveOutcome:
    changed: list[str] = field(default_factory=list)
    started: bool = False
    stopped: bool = False

    @property
    def nothing(self) -> bool:
        return not (self.changed or self.started or self.stopped)


def _initial(job: ProvisioningJob) -> dict[str, Any]:
    values = {name: getattr(job, name) for name in SETTINGS_FIELDS}
    compat = job.compat
    values.update({f"compat_{s.field}": getattr(compat, s.field) for s in SWITCHES})
    for name in Credentials.SECRET_FIELDS:
        values[name] = ""  # never an initial value for a secret
    values["enabled"] = "on" if job.enabled else "off"
    return values
