"""Grant or remove a portal role, or make someone an app owner, from the command line.

manage.py assign_role alice "Application Administrator"
manage.py assign_role alice reports_reader --remove
manage.py assign_role alice owner --app "Contoso Slack"      (app name, object id or application id)
manage.py assign_role alice --list
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from portal.accounts.models import ApplicationOwner, RoleAssignment, RoleSource
from portal.accounts.roles import PortalRole, parse_role, roles_of
from portal.applications.models import Application
from portal.audit import audit_user, record_audit

OWNER = "owner"


class Command(BaseCommand):
    help = "Assign (or --remove) a portal role, or app ownership with ROLE=owner --app APP; --list shows a user's access."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="username or email of the portal user")
        parser.add_argument(
            "role",
            nargs="?",
            help=f"one of: {', '.join(r.value for r in PortalRole)}, or the role's name, or '{OWNER}'",
        )
        parser.add_argument("--app", help="for owner: the application's name, object id or application id")
        parser.add_argument("--remove", action="store_true", help="remove the role or ownership instead")
        parser.add_argument("--list", action="store_true", help="show the user's roles and owned apps")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        if options["list"] or not options["role"]:
            self._list(user)
            return
        if options["role"].strip().lower() == OWNER:
            self._owner(user, options["app"], remove=options["remove"])
        else:
            self._role(user, options["role"], remove=options["remove"])

    def _user(self, name: str) -> Any:
        users = list(get_user_model().objects.filter(Q(username=name) | Q(email__iexact=name))[:2])
        if len(users) != 1:
            raise CommandError(f"No single portal user is called {name!r} (username or email)")
        return users[0]

    def _list(self, user: Any) -> None:
        roles = sorted(r.label for r in roles_of(user)) or ["(no role)"]
        self.stdout.write(f"{user.username}: {', '.join(roles)}")
        for owned in ApplicationOwner.objects.filter(user=user).select_related("application"):
            self.stdout.write(
                f"  owner of {owned.application.display_name} ({owned.application.service_principal_id})"
            )

    def _role(self, user: Any, name: str, *, remove: bool) -> None:
        try:
            role = parse_role(name)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            if remove:
                deleted, _ = RoleAssignment.objects.filter(
                    user=user, role=role, source=RoleSource.LOCAL
                ).delete()
                changed = bool(deleted)
            else:
                _, changed = RoleAssignment.objects.get_or_create(
                    user=user, role=role, source=RoleSource.LOCAL
                )
            if changed:
                audit_user(
                    None,
                    user,
                    "Remove member from role" if remove else "Add member to role",
                    [("Role", role.label if remove else "", "" if remove else role.label)],
                    "RoleManagement",
                )
        if remove:
            message = (
                f"Removed {role.label} from {user.username}"
                if changed
                else (f"{user.username} held no portal-assigned {role.label}")
            )
        else:
            message = (
                f"Assigned {role.label} to {user.username}"
                if changed
                else (f"{user.username} already holds {role.label}")
            )
        self.stdout.write(message)

    def _owner(self, user: Any, app_ref: str | None, *, remove: bool) -> None:
        if not app_ref:
            raise CommandError("owner needs --app (the application's name, object id or application id)")
        application = self._application(app_ref)
        with transaction.atomic():
            if remove:
                deleted, _ = ApplicationOwner.objects.filter(user=user, application=application).delete()
                changed = bool(deleted)
            else:
                _, changed = ApplicationOwner.objects.get_or_create(user=user, application=application)
            if changed:
                record_audit(
                    None,
                    "Remove owner from service principal" if remove else "Add owner to service principal",
                    target_type="ServicePrincipal",
                    target_id=application.service_principal_id,
                    target_name=application.display_name,
                    application=application,
                    changes=[("Owner", user.username if remove else "", "" if remove else user.username)],
                )
        if remove:
            message = f"{user.username} is no longer an owner of {application.display_name}"
        else:
            message = (
                f"{user.username} {'now owns' if changed else 'already owns'} {application.display_name}"
            )
        self.stdout.write(message)

    def _application(self, ref: str) -> Application:
        try:
            as_uuid = uuid.UUID(ref)
            query = Q(service_principal_id=as_uuid) | Q(app_id=as_uuid)
        except ValueError:
            query = Q(display_name=ref)
        apps = list(Application.objects.filter(query)[:2])
        if len(apps) != 1:
            raise CommandError(f"No single application matches {ref!r}")
        return apps[0]
