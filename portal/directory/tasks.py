"""Celery tasks of the directory: thin wrappers that load a row, call the service and return."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.directory import csv_import, services
from portal.directory.models import DirectoryImport


@shared_task(name="portal.directory.tasks.purge_recycle_bin")
def purge_recycle_bin() -> dict[str, int]:
    """Hard-delete what has been in the recycle bin longer than DIRECTORY_RECYCLE_BIN_DAYS (30)."""
    return services.purge_recycle_bin()


@shared_task(name="portal.directory.tasks.purge_stale_imports")
def purge_stale_imports() -> int:
    """Drop uploaded CSV files (and their previews) older than DIRECTORY_IMPORT_KEEP_DAYS (7)."""
    days = int(settings.DIRECTORY_IMPORT_KEEP_DAYS)
    deleted, _ = DirectoryImport.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted


@shared_task(name="portal.directory.tasks.preview_directory_import")
def preview_directory_import(import_id: str) -> None:
    imp = DirectoryImport.objects.filter(pk=import_id).first()
    if imp is not None:
        csv_import.run_preview(imp)


@shared_task(name="portal.directory.tasks.apply_directory_import")
def apply_directory_import(import_id: str) -> None:
    """Safe to redeliver: the import's DONE status commits with its writes, and run_apply skips DONE."""
    imp = DirectoryImport.objects.filter(pk=import_id).first()
    if imp is not None:
        csv_import.run_apply(imp)
