"""Fixtures for engine tests: an app provisioning into a real scim2-server, a directory, a wait helper."""

import time
from dataclasses import dataclass

import pytest

from portal.applications.models import AppRole, AppRoleAssignment
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership
from provisioning.models import Cycle, ProvisioningJob


@dataclass
class ProvisionedApp:
    job: ProvisioningJob
    role: AppRole

    def assign(self, principal) -> AppRoleAssignment:
        field = "user" if isinstance(principal, DirectoryUser) else "group"
        return AppRoleAssignment.objects.create(
            application=self.job.application, app_role=self.role, **{field: principal}
        )

    def unassign(self, principal) -> None:
        field = "user" if isinstance(principal, DirectoryUser) else "group"
        for assignment in AppRoleAssignment.objects.filter(
            application=self.job.application, **{field: principal}
        ):
            assignment.delete()


def make_app(base_url: str, token: str, template: str = "taskize-connect") -> ProvisionedApp:
    from portal.applications.services import instantiate

    application = instantiate(template, f"{template} under test")
    job = application.provisioning
    job.tenant_url, job.secret_token, job.enabled = base_url, token, True
    job.near_real_time = False  # tests start cycles themselves; the near-real-time test turns it on
    job.save()
    role = application.app_roles.filter(is_default=False).first()
    return ProvisionedApp(job, role)


@pytest.fixture
def provisioned_app(scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    return make_app(scim_server.base_url, scim_server.token)


def make_users(count: int, prefix: str = "user", manager: DirectoryUser | None = None) -> list[DirectoryUser]:
    return [
        DirectoryUser.objects.create(
            user_principal_name=f"{prefix}{i}@contoso.test",
            display_name=f"{prefix.title()} {i}",
            given_name=prefix.title(),
            surname=f"N{i}",
            mail_nickname=f"{prefix}{i}",
            mail=f"{prefix}{i}@contoso.test",
            manager=manager,
        )
        for i in range(count)
    ]


def make_group(name: str, members: list[DirectoryUser]) -> DirectoryGroup:
    group = DirectoryGroup.objects.create(display_name=name, mail_nickname=name.lower())
    GroupMembership.objects.bulk_create([GroupMembership(group=group, user=u) for u in members])
    return group


def wait_for_cycle(job: ProvisioningJob, after: int = 0, timeout: float = 60) -> Cycle:
    """The first cycle with id > ``after`` once it is no longer running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cycle = Cycle.objects.filter(job=job, pk__gt=after).order_by("pk").first()
        if cycle and cycle.status not in ("running",):
            return cycle
        time.sleep(0.05)
    import faulthandler
    import sys

    faulthandler.dump_traceback(sys.stderr)  # where the worker threads are stuck
    raise AssertionError(f"no cycle finished within {timeout}s: {Cycle.objects.filter(job=job).values()}")


def last_cycle_id(job: ProvisioningJob) -> int:
    return Cycle.objects.filter(job=job).order_by("-pk").values_list("pk", flat=True).first() or 0


def wait_for_mail(count: int, timeout: float = 10) -> list:
    """The outbox once it holds ``count`` emails: they are sent after the worker's transaction commits,
    a moment after the cycle's state is visible."""
    from django.core import mail

    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # and no more than that: a duplicate would arrive about as fast
    return mail.outbox


def run(job: ProvisioningJob, timeout: float = 60, **kwargs) -> Cycle:
    """Queue a cycle on the real worker and wait until it ends."""
    from provisioning.tasks import run_cycle

    before = last_cycle_id(job)
    run_cycle.delay(job.pk, **kwargs)
    return wait_for_cycle(job, after=before, timeout=timeout)


class Migrator:
    """Moves the test database to a migration; ``to`` returns the models as they were there."""

    def to(self, *targets: tuple[str, str]):
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)  # a fresh one: the graph of the state just reached
        executor.migrate(list(targets))
        return executor.loader.project_state(list(targets)).apps

    def latest(self) -> None:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def migrator(transactional_db):
    """Data-migration tests: the database goes back to the latest migrations afterwards, as later
    tests need every migration."""
    migrations = Migrator()
    yield migrations
    migrations.latest()
