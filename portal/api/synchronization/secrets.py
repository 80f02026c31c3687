"""``…/synchronization/secrets`` and ``…/jobs/{jobId}/validateCredentials``: the job's credentials and settings.

Secrets are write-only: no response contains them. validateCredentials makes a real request to the target
(``provisioning.sync.credentials``) and remembers what passed, as the blade's Test Connection does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from ninja import Router

from portal.api.common import caller, no_content, responses
from portal.api.errors import ApiError, bad_request, conflict
from portal.api.schemas import SecretsRequest, ValidateCredentialsRequest
from portal.api.service_principals import get_application
from portal.api.synchronization.jobs import JOB_ID, WRITE, get_job
from provisioning.connectors.scim.compat import SWITCHES, Compatibility
from provisioning.forms.configuration import THRESHOLD_MAX
from provisioning.models import (
    AuthMethod,
    ProvisioningJob,
    Scope,
)
from provisioning.sync import control
from provisioning.sync.credentials import (
    Credentials,
    matching_attribute,
    rate_limited_verdict,
    record_test,
    run_connection_test,
    secrets_to_retype,
    test_connection_wait,
)

router = Router(tags=["synchronization"])


# Secret keys → job fields. Keys are Graph's synchronizationSecret names (matched without regard to case).
CREDENTIAL_KEYS = {
    "baseaddress": "tenant_url",
    "secrettoken": "secret_token",
    "authenticationtype": "auth_method",
    "oauth2tokenexchangeuri": "oauth_token_url",
    "oauth2clientid": "oauth_client_id",
    "clientidentifier": "oauth_client_id",
    "oauth2clientsecret": "oauth_client_secret",
    "clientsecret": "oauth_client_secret",
}
SETTING_KEYS = {
    "notificationemail",
    "syncnotificationsettings",
    "syncall",
    "skipoutofscopedeletions",
    "quarantinetoomanydeletesthreshold",
}
SUPPORTED_KEYS = (
    "BaseAddress, SecretToken, AuthenticationType, Oauth2TokenExchangeUri, Oauth2ClientId, Oauth2ClientSecret, "
    "NotificationEmail, SyncNotificationSettings, SyncAll, SkipOutOfScopeDeletions, QuarantineTooManyDeletesThreshold"
)
# Compatibility switches (provisioning.connectors.scim.compat), one setting each: memberRemoval, ...
COMPAT_KEYS = {switch.name.lower(): switch for switch in SWITCHES}
SETTING_KEYS |= set(COMPAT_KEYS)
SUPPORTED_KEYS += ", " + ", ".join(switch.name for switch in SWITCHES)
KEY_OF_FIELD = {
    "tenant_url": "BaseAddress",
    "secret_token": "SecretToken",
    "oauth_token_url": "Oauth2TokenExchangeUri",
    "oauth_client_id": "Oauth2ClientId",
    "oauth_client_secret": "Oauth2ClientSecret",
}
AUTH_TYPES = {
    "bearertoken": AuthMethod.BEARER,
    "bearer": AuthMethod.BEARER,
    "oauth2clientcredentialsgrant": AuthMethod.OAUTH_CLIENT_CREDENTIALS,
    "oauth2_client_credentials": AuthMethod.OAUTH_CLIENT_CREDENTIALS,
}


def _pairs(items: list[Any], container: str, allowed: set[str]) -> dict[str, tuple[int, str, str]]:
    """``{lower key: (index, key as sent, value)}``; 400 for an unknown or repeated key."""
    found: dict[str, tuple[int, str, str]] = {}
    for index, item in enumerate(items):
        key = item.key.strip()
        lowered = key.lower()
        if lowered not in allowed:
            raise bad_request(
                f"'{key[:60]}' is not a secret key this portal uses; supported keys: {SUPPORTED_KEYS}.",
                f"{container}[{index}].key",
            )
        if lowered in found:
            raise bad_request(f"The key '{key}' appears twice.", f"{container}[{index}].key")
        found[lowered] = (index, key, item.value or "")
    return found


def _bool(value: str, target: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise bad_request(f"Use True or False, not '{value[:40]}'.", target)
    return text == "true"


def _credential_values(pairs: dict[str, tuple[int, str, str]], container: str) -> dict[str, str]:
    from provisioning.sync.credentials import validate_url

    values: dict[str, str] = {}
    for lowered, (index, key, value) in pairs.items():
        name = CREDENTIAL_KEYS.get(lowered)
        if name is None:
            continue
        target = f"{container}[{index}].value"
        value = value.strip()
        if name == "auth_method":
            method = AUTH_TYPES.get(value.lower())
            if method is None:
                raise bad_request(
                    "AuthenticationType is BearerToken or OAuth2ClientCredentialsGrant.", target
                )
            value = method
        elif name in ("tenant_url", "oauth_token_url") and value:
            what = "tenant URL" if name == "tenant_url" else "token endpoint"
            if problem := validate_url(value, what):
                raise bad_request(f"{key}: {problem}", target)
            if len(value) > 500:
                raise bad_request(f"{key}: at most 500 characters.", target)
        elif name == "oauth_client_id" and len(value) > 256:
            raise bad_request(f"{key}: at most 256 characters.", target)
        values[name] = value
    return values


def _refuse_stale_secrets(stored: Credentials, entered: dict[str, str], container: str) -> None:
    """400, one detail per secret, when a stored secret would go to a new destination (the blade's rule)."""
    stale = secrets_to_retype(stored, entered)
    if not stale:
        return
    details = [
        {
            "code": "SecretRequired",
            "message": f"{KEY_OF_FIELD[name]}: {message}",
            "target": KEY_OF_FIELD[name],
        }
        for name, message in stale.items()
    ]
    raise bad_request(details[0]["message"], container, details=details)


def _setting_values(pairs: dict[str, tuple[int, str, str]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for lowered, (index, _, value) in pairs.items():
        target = f"value[{index}].value"
        if lowered == "notificationemail":
            values["notification_email"] = _email(value, target)
        elif lowered == "syncall":
            values["scope"] = Scope.ALL if _bool(value, target) else Scope.ASSIGNED
        elif lowered == "skipoutofscopedeletions":
            values["skip_out_of_scope_deletions"] = _bool(value, target)
        elif lowered == "quarantinetoomanydeletesthreshold":
            values["deletion_threshold"] = _threshold(value, target)
        elif lowered == "syncnotificationsettings":
            values.update(_notification_settings(value, target))
        elif lowered in COMPAT_KEYS:
            switch = COMPAT_KEYS[lowered]
            try:
                Compatibility.from_dict({switch.name: value.strip()})
            except ValueError as error:
                raise bad_request(str(error), target) from None
            values.setdefault("compatibility", {})[switch.name] = value.strip()
    return values


def _email(value: str, target: str) -> str:
    value = value.strip()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise bad_request(f"'{value[:100]}' is not a valid email address.", target) from None
        if len(value) > 254:
            raise bad_request("An email address has at most 254 characters.", target)
    return value


def _threshold(value: Any, target: str) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,7}", text) or not 1 <= int(text) <= THRESHOLD_MAX:
        raise bad_request(f"The deletion threshold is a whole number from 1 to {THRESHOLD_MAX}.", target)
    return int(text)


def _notification_settings(value: str, target: str) -> dict[str, Any]:
    """Graph's JSON: ``{"Enabled": true, "Recipients": "a@contoso.com", "DeleteThresholdEnabled": true,
    "DeleteThresholdValue": 500}``."""
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise bad_request(
            'SyncNotificationSettings is JSON such as {"Enabled": true, "Recipients": "…"}.', target
        )
    values: dict[str, Any] = {}
    for name, field in (
        ("Enabled", "notify_on_failure"),
        ("DeleteThresholdEnabled", "prevent_accidental_deletion"),
    ):
        if name in data:
            if not isinstance(data[name], bool):
                raise bad_request(f"SyncNotificationSettings.{name} is true or false.", target)
            values[field] = data[name]
    if "Recipients" in data:
        if not isinstance(data["Recipients"], str):
            raise bad_request("SyncNotificationSettings.Recipients is an email address.", target)
        values["notification_email"] = _email(data["Recipients"].split(";")[0], target)
    if "DeleteThresholdValue" in data:
        values["deletion_threshold"] = _threshold(data["DeleteThresholdValue"], target)
    return values


@router.put(
    "/servicePrincipals/{id}/synchronization/secrets",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="saveSynchronizationSecrets",
    summary="Save the admin credentials and notification settings (write-only: never returned)",
)
def save_secrets(request: HttpRequest, id: str, payload: SecretsRequest) -> HttpResponse:
    application = get_application(request, id)
    job = ProvisioningJob.objects.select_related("application").filter(application=application).first()
    if job is None:
        raise conflict("This application has no synchronization job: POST …/synchronization/jobs first.")
    pairs = _pairs(payload.value, "value", set(CREDENTIAL_KEYS) | SETTING_KEYS)
    entered = _credential_values(pairs, "value")
    stored = Credentials.from_job(job)
    _refuse_stale_secrets(stored, entered, "value")
    merged = stored.with_changes(**entered)
    # A secret not sent keeps its stored value unless its destination changed (then it is dropped);
    # one sent empty clears it.
    secrets = {name: getattr(merged, name) for name in Credentials.SECRET_FIELDS if name not in entered}
    new = {**entered, **secrets, **_setting_values(pairs)}
    if "compatibility" in new:  # only the switches sent change; the others keep their value
        new["compatibility"] = Compatibility.from_dict(
            {**job.compat.to_dict(), **new["compatibility"]}
        ).changed()
    notify = new.get("notify_on_failure", job.notify_on_failure)
    email = new.get("notification_email", job.notification_email)
    if notify and not email:
        raise bad_request(
            "Failure notifications need an address: add NotificationEmail (or Recipients).", "value"
        )
    control.save_settings(job, new, actor=caller(request))  # the audit entry redacts the secrets
    return no_content()


VERDICT_CODES = {
    "invalid_token": "InvalidCredentials",
    "authorization_expired": "AuthorizationGrantInvalid",  # Authorize again, in the portal
    "invalid_url": "InvalidBaseAddress",
    "filter_ignored": "SystemForCrossDomainIdentityManagementServiceIncompatible",
    "not_scim": "SystemForCrossDomainIdentityManagementServiceIncompatible",
    "destination_not_allowed": "DestinationNotAllowed",
}


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/validateCredentials",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="validateSynchronizationCredentials",
    summary="Test Connection: a real request to the target with the given (or saved) credentials",
)
def validate_credentials(
    request: HttpRequest, id: str, payload: ValidateCredentialsRequest, job_id: str = JOB_ID
) -> HttpResponse:
    job = get_job(request, id, job_id)
    stored = Credentials.from_job(job)
    if payload.useSavedCredentials:
        credentials = stored
    else:
        pairs = _pairs(payload.credentials, "credentials", set(CREDENTIAL_KEYS) | SETTING_KEYS)
        entered = _credential_values(pairs, "credentials")
        _refuse_stale_secrets(stored, entered, "credentials")
        credentials = stored.with_changes(**entered)
    missing = credentials.missing()
    if missing:
        name, message = next(iter(missing.items()))
        raise bad_request(f"{KEY_OF_FIELD.get(name, name)}: {message}", "credentials")
    if wait := test_connection_wait(getattr(caller(request), "pk", None)):
        raise ApiError(
            429, rate_limited_verdict(wait).message, headers={"Retry-After": str(wait)}, target="credentials"
        )
    timeout = settings.PROVISIONING_TEST_CONNECTION_TIMEOUT
    verdict = run_connection_test(
        credentials, matching=matching_attribute(job), timeout=timeout, job_id=job.pk
    )
    record_test(job, credentials, verdict)
    if verdict.ok:
        return no_content()
    message = credentials.scrub(" ".join(part for part in (verdict.message, verdict.hint) if part))
    raise ApiError(
        400,
        message,
        code=VERDICT_CODES.get(
            verdict.code, "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"
        ),
        target="credentials",
        details=[
            {"code": verdict.code, "message": credentials.scrub(verdict.message), "target": "credentials"}
        ],
    )
