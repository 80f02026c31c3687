"""Django admin for enterprise applications: read-mostly, for support; the portal pages are the UI."""

from django.contrib import admin

from portal.applications.models import Application, AppRole, AppRoleAssignment


class AppRoleInline(admin.TabularInline):
    model = AppRole
    extra = 0
    fields = ("display_name", "value", "description", "is_default")


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("display_name", "template_id", "publisher", "app_id", "created_at")
    search_fields = ("display_name", "publisher", "template_id")
    readonly_fields = ("app_id", "service_principal_id", "created_at")
    inlines = [AppRoleInline]


@admin.register(AppRoleAssignment)
class AppRoleAssignmentAdmin(admin.ModelAdmin):
    """Read-only: assignments must go through the portal so the change feed and audit log see them."""

    list_display = ("application", "user", "group", "app_role", "created_at")
    list_filter = ("application",)
    list_select_related = ("application", "user", "group", "app_role")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
