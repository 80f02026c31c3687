from django.urls import path

from provisioning.views import authorize, configuration

app_name = "provisioning"
urlpatterns = [
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
# Patterns and views live in provisioning/urls_monitoring.py and provisioning/views/{overview,logs}.py.
from django.urls import include  # noqa: E402

from provisioning import urls_monitoring  # noqa: E402

urlpatterns += [
    *urls_monitoring.app_urlpatterns,
    path("provisioning-logs/", include(urls_monitoring.tenant_urlpatterns)),
]

# ---- Operations: provision on demand, dry-run plan, staged deletions -----------------------------------
from provisioning.urls_operations import urlpatterns_operations  # noqa: E402

urlpatterns += urlpatterns_operations

# ---- Mappings: object mappings, Edit Attribute + expression tester, scoping filters, attribute list --------
# Patterns and views live in provisioning/urls_mappings.py and provisioning/views/mappings.py.
from provisioning.urls_mappings import urlpatterns_mappings  # noqa: E402

urlpatterns += urlpatterns_mappings
