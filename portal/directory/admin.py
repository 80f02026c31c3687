"""Django admin for the directory: raw data to look at. Changes go through the portal's pages, which keep the
recycle bin and the change feed right, so the admin neither adds, edits nor deletes directory objects."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.directory.models import (
    DirectoryChange,
    DirectoryGroup,
    DirectoryImport,
    DirectoryUser,
    GroupMembership,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no second COUNT(*) over 100,000 rows per page
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DirectoryUser)
class DirectoryUserAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "user_principal_name", "department", "account_enabled", "deleted_at"]
    list_filter = ["account_enabled", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["=user_principal_name", "=object_id"]
    raw_id_fields = ["manager"]


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "mail", "security_enabled", "mail_enabled", "deleted_at"]
    list_filter = ["security_enabled", "mail_enabled", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["display_name", "=object_id"]


@admin.register(GroupMembership)
class GroupMembershipAdmin(ReadOnlyAdmin):
    list_display = ["group", "user", "member_group", "added_at"]
    list_select_related = ["group", "user", "member_group"]
    raw_id_fields = ["group", "user", "member_group"]


@admin.register(DirectoryChange)
class DirectoryChangeAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "object_kind", "object_id", "kind", "related_id", "app_id"]
    list_filter = ["object_kind", "kind"]
    search_fields = ["=object_id", "=related_id"]


@admin.register(DirectoryImport)
class DirectoryImportAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "kind", "status", "total_rows", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    exclude = ["content"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # an upload is only a staging copy: dropping it loses nothing
