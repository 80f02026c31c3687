"""``manage.py seed_directory --users N --groups M [--seed S]``: a deterministic demo tenant."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.directory.seeding import DEFAULT_DOMAIN, seed_directory


class Command(BaseCommand):
    help = "Fill the directory with realistic, deterministic users, managers, groups and memberships."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=100, help="How many users (default 100).")
        parser.add_argument("--groups", type=int, default=20, help="How many groups (default 20).")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data (default 1).")
        parser.add_argument(
            "--domain", default=DEFAULT_DOMAIN, help=f"UPN domain (default {DEFAULT_DOMAIN})."
        )

    def handle(self, *args: Any, users: int, groups: int, seed: int, domain: str, **options: Any) -> None:
        if users < 0 or groups < 0:
            raise CommandError("--users and --groups cannot be negative.")
        result = seed_directory(users=users, groups=groups, seed=seed, domain=domain)
        self.stdout.write(
            f"Users: {result.users_created} created, {result.users_skipped} already there (skipped). "
            f"Groups: {result.groups_created} created, {result.groups_skipped} already there (skipped). "
            f"Memberships: {result.memberships_created} created. "
            f"{result.seconds:.1f} s."
        )
