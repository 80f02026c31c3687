"""``/servicePrincipals/{id}/synchronization`` templates and jobs: the job, its status and its control.

The portal runs one provisioning job per application and creates it with the application (the blades
need it from the start). ``POST …/jobs`` therefore hands back that job, 201, while it is still
``NotConfigured``; ``DELETE …/jobs/{jobId}`` resets it to that state with a new id (escrow, watermark
and mappings are forgotten; provisioning logs are kept, they are the audit trail).

Start, pause and restart go through the same functions as the blade: ``provisioning.sync.control``
(with their audit entries).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import Body, Path, Router, Status

from portal.accounts.roles import Capability
from portal.api import odata
from portal.api.auth import requires
from portal.api.common import DUMP, caller, iso_duration, no_content, responses
from portal.api.errors import bad_request, conflict, not_found
from portal.api.schemas import (
    CreateJobRequest,
    RestartRequest,
    SynchronizationJob,
    SynchronizationJobCollection,
    SynchronizationTemplateCollection,
)
from portal.api.service_principals import get_application
from portal.api.sync_schema import template_key, template_schema
from portal.applications import services
from portal.applications.models import Application
from portal.audit import Activity, audit_application
from provisioning.models import (
    Cycle,
    CycleKind,
    CycleStatus,
    EscrowEntry,
    EscrowState,
    JobState,
    ProvisioningJob,
    ProvisioningMode,
    QuarantineReason,
    Scope,
)
from provisioning.sync import control, cycles, stalls

router = Router(tags=["synchronization"])
C = Capability
JOB_ID = Path(..., alias="jobId", description="The job id, e.g. scimgeneric.<hex>.<hex>")
READ = requires(C.PROVISIONING_READ, app=True)
WRITE = requires(C.PROVISIONING_WRITE, app=True)
NEVER = datetime(1, 1, 1, tzinfo=UTC)  # Graph's "not yet" for the steady-state times
OPTIONAL_BODY = Body(None)  # restart may be posted without a body

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


def audit(
    request: HttpRequest, job: ProvisioningJob, activity: str, changes: list[tuple[str, Any, Any]]
) -> None:
    audit_application(caller(request), job.application, activity, changes)


def sync_set(application: Application, name: str) -> str:
    return f"servicePrincipals('{application.service_principal_id}')/synchronization/{name}"


def jobs_set(application: Application) -> str:
    return sync_set(application, "jobs")


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
            "reason": job.quarantine_reason
            if job.quarantine_reason in QuarantineReason.values
            else "Unknown",
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
    context = odata.context_url(request, sync_set(application, "templates"))
    try:
        template = application.template
    except KeyError:
        return {"@odata.context": context, "value": []}
    key = template_key(template.id)
    return {
        "@odata.context": context,
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
    return odata.collection(request, jobs_set(application), [job_body(job) for job in jobs])


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
    return Status(201, odata.entity(request, jobs_set(application), job_body(job)))


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
    return odata.entity(request, jobs_set(job.application), job_body(job))


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
    control.turn_off(job, actor=actor)
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
        audit(request, job, Activity.UPDATE_PROVISIONING, [("job_id", old_id, "deleted")])
    return no_content()


# --- control ----------------------------------------------------------------------------------------------


def _start(request: HttpRequest, job: ProvisioningJob) -> None:
    """Graph's start: the control layer's turn_on (its rule and message, and a quarantine is lifted); 409."""
    try:
        control.turn_on(job, actor=caller(request))
    except control.TurnOnRefused as refusal:
        api_hint = " POST …/validateCredentials with them, then start." if refusal.untested else ""
        raise conflict(refusal.message + api_hint) from None


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
    control.turn_off(get_job(request, id, job_id), actor=caller(request))
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
    control.reset_job(job, scopes, actor=caller(request))
    return no_content()
