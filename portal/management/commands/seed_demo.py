"""Load the demo data idempotently: a demo admin, a directory, and a demo app (provisioning Off)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.applications.demo import ensure_demo_app, reconcile_demo_target
from portal.demo import DEMO_STORE, demo_admin_password
from portal.directory.models import DirectoryUser

DEMO_USERS = 50
DEMO_GROUPS = 8


class Command(BaseCommand):
    help = "Create the demo admin, a 50-user directory and a demo app pointing at the demo SCIM target."

    def add_arguments(self, parser):
        parser.add_argument("--scim-port", type=int, default=8081)

    def handle(self, *args, scim_port: int, **options) -> None:
        password = demo_admin_password(settings.VAR_DIR)
        admin, created = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            admin.set_password(password)
            admin.save()
        if not DirectoryUser.objects.exists():
            call_command("seed_directory", users=DEMO_USERS, groups=DEMO_GROUPS, seed=1, verbosity=0)
        self._seed_demo_app(scim_port)
        self.stdout.write(f"Demo admin: username 'admin', password '{password}'")

    def _seed_demo_app(self, scim_port: int) -> None:
        ensure_demo_app(scim_port)
        forgotten = reconcile_demo_target(settings.VAR_DIR / DEMO_STORE)
        if forgotten:
            self.stdout.write(
                f"The demo SCIM target had lost its data: {forgotten} provisioned objects will be "
                "provisioned again by the next cycle."
            )
