"""What every ``/servicePrincipals/{id}/synchronization`` route shares: permissions, the job lookup, audit."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Router

from portal.accounts.roles import Capability
from portal.api.auth import requires
from portal.api.common import caller
from portal.api.errors import not_found
from portal.api.service_principals import get_application
from portal.applications.models import Application
from portal.audit import record_audit
from provisioning.models import (
    ProvisioningJob,
)

router = Router(tags=["synchronization"])
C = Capability
JOB_ID = Path(..., alias="jobId", description="The job id, e.g. scimgeneric.<hex>.<hex>")
READ = requires(C.PROVISIONING_READ, app=True)
WRITE = requires(C.PROVISIONING_WRITE, app=True)


def get_job(request: HttpRequest, sp_id: str, job_id: str) -> ProvisioningJob:
    application = get_application(request, sp_id)
    job = ProvisioningJob.objects.select_related("application").filter(application=application).first()
    if job is None or job.job_id != job_id:  # compared here: the id is never sent to the database
        raise not_found("jobId", job_id[:200])
    return job


def audit(
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


def sync_set(application: Application, name: str) -> str:
    return f"servicePrincipals('{application.service_principal_id}')/synchronization/{name}"


def jobs_set(application: Application) -> str:
    return sync_set(application, "jobs")
