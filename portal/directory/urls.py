from django.urls import path

from portal.directory import views
from portal.directory.models import DirectoryGroup, DirectoryUser, ImportKind

app_name = "directory"
urlpatterns = [
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/lookup/", views.user_lookup, name="user_lookup"),
    path("users/import/", views.import_upload, {"kind": ImportKind.USERS}, name="user_import"),
    path(
        "users/import/template.csv",
        views.import_template,
        {"kind": ImportKind.USERS},
        name="user_import_template",
    ),
    path("users/<uuid:object_id>/", views.user_detail, name="user_detail"),
    path("users/<uuid:object_id>/edit/", views.user_edit, name="user_edit"),
    path("users/<uuid:object_id>/enable/", views.user_set_enabled, {"enabled": True}, name="user_enable"),
    path("users/<uuid:object_id>/disable/", views.user_set_enabled, {"enabled": False}, name="user_disable"),
    path("users/<uuid:object_id>/delete/", views.object_delete, {"model": DirectoryUser}, name="user_delete"),
    path(
        "users/<uuid:object_id>/restore/", views.object_restore, {"model": DirectoryUser}, name="user_restore"
    ),
    path("users/<uuid:object_id>/purge/", views.object_purge, {"model": DirectoryUser}, name="user_purge"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/import/", views.import_upload, {"kind": ImportKind.MEMBERSHIPS}, name="membership_import"),
    path(
        "groups/import/template.csv",
        views.import_template,
        {"kind": ImportKind.MEMBERSHIPS},
        name="membership_import_template",
    ),
    path("groups/<uuid:object_id>/", views.group_detail, name="group_detail"),
    path("groups/<uuid:object_id>/edit/", views.group_edit, name="group_edit"),
    path(
        "groups/<uuid:object_id>/delete/", views.object_delete, {"model": DirectoryGroup}, name="group_delete"
    ),
    path(
        "groups/<uuid:object_id>/restore/",
        views.object_restore,
        {"model": DirectoryGroup},
        name="group_restore",
    ),
    path("groups/<uuid:object_id>/purge/", views.object_purge, {"model": DirectoryGroup}, name="group_purge"),
    path("groups/<uuid:object_id>/members/search/", views.member_search, name="member_search"),
    path("groups/<uuid:object_id>/members/add/", views.member_add, name="member_add"),
    path(
        "groups/<uuid:object_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("deleted/", views.deleted_items, name="deleted_items"),
    path("imports/<uuid:import_id>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:import_id>/confirm/", views.import_confirm, name="import_confirm"),
    path("imports/<uuid:import_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<uuid:import_id>/errors.csv", views.import_errors_csv, name="import_errors_csv"),
]
