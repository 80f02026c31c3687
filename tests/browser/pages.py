"""A realistic tenant for page-level browser tests and screenshots: directory, an app that provisioned
into a real SCIM target, cycles (one quarantined), logs with long identifiers, audit entries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.audit import Activity, record_audit
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.models import Cycle, CycleKind, CycleStatus, ProvisioningJob, ProvisioningLog
from tests.fixtures.provisioning import make_app


def build_tenant(scim_base_url: str, token: str, actor) -> dict[str, str]:
    """Fill the database and return the main pages' URLs by name."""
    call_command("seed_directory", users=30, groups=5, seed=1, verbosity=0)
    app = make_app(scim_base_url, token)
    job: ProvisioningJob = app.job
    group = DirectoryGroup.objects.order_by("display_name").first()
    user = DirectoryUser.objects.order_by("display_name").first()
    app.assign(group)
    app.assign(user)
    now = timezone.now()
    for hours, status in (
        (30, CycleStatus.COMPLETED),
        (6, CycleStatus.COMPLETED),
        (1, CycleStatus.COMPLETED),
    ):
        Cycle.objects.create(
            job=job,
            kind=CycleKind.INITIAL if hours == 30 else CycleKind.INCREMENTAL,
            status=status,
            total=31,
            processed=31,
            created=30 if hours == 30 else 0,
            updated=0 if hours == 30 else 2,
            skipped=1,
            started_at=now - timedelta(hours=hours),
            finished_at=now - timedelta(hours=hours) + timedelta(minutes=2),
        )
    cycle_id = uuid.uuid4()
    for index, person in enumerate(DirectoryUser.objects.order_by("display_name")[:12]):
        ProvisioningLog.objects.create(
            job=job,
            activity_at=now - timedelta(minutes=index),
            cycle_id=cycle_id,
            action="Create" if index % 3 else "Update",
            status="failure" if index == 4 else "success",
            object_kind="User",
            source_id=str(person.object_id),
            source_name=person.display_name,
            target_id=uuid.uuid4().hex * 2,  # long identifiers must wrap, not push the page wider
            target_name=person.user_principal_name,
            error_code="SystemForCrossDomainIdentityManagementServiceIncompatible" if index == 4 else "",
            error_reason="The application answered HTTP 400 Bad Request: " + "x" * 180 if index == 4 else "",
            steps=[
                {"name": "Import", "status": "success", "description": "Received User", "details": {}},
                {"name": "Export", "status": "success", "description": "Created User", "details": {}},
            ],
            modified_properties=[{"name": "displayName", "old": None, "new": person.display_name}],
        )
    record_audit(
        actor,
        Activity.UPDATE_PROVISIONING,
        target_type="Application",
        target_id=job.application.app_id,
        target_name=job.application.display_name,
        application=job.application,
        changes=[("tenant_url", "", scim_base_url), ("secret_token", "", "s3cret")],
    )
    log = ProvisioningLog.objects.filter(job=job).order_by("-activity_at").first()
    oid, pk = job.application.service_principal_id, job.application.pk
    return {
        "home": reverse("home"),
        "users": reverse("directory:user_list"),
        "user": reverse("directory:user_detail", args=[user.object_id]),
        "groups": reverse("directory:group_list"),
        "group": reverse("directory:group_detail", args=[group.object_id]),
        "user-import": reverse("directory:user_import"),
        "deleted-items": reverse("directory:deleted_items"),
        "applications": reverse("applications:app_list"),
        "gallery": reverse("applications:gallery"),
        "app-overview": reverse("applications:overview", args=[oid]),
        "app-properties": reverse("applications:properties", args=[oid]),
        "app-users-and-groups": reverse("applications:assignments", args=[oid]),
        "provisioning": reverse("provisioning:configuration", args=[oid]),
        "mappings": reverse("provisioning:mapping", args=[oid, "users"]),
        "provisioning-overview": reverse("provisioning:app_overview", args=[pk]),
        "provision-on-demand": reverse("provisioning:on_demand", args=[oid]),
        "staged-deletions": reverse("provisioning:deletions", args=[oid]),
        "app-provisioning-logs": reverse("provisioning:app_logs", args=[pk]),
        "provisioning-logs": reverse("provisioning:log_list"),
        "provisioning-log-detail": reverse("provisioning:log_detail", args=[log.pk]),
        "audit-logs": reverse("audit_log"),
        "api-tokens": reverse("api_tokens:list"),
        "api-docs": "/api/beta/docs",
    }
