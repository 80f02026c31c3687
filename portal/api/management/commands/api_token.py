"""Print a new personal API token for a portal user, for scripts and CI.

    TOKEN=$(python manage.py api_token --user automation --role application_administrator --expires 7)
    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/beta/servicePrincipals

Only the token goes to stdout (so ``$(…)`` captures exactly it); what happened goes to stderr.
``--role`` makes sure the user holds that portal role, creating the user (with no usable password: it
signs in only through tokens) when there is none by that name.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from portal.accounts.models import RoleAssignment, RoleSource
from portal.accounts.roles import PortalRole, parse_role, roles_of
from portal.api.models import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, ApiToken, record_token_issued
from portal.audit import audit_user


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (once) on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username or email of the portal user")
        parser.add_argument(
            "--role",
            help=f"make sure the user holds this role (creating the user if needed): {', '.join(r.value for r in PortalRole)}",
        )
        parser.add_argument(
            "--expires",
            type=int,
            default=DEFAULT_EXPIRY_DAYS,
            metavar="DAYS",
            help=f"days until the token expires (1 to {MAX_EXPIRY_DAYS}, default {DEFAULT_EXPIRY_DAYS})",
        )
        parser.add_argument("--name", default="manage.py api_token", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["expires"] <= MAX_EXPIRY_DAYS:
            raise CommandError(f"--expires must be between 1 and {MAX_EXPIRY_DAYS} days")
        role = None
        if options["role"]:
            try:
                role = parse_role(options["role"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        with transaction.atomic():
            user = self._user(options["user"], create=role is not None)
            if role is not None:
                _, added = RoleAssignment.objects.get_or_create(user=user, role=role, source=RoleSource.LOCAL)
                if added:
                    audit_user(None, user, "Add member to role", [("Role", "", role.label)], "RoleManagement")
                    self.stderr.write(f"Assigned {role.label} to {user.get_username()}")
            if not roles_of(user) and not user.owned_applications.exists():
                raise CommandError(
                    f"{user.get_username()} has no portal role, so a token would be refused everywhere; "
                    "pass --role"
                )
            token, plain = ApiToken.issue(user, options["name"], options["expires"])
            record_token_issued(None, token)
        self.stderr.write(
            f"Token “{token.name}” for {user.get_username()} expires {token.expires_at:%Y-%m-%d %H:%M} UTC "
            f"(roles: {', '.join(sorted(r.label for r in roles_of(user))) or 'app owner'})."
        )
        self.stdout.write(plain)

    def _user(self, name: str, *, create: bool) -> Any:
        users = list(get_user_model().objects.filter(Q(username=name) | Q(email__iexact=name))[:2])
        if len(users) == 1:
            if not users[0].is_active:
                raise CommandError(f"{name!r} is a disabled account")
            return users[0]
        if len(users) > 1:
            raise CommandError(f"{name!r} matches several users; use the username")
        if not create:
            raise CommandError(f"No portal user is called {name!r}; pass --role to create one")
        user = get_user_model()(username=name[:150])
        user.set_unusable_password()
        user.save()
        self.stderr.write(f"Created portal user {user.get_username()} (no password: tokens only)")
        return user
