"""``…/jobs/{jobId}/schema``: the job's mappings as Graph's synchronizationSchema (read, replace, reset).

The translation both ways lives in ``portal.api.sync_schema``; a saved change is audited here.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from portal.api import odata
from portal.api.common import DUMP, caller, no_content, responses
from portal.api.errors import bad_request, conflict
from portal.api.schemas import SynchronizationSchema
from portal.api.sync_schema import save_schema, synchronization_schema, template_key
from portal.api.synchronization.jobs import JOB_ID, READ, WRITE, audit, get_job, jobs_set
from portal.applications import services
from portal.audit import Activity

router = Router(tags=["synchronization"])


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
    return odata.entity(request, f"{jobs_set(job.application)}('{job.job_id}')/schema", schema)


@router.patch(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="patchSynchronizationSchema",
    summary="The same update as PUT (what Microsoft's Graph SDKs send); properties left out keep their values",
)
@router.put(
    "/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema",
    response=responses({204: None}),
    auth=WRITE,
    operation_id="updateSynchronizationSchema",
    summary="Replace the mappings (validated like the mapping editor); a change means the next cycle is initial",
)
def update_schema(
    request: HttpRequest, id: str, payload: SynchronizationSchema, job_id: str = JOB_ID
) -> HttpResponse:
    # PUT and PATCH are one update (the lower decorator registers first: PUT stays listed first)
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
        audit(request, job, Activity.UPDATE_MAPPINGS, [("object_mappings", None, ", ".join(changed))])
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
