from django.urls import path

from provisioning.views import configuration

app_name = "provisioning"
urlpatterns = [
    path("<uuid:object_id>/provisioning/", configuration.configuration, name="configuration"),
    path(
        "<uuid:object_id>/provisioning/test-connection/",
        configuration.test_connection,
        name="test_connection",
    ),
]

# ---- Operations: provision on demand, dry-run plan, staged deletions -----------------------------------
from provisioning.urls_operations import urlpatterns_operations  # noqa: E402

urlpatterns += urlpatterns_operations
