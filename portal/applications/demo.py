"""The demo app: "Contoso HR (demo)", ready to provision into the demo SCIM target on loopback.

Idempotent: ``manage.py seed_demo`` may run at every start; the app is created once and never
reset (an admin's edits to it survive restarts). Provisioning is left Off so nothing is sent
until someone chooses to.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.applications import services
from portal.applications.models import Application
from portal.demo import demo_scim_token
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.models import AuthMethod, JobState, Scope
from provisioning.sync.credentials import Credentials

DEMO_APP_NAME = "Contoso HR (demo)"
DEMO_TEMPLATE = "scim-generic"
DEMO_GROUPS = 2
DEMO_DIRECT_USERS = 3
ACTOR = "seed_demo"  # the audit log's "Initiated by"


def ensure_demo_app(scim_port: int) -> None:
    """Create the demo app once, with tested credentials and a few assignments; otherwise do nothing."""
    if Application.objects.filter(display_name=DEMO_APP_NAME).exists():
        return
    with transaction.atomic():
        application = services.instantiate(DEMO_TEMPLATE, DEMO_APP_NAME, actor=ACTOR)
        job = application.provisioning
        job.auth_method = AuthMethod.BEARER
        job.tenant_url = f"http://127.0.0.1:{int(scim_port)}/v2"
        job.secret_token = demo_scim_token(settings.VAR_DIR)
        # The demo target is started with this very token: mark the pair as tested so the admin can
        # turn provisioning On without a detour through Test Connection.
        job.credentials_fingerprint = Credentials.from_job(job).fingerprint()
        job.credentials_tested_at = timezone.now()
        job.notification_email = "admin@example.com"
        job.notify_on_failure = True
        job.scope = Scope.ASSIGNED
        job.enabled = False
        job.state = JobState.NOT_RUN  # configured, never run
        job.save()

        role = application.app_roles.filter(is_default=False).order_by("display_name").first()
        groups = list(DirectoryGroup.objects.active().order_by("display_name", "pk")[:DEMO_GROUPS])
        users = list(
            DirectoryUser.objects.active().filter(account_enabled=True).order_by("pk")[:DEMO_DIRECT_USERS]
        )
        for principal in [*groups, *users]:
            services.add_assignment(application, principal, role, actor=ACTOR)


def reconcile_demo_target(store_path: Path) -> int:
    """Put the portal's records back in step with a demo target that lost its store.

    The demo target keeps its users in ``store_path``; when that file is missing (first start after
    an upgrade from the in-memory target, or ``var/`` partly wiped) while the demo app's escrow still
    says objects were provisioned, the overview would claim users the target does not have. Forget
    those links and make the next cycle an initial one, which provisions everything again. Returns
    the number of links forgotten.
    """
    from provisioning.models import EscrowEntry, ProvisioningJob

    if store_path.exists():
        return 0
    application = (
        Application.objects.filter(display_name=DEMO_APP_NAME).select_related("provisioning").first()
    )
    if application is None:
        return 0
    job = application.provisioning
    forgotten, _ = EscrowEntry.objects.filter(job=job).delete()
    if forgotten:
        ProvisioningJob.objects.filter(pk=job.pk).update(needs_full_sync=True)
    return forgotten
