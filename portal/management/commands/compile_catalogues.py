"""Compile the translation catalogues (``locale/*/LC_MESSAGES/*.po`` → ``.mo``) without GNU gettext."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.i18n.catalogues import compile_catalogues


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files (pure Python; msgfmt not needed)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Compile even the up-to-date ones.")

    def handle(self, *args, force: bool, **options) -> None:
        for locale_dir in settings.LOCALE_PATHS:
            for written in compile_catalogues(Path(locale_dir), force=force):
                self.stdout.write(f"Compiled {written}")
