from django.contrib import admin

from portal.accounts.models import ApplicationOwner, ExternalIdentity, RoleAssignment


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "source", "created_at"]
    list_filter = ["role", "source"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(ApplicationOwner)
class ApplicationOwnerAdmin(admin.ModelAdmin):
    list_display = ["application", "user", "created_at"]
    search_fields = ["application__display_name", "user__username"]
    raw_id_fields = ["application", "user"]


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "preferred_username", "issuer", "subject", "last_sign_in_at"]
    search_fields = ["user__username", "preferred_username", "subject"]
    readonly_fields = ["issuer", "subject", "first_sign_in_at", "last_sign_in_at"]
