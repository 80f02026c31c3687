"""``…/jobs/{jobId}/provisionOnDemand``: provision one user or group now, as the blade's Provision on demand."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router

from portal.api.common import DUMP, parse_object_id, responses
from portal.api.errors import bad_request, conflict, not_found
from portal.api.schemas import OnDemandResult, ProvisionOnDemandRequest
from portal.api.synchronization.jobs import JOB_ID, WRITE, get_job
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.engine.target_protocol import TargetError
from provisioning.models import ProvisioningJob, ProvisioningLog
from provisioning.sync.credentials import Credentials
from provisioning.sync.operations import provision_on_demand as run_on_demand

router = Router(tags=["synchronization"])


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
