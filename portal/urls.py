from django.contrib import admin
from django.urls import include, path

from portal import audit_views, views
from portal.api.api import api
from portal.i18n.views import set_language

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", set_language, name="set_language"),
    path("accounts/", include("portal.accounts.urls")),  # login, logout, Sign in with Microsoft
    path("directory/", include("portal.directory.urls")),
    path("applications/", include("portal.applications.urls")),
    path("applications/", include("provisioning.urls")),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("api/beta/", api.urls),  # the Graph-style API (portal/api/)
    path("api/tokens/", include("portal.api.urls")),  # personal API tokens page
    path("admin/", admin.site.urls),
]
