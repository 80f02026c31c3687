from django.urls import path

from provisioning.views import operations, schema

urlpatterns_operations = [
    path("<uuid:object_id>/provisioning/on-demand/", operations.on_demand, name="on_demand"),
    path("<uuid:object_id>/provisioning/plan/", operations.plan_view, name="plan"),
    path("<uuid:object_id>/provisioning/deletions/", operations.deletions, name="deletions"),
    path("<uuid:object_id>/provisioning/deletions/allow/", operations.allow_deletes, name="allow_deletes"),
    path("<uuid:object_id>/provisioning/schema/", schema.schema, name="schema"),
]
