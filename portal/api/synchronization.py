"""``/servicePrincipals/{id}/synchronization``: templates, the job, its schema, credentials and control.

The portal runs one provisioning job per application and creates it with the application (the blades
need it from the start). ``POST …/jobs`` therefore hands back that job, 201, while it is still
``NotConfigured``; ``DELETE …/jobs/{jobId}`` resets it to that state with a new id (escrow, watermark
and mappings are forgotten; provisioning logs are kept, they are the audit trail).

Everything goes through the same functions as the blade: ``provisioning.sync.control`` and
``provisioning.forms.configuration.set_status`` to start and stop (with their audit entries), ``provisioning.sync.credentials``
to test credentials (a real request to the target) and remember what passed, the mapping editor's
validators for the schema. Secrets are write-only: no response contains them.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import Body, Path, Router, Status

from portal.accounts.roles import Capability
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import DUMP, caller, iso_duration, no_content, parse_object_id, responses
from portal.api.errors import ApiError, bad_request, conflict, not_found
from portal.api.schemas import (
    CreateJobRequest,
    OnDemandResult,
    ProvisionOnDemandRequest,
    RestartRequest,
    SecretsRequest,
    SynchronizationJob,
    SynchronizationJobCollection,
    SynchronizationSchema,
    SynchronizationTemplateCollection,
    ValidateCredentialsRequest,
)
from portal.api.service_principals import get_application
from portal.api.sync_schema import (
    save_schema,
    synchronization_schema,
    template_key,
    template_schema,
)
from portal.applications import services
from portal.applications.models import Application
from portal.audit import Activity, record_audit
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.connectors.scim.compat import SWITCHES, Compatibility
from provisioning.engine.target_protocol import TargetError
from provisioning.forms.configuration import THRESHOLD_MAX, set_status, unsupported_reason
from provisioning.models import (
    AuthMethod,
    Cycle,
    CycleKind,
    CycleStatus,
    EscrowEntry,
    EscrowState,
    JobState,
    ProvisioningJob,
    ProvisioningLog,
    ProvisioningMode,
    Scope,
)
from provisioning.sync import control, cycles, quarantine, stalls
from provisioning.sync.credentials import (
    Credentials,
    credentials_tested,
    matching_attribute,
    rate_limited_verdict,
    record_test,
    run_connection_test,
    secrets_to_retype,
    test_connection_wait,
)

router = Router(tags=["synchronization"])
C = Capability
NEVER = datetime(1, 1, 1, tzinfo=UTC)  # Graph's "not yet" for the steady-state times
JOB_ID = Path(..., alias="jobId", description="The job id, e.g. scimgeneric.<hex>.<hex>")
OPTIONAL_BODY = Body(None)  # restart may be posted without a body
READ = requires(C.PROVISIONING_READ, app=True)
WRITE = requires(C.PROVISIONING_WRITE, app=True)

# Graph's quarantine reasons, from the engine's.
QUARANTINE_REASONS = {
    "EncounteredQuarantineException": "EncounteredQuarantineException",
    "EncounteredEscrowProportionThreshold": "EncounteredEscrowProportionThreshold",
    "TooManyDeletes": "TooManyDeletes",
}
RESET_SCOPES = {
    "none": "None",
    "connectordatastore": "ConnectorDataStore",
    "escrows": "Escrows",
    "watermark": "Watermark",
    "quarantinestate": "QuarantineState",
    "full": "Full",
    "forcedeletes": "ForceDeletes",
}


# --- the job ------------------------------------------------------------------------------------------


def get_job(request: HttpRequest, sp_id: str, job_id: str) -> ProvisioningJob:
    application = get_application(request, sp_id)
    job = ProvisioningJob.objects.select_related("application").filter(application=application).first()
    if job is None or job.job_id != job_id:  # compared here: the id is never sent to the database
        raise not_found("jobId", job_id[:200])
    return job


def _execution(cycle: Cycle | None) -> dict[str, Any] | None:
    if cycle is None:
        return None
    exported = cycle.created + cycle.updated + cycle.disabled + cycle.deleted
    if cycle.status == CycleStatus.COMPLETED:
        state = "EntryLevelErrors" if cycle.failed else "Succeeded"
    else:
        state = "Failed"
    error = None
    if cycle.error or cycle.status in (CycleStatus.FAILED, CycleStatus.QUARANTINED):
        error = {"code": cycle.status, "message": cycle.error or None, "tenantActionable": True}
    return {
        "activityIdentifier": str(cycle.cycle_id),
        "countEntitled": cycle.total,
        "countEntitledForProvisioning": cycle.total,
        "countEscrowed": cycle.failed,
        "countEscrowedRaw": cycle.failed,
        "countExported": exported,
        "countExports": exported,
        "countImported": cycle.processed,
        "countImportedDeltas": cycle.processed if cycle.kind == CycleKind.INCREMENTAL else 0,
        "countImportedReferenceDeltas": 0,
        "error": error,
        "state": state,
        "timeBegan": cycle.started_at,
        "timeEnded": cycle.finished_at,
    }


def _status(job: ProvisioningJob) -> dict[str, Any]:
    scheduled = Cycle.objects.filter(job=job).exclude(kind=CycleKind.ON_DEMAND).order_by("-started_at", "-pk")
    open_cycle = scheduled.filter(status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).first()
    finished = scheduled.exclude(status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED])
    completed = finished.filter(status=CycleStatus.COMPLETED)
    with_exports = completed.filter(
        Q(created__gt=0) | Q(updated__gt=0) | Q(disabled__gt=0) | Q(deleted__gt=0)
    )
    counts = dict(
        EscrowEntry.objects.filter(job=job, state__in=[EscrowState.ACTIVE, EscrowState.DISABLED])
        .values_list("object_kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    quarantined = None
    if job.state == JobState.QUARANTINE:
        error = {"code": job.quarantine_reason, "message": job.quarantine_details, "tenantActionable": True}
        quarantined = {
            "currentBegan": job.quarantine_since,
            "nextAttempt": job.next_run_at,
            "reason": QUARANTINE_REASONS.get(job.quarantine_reason, "Unknown"),
            "seriesBegan": job.quarantine_since,
            "seriesCount": 1,
            "error": error,
        }
    code = job.state
    if open_cycle is not None and quarantined is None and stalls.is_stalled(open_cycle):
        # Graph has no "stalled" code; Quarantine is its state for "runs but needs attention". The
        # reason is Unknown (no engine quarantine) and the error says what is wrong.
        code = JobState.QUARANTINE
        quarantined = {
            "currentBegan": open_cycle.progress_at + stalls.stall_after(),
            "nextAttempt": None,
            "reason": "Unknown",
            "seriesBegan": open_cycle.progress_at + stalls.stall_after(),
            "seriesCount": 1,
            "error": {
                "code": "CycleStalled",
                "message": stalls.describe(open_cycle),
                "tenantActionable": True,
            },
        }
    progress = []
    if open_cycle is not None:
        progress.append(
            {
                "completedUnits": open_cycle.processed,
                "progressObservationDateTime": open_cycle.progress_at,  # when progress was last seen
                "totalUnits": open_cycle.total,
                "units": "Objects",
            }
        )
    first_steady = completed.filter(failed=0).order_by("started_at", "pk").first()
    return {
        "code": code,
        "countSuccessiveCompleteFailures": job.count_successive_complete_failures,
        "escrowsPruned": False,
        "lastExecution": _execution(finished.first()),
        "lastSuccessfulExecution": _execution(completed.first()),
        "lastSuccessfulExecutionWithExports": _execution(with_exports.first()),
        "progress": progress,
        "quarantine": quarantined,
        "steadyStateFirstAchievedTime": first_steady.finished_at
        if first_steady and first_steady.finished_at
        else NEVER,
        "steadyStateLastAchievedTime": job.steady_state_at or NEVER,
        "synchronizedEntryCountByType": [
            {"key": kind, "value": counts.get(kind, 0)} for kind in ("User", "Group") if kind in counts
        ],
        "troubleshootingUrl": None,
    }


def job_body(job: ProvisioningJob) -> dict[str, Any]:
    if job.enabled:
        schedule_state = "Active"
    elif job.state in (JobState.NOT_CONFIGURED, JobState.NOT_RUN):
        schedule_state = "Disabled"
    else:
        schedule_state = "Paused"
    return {
        "id": job.job_id,
        "templateId": template_key(job.application.template_id),
        "schedule": {
            "expiration": None,
            "interval": iso_duration(job.interval_minutes),
            "state": schedule_state,
        },
        "status": _status(job),
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": str(job.deletion_threshold)},
            {"name": "AccidentalDeletionPrevention", "value": str(job.prevent_accidental_deletion)},
            {"name": "Scope", "value": "SyncAll" if job.scope == Scope.ALL else "SyncOnlyAssigned"},
            {"name": "NearRealTime", "value": str(job.near_real_time)},
            *({"name": name, "value": value} for name, value in job.compat.to_dict().items()),
        ],
    }


def _audit(
    request: HttpRequest, job: ProvisioningJob, activity: str, changes: list[tuple[str, Any, Any]]
) -> None:
    application = job.application
    record_audit(
        caller(request),
        activity,
        target_type="Application",
        target_id=application.app_id,
        target_name=application.display_name,
        application=application,
        changes=changes,
    )


@router.get(
    "/servicePrincipals/{id}/synchronization/templates",
    response=responses({200: SynchronizationTemplateCollection}),
    auth=READ,
    operation_id="listSynchronizationTemplates",
    summary="The provisioning connector template of the application, with its default schema",
    **DUMP,
)
def list_sync_templates(request: HttpRequest, id: str) -> dict[str, Any]:
    application = get_application(request, id)
    try:
        template = application.template
    except KeyError:
        return {
            "@odata.context": odata.context_url(request, _sync_set(application, "templates")),
            "value": [],
        }
    key = template_key(template.id)
    return {
        "@odata.context": odata.context_url(request, _sync_set(application, "templates")),
        "value": [
            {
                "id": key,
                "applicationId": str(application.app_id),
                "default": True,
                "description": template.description,
                "discoverable": True,
                "factoryTag": key,
                "metadata": [{"key": "galleryApplicationIdentifier", "value": template.id}],
                "schema": template_schema(template),
            }
        ],
    }


@router.get(
    "/servicePrincipals/{id}/synchronization/jobs",
    response=responses({200: SynchronizationJobCollection}),
    auth=READ,
    operation_id="listSynchronizationJobs",
    summary="The application's provisioning job",
    **DUMP,
)
def list_jobs(request: HttpRequest, id: str) -> dict[str, Any]:
    application = get_application(request, id)
    jobs = ProvisioningJob.objects.select_related("application").filter(application=application)
    return {
        "@odata.context": odata.context_url(request, _jobs_set(application)),
        "value": [job_body(job) for job in jobs],
    }


def _sync_set(application: Application, name: str) -> str:
    return f"servicePrincipals('{application.service_principal_id}')/synchronization/{name}"


def _jobs_set(application: Application) -> str:
    return _sync_set(application, "jobs")


def _new_job_id(application: Application) -> str:
    try:
        return services.make_job_id(application.template, application)
    except KeyError:
        return f"{template_key(application.template_id)}.{application.service_principal_id.hex}.{uuid.uuid4().hex}"


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs",
    response=responses({201: SynchronizationJob}),
    auth=WRITE,
    operation_id="createSynchronizationJob",
    summary="Create the provisioning job from the connector template (201; the job starts NotConfigured)",
    **DUMP,
)
def create_job(request: HttpRequest, id: str, payload: CreateJobRequest) -> Any:
    application = get_application(request, id)
    valid = {template_key(application.template_id), application.template_id}
    if payload.templateId not in valid:
        raise bad_request(
            f"'{payload.templateId[:100]}' is not a synchronization template of this application; use "
            f"'{template_key(application.template_id)}' (see …/synchronization/templates).",
            "templateId",
        )
    with transaction.atomic():
        job = ProvisioningJob.objects.select_for_update().filter(application=application).first()
        if job is None:
            try:
                template = application.template
            except KeyError:
                raise conflict("The application's gallery template no longer exists.", "templateId") from None
            job = ProvisioningJob.objects.create(
                application=application,
                job_id=_new_job_id(application),
                mode=ProvisioningMode.AUTOMATIC
                if template.supports_provisioning
                else ProvisioningMode.MANUAL,
                state=JobState.NOT_CONFIGURED,
                compatibility=template.compatibility_switches,
            )
            services.restore_default_mappings(job, actor=caller(request))
        elif job.enabled or job.state != JobState.NOT_CONFIGURED:
            raise conflict(
                f"This application already has a synchronization job ({job.job_id}); the portal runs one job "
                "per application. Use it, or DELETE it first to start over.",
                "templateId",
            )
    job.refresh_from_db()
    return Status(201, odata.entity(request, _jobs_set(application), job_body(job)))


@router.get(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}",
    response=responses({200: SynchronizationJob}),
    auth=READ,
    operation_id="getSynchronizationJob",
    summary="The job: schedule, status (progress, last executions, quarantine, steady state) and settings",
    **DUMP,
)
def get_sync_job(request: HttpRequest, id: str, job_id: str = JOB_ID) -> dict[str, Any]:
    job = get_job(request, id, job_id)
    return odata.entity(request, _jobs_set(job.application), job_body(job))


@router.delete(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="deleteSynchronizationJob",
    summary="Stop the job and forget its state (escrow, watermark, mappings); the job gets a new id",
)
def delete_job(request: HttpRequest, id: str, job_id: str = JOB_ID) -> HttpResponse:
    job = get_job(request, id, job_id)
    actor = caller(request)
    if job.enabled:
        set_status(job, False, actor=actor)
    with transaction.atomic():
        cycles.close_open_cycles(job, CycleStatus.FAILED, "The synchronization job was deleted.")
        EscrowEntry.objects.filter(job=job).delete()
        with contextlib.suppress(KeyError):  # the gallery template is gone: keep the mappings
            services.restore_default_mappings(job, actor=actor)
        old_id = job.job_id
        ProvisioningJob.objects.filter(pk=job.pk).update(
            job_id=_new_job_id(job.application),
            enabled=False,
            state=JobState.NOT_CONFIGURED,
            watermark=0,
            needs_full_sync=True,
            force_deletes_once=False,
            next_run_at=None,
            steady_state_at=None,
            count_successive_complete_failures=0,
            quarantine_reason="",
            quarantine_since=None,
            quarantine_details="",
        )
        _audit(request, job, Activity.UPDATE_PROVISIONING, [("job_id", old_id, "deleted")])
    return no_content()


# --- control ----------------------------------------------------------------------------------------------


def _start(request: HttpRequest, job: ProvisioningJob) -> None:
    """Graph's start: resume, or run the next cycle now; a quarantine is lifted. Refuses an untested job."""
    if job.mode != ProvisioningMode.AUTOMATIC:
        raise conflict("This application is in Manual provisioning mode; it can't be started.")
    if reason := unsupported_reason(job):
        raise conflict(reason)
    if not job.tenant_url:
        raise conflict(
            "The job is not configured: save BaseAddress and SecretToken with PUT "
            "/servicePrincipals/{id}/synchronization/secrets first."
        )
    if not credentials_tested(job):
        raise conflict(
            "The saved credentials have not passed validateCredentials (or changed since they did). "
            "POST …/validateCredentials with them, then start."
        )
    if job.state == JobState.QUARANTINE:
        quarantine.leave(job)
        job.refresh_from_db()
    if not job.enabled:
        set_status(job, True, actor=caller(request))


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/start",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="startSynchronizationJob",
    summary="Start (or resume) provisioning; a quarantine is lifted",
)
def start(request: HttpRequest, id: str, job_id: str = JOB_ID) -> HttpResponse:
    _start(request, get_job(request, id, job_id))
    return no_content()


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/pause",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="pauseSynchronizationJob",
    summary="Pause provisioning: a running cycle stops at the next page and resumes on start",
)
def pause(request: HttpRequest, id: str, job_id: str = JOB_ID) -> HttpResponse:
    job = get_job(request, id, job_id)
    if job.enabled:
        set_status(job, False, actor=caller(request))
    return no_content()


def parse_reset_scope(text: str | None) -> list[str]:
    """``"Watermark, Escrows"`` → ``["Watermark", "Escrows"]``; 400 naming criteria.resetScope otherwise."""
    scopes: list[str] = []
    for part in re.split(r"[,;]", text or ""):
        word = part.strip()
        if not word:
            continue
        canonical = RESET_SCOPES.get(word.lower())
        if canonical is None:
            raise bad_request(
                f"'{word[:60]}' is not a reset scope; use a comma-separated list of {', '.join(RESET_SCOPES.values())}.",
                "criteria.resetScope",
            )
        if canonical not in scopes:
            scopes.append(canonical)
    return scopes


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/restart",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="restartSynchronizationJob",
    summary="Restart: forget watermark, failures and quarantine and run an initial cycle (criteria.resetScope)",
)
def restart(
    request: HttpRequest, id: str, job_id: str = JOB_ID, payload: RestartRequest | None = OPTIONAL_BODY
) -> HttpResponse:
    job = get_job(request, id, job_id)
    text = payload.criteria.resetScope if payload and payload.criteria else None
    scopes = parse_reset_scope(text)
    if scopes == ["None"]:
        _start(request, job)  # Graph: "None" starts a paused or quarantined job
        return no_content()
    if "ForceDeletes" in scopes:
        control.restart(job, reset_scope="ForceDeletes")
    elif "Full" in scopes or "ConnectorDataStore" in scopes:
        control.restart(job, reset_scope="Full")
    else:
        control.restart(job)
    _audit(request, job, Activity.RESTART_PROVISIONING, [("reset_scope", "", ", ".join(scopes) or "Restart")])
    return no_content()


# --- credentials --------------------------------------------------------------------------------------------

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
    changes = [
        (name, getattr(job, name), value) for name, value in new.items() if getattr(job, name) != value
    ]
    notify = new.get("notify_on_failure", job.notify_on_failure)
    email = new.get("notification_email", job.notification_email)
    if notify and not email:
        raise bad_request(
            "Failure notifications need an address: add NotificationEmail (or Recipients).", "value"
        )
    if not changes:
        return no_content()
    with transaction.atomic():
        fields = [name for name, _, _ in changes]
        for name in fields:
            setattr(job, name, new[name])
        if "scope" in fields:
            job.needs_full_sync = True  # a scope change takes effect with an initial cycle, as in Entra
            fields.append("needs_full_sync")
        if job.state == JobState.NOT_CONFIGURED and job.tenant_url and job.mode == ProvisioningMode.AUTOMATIC:
            job.state = JobState.NOT_RUN
            fields.append("state")
        job.save(update_fields=fields)
        _audit(request, job, Activity.UPDATE_PROVISIONING, changes)  # record_audit redacts the secrets
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
    timeout = getattr(settings, "PROVISIONING_TEST_CONNECTION_TIMEOUT", 10)
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


# --- provision on demand ----------------------------------------------------------------------------------


@router.post(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand",
    response=responses({200: OnDemandResult}, 501),
    auth=WRITE,
    operation_id="provisionOnDemand",
    summary="Provision one user or group now; the result and the provisioning log record, as JSON strings",
    **DUMP,
)
def provision_on_demand(
    request: HttpRequest, id: str, payload: ProvisionOnDemandRequest, job_id: str = JOB_ID
) -> dict[str, Any]:
    job = get_job(request, id, job_id)
    try:
        from provisioning.sync.operations import provision_on_demand as run_on_demand
    except ImportError:
        raise ApiError(
            501, "Provision on demand is not available on this server.", code="notImplemented"
        ) from None
    subjects = payload.parameters[0].subjects
    if len(subjects) != 1:
        raise bad_request("Send one subject per request.", "parameters[0].subjects")
    subject = subjects[0]
    kind = {"user": "User", "group": "Group"}.get(subject.objectTypeName.strip().lower())
    if kind is None:
        raise bad_request("objectTypeName is User or Group.", "parameters[0].subjects[0].objectTypeName")
    object_id = parse_object_id(subject.objectId, "parameters[0].subjects[0].objectId")
    model = DirectoryUser if kind == "User" else DirectoryGroup
    if not model.objects.filter(object_id=object_id).exists():
        raise not_found("parameters[0].subjects[0].objectId", object_id)
    if not job.tenant_url:
        raise conflict("The job is not configured: save BaseAddress and SecretToken first.")
    try:
        outcome = run_on_demand(job, kind, str(object_id))
    except TargetError as error:  # the target could not be reached at all: Graph reports it as a result
        failure = {
            "result": "Failure",
            "details": {"errorCode": error.code, "errorMessage": credentials_safe(job, error.reason)},
        }
        return {"key": json.dumps(failure), "value": json.dumps({})}
    from portal.api.audit_logs import summary

    entry = (
        ProvisioningLog.objects.select_related("job__application")
        .filter(job=job, change_id=outcome.change_id)
        .first()
    )
    result = {
        "result": {"success": "Success", "failure": "Failure", "warning": "Warning"}.get(
            outcome.status, "Skipped"
        ),
        "details": {
            "errorCode": outcome.error.code if outcome.error else None,
            "errorMessage": credentials_safe(job, outcome.error.reason) if outcome.error else None,
        },
    }
    value = summary(request, entry) if entry is not None else {}
    return {"key": json.dumps(result), "value": json.dumps(value, default=str)}


def credentials_safe(job: ProvisioningJob, text: str) -> str:
    return Credentials.from_job(job).scrub(text)


# --- schema ---------------------------------------------------------------------------------------------


@router.get(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({200: SynchronizationSchema}),
    auth=READ,
    operation_id="getSynchronizationSchema",
    summary="The job's object and attribute mappings as Graph's synchronizationSchema",
    **DUMP,
)
def get_schema(request: HttpRequest, id: str, job_id: str = JOB_ID) -> dict[str, Any]:
    job = get_job(request, id, job_id)
    schema = synchronization_schema(
        job.job_id, template_key(job.application.template_id), list(job.object_mappings.all())
    )
    return odata.entity(request, f"{_jobs_set(job.application)}('{job.job_id}')/schema", schema)


@router.put(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="updateSynchronizationSchema",
    summary="Replace the mappings (validated like the mapping editor); a change means the next cycle is initial",
)
def put_schema(
    request: HttpRequest, id: str, payload: SynchronizationSchema, job_id: str = JOB_ID
) -> HttpResponse:
    return _update_schema(request, id, payload, job_id)


@router.patch(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="patchSynchronizationSchema",
    summary="The same update as PUT (what Microsoft's Graph SDKs send); properties left out keep their values",
)
def patch_schema(
    request: HttpRequest, id: str, payload: SynchronizationSchema, job_id: str = JOB_ID
) -> HttpResponse:
    return _update_schema(request, id, payload, job_id)


def _update_schema(
    request: HttpRequest, id: str, payload: SynchronizationSchema, job_id: str
) -> HttpResponse:
    job = get_job(request, id, job_id)
    changed, problems = save_schema(job, payload)
    if problems.items:
        target, message = problems.items[0]
        more = len(problems.items) - 1
        raise bad_request(
            f"Invalid value for '{target}': {message}."
            + (f" ({more} more problem(s) in details.)" if more else ""),
            target,
            details=[{"code": "InvalidValue", "message": m, "target": t} for t, m in problems.items[:50]],
        )
    if changed:
        _audit(request, job, Activity.UPDATE_MAPPINGS, [("object_mappings", None, ", ".join(changed))])
    return no_content()


@router.delete(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="resetSynchronizationSchema",
    summary="Restore the gallery's default mappings",
)
def reset_schema(request: HttpRequest, id: str, job_id: str = JOB_ID) -> HttpResponse:
    job = get_job(request, id, job_id)
    try:
        services.restore_default_mappings(job, actor=caller(request))
    except KeyError:
        raise conflict("The application's gallery template no longer exists.") from None
    return no_content()
