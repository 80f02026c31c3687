"""Every URL of the provisioning blades, in one ``provisioning`` namespace (mounted under ``applications/``).

One URLconf so that every name stays reversible: a second ``include`` with the namespace ``provisioning``
elsewhere would make half of its names unreversible (Django's urls.W005). The tenant-wide logs live under
``provisioning-logs/``, i.e. ``/applications/provisioning-logs/`` (Entra: Enterprise applications →
Provisioning logs).

An app's configuration, operations and mappings pages are addressed by its service principal's object id
(``object_id``), the overview and logs by its pk (``app_pk``); an object mapping by its key (``users``,
``groups``).
"""

from django.urls import include, path, re_path

from provisioning.views import authorize, configuration, logs, mappings, operations, overview, schema

app_name = "provisioning"

# ---- Configuration: Admin Credentials, Test Connection, OAuth authorization ---------------------------
_configuration = [
    path("<uuid:object_id>/provisioning/", configuration.configuration, name="configuration"),
    path(
        "<uuid:object_id>/provisioning/test-connection/",
        configuration.test_connection,
        name="test_connection",
    ),
    path("<uuid:object_id>/provisioning/authorize/", authorize.authorize, name="authorize"),
    path("provisioning/authorize/callback/", authorize.oauth_callback, name="oauth_callback"),
]

# ---- Monitoring: provisioning overview, progress bar, provisioning logs --------------------------------
_monitoring = [
    path("<int:app_pk>/provisioning/overview/", overview.overview, name="app_overview"),
    path("<int:app_pk>/provisioning/overview/progress/", overview.progress, name="app_progress"),
    path("<int:app_pk>/provisioning/start/", overview.start, name="app_start"),
    path("<int:app_pk>/provisioning/stop/", overview.stop, name="app_stop"),
    path("<int:app_pk>/provisioning/restart/", overview.restart, name="app_restart"),
    path("<int:app_pk>/provisioning/allow-deletes/", overview.allow_deletes, name="app_allow_deletes"),
    path("<int:app_pk>/provisioning/logs/", logs.app_logs, name="app_logs"),
]
_tenant_logs = [
    path("", logs.log_list, name="log_list"),
    path("<int:pk>/", logs.log_detail, name="log_detail"),
    re_path(r"^download\.(?P<fmt>csv|json)$", logs.log_download, name="log_download"),
]

# ---- Operations: provision on demand, dry-run plan, staged deletions, target schema --------------------
_operations = [
    path("<uuid:object_id>/provisioning/on-demand/", operations.on_demand, name="on_demand"),
    path("<uuid:object_id>/provisioning/plan/", operations.plan_view, name="plan"),
    path("<uuid:object_id>/provisioning/deletions/", operations.deletions, name="deletions"),
    path("<uuid:object_id>/provisioning/deletions/allow/", operations.allow_deletes, name="allow_deletes"),
    path("<uuid:object_id>/provisioning/schema/", schema.schema, name="schema"),
]

# ---- Mappings: object mappings, Edit Attribute + expression tester, scoping filters, attribute list ----
_MAPPING = "<uuid:object_id>/provisioning/mappings/<slug:key>/"
_mappings = [
    path(_MAPPING, mappings.mapping, name="mapping"),
    path(f"{_MAPPING}attributes/add/", mappings.attribute_add, name="mapping_attribute_add"),
    path(f"{_MAPPING}attributes/<int:index>/", mappings.attribute_edit, name="mapping_attribute_edit"),
    path(
        f"{_MAPPING}attributes/<int:index>/delete/",
        mappings.attribute_delete,
        name="mapping_attribute_delete",
    ),
    path(f"{_MAPPING}test-objects/", mappings.test_objects, name="mapping_test_objects"),
    path(f"{_MAPPING}scoping/", mappings.scoping, name="mapping_scoping"),
    path(f"{_MAPPING}target-attributes/", mappings.target_attribute_list, name="mapping_target_attributes"),
    path(f"{_MAPPING}restore/", mappings.restore, name="mapping_restore"),
]

urlpatterns = [
    *_configuration,
    *_monitoring,
    path("provisioning-logs/", include(_tenant_logs)),
    *_operations,
    *_mappings,
]
