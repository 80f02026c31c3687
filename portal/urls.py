from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import audit_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("directory/", include("portal.directory.urls")),
    path("applications/", include("portal.applications.urls")),
    path("applications/", include("provisioning.urls")),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("admin/", admin.site.urls),
]
