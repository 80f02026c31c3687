"""URL patterns of the monitoring pages: provisioning overview (progress bar), logs, downloads.

Namespace-less lists, added to the ``provisioning`` namespace by ``provisioning/urls.py`` (which the
root URLconf mounts under ``applications/``):

* ``app_urlpatterns``: one app's pages, ``/applications/<app pk>/provisioning/...``;
* ``tenant_urlpatterns``: the tenant-wide logs, mounted under ``provisioning-logs/`` there, i.e.
  ``/applications/provisioning-logs/`` (Entra: Enterprise applications → Provisioning logs). They
  must stay in the same URLconf as the rest of the namespace: a second ``include`` with the namespace
  ``provisioning`` elsewhere would make half of its names unreversible (Django's urls.W005).
"""

from django.urls import path, re_path

from provisioning.views import logs, overview

app_urlpatterns = [
    path("<int:app_pk>/provisioning/overview/", overview.overview, name="app_overview"),
    path("<int:app_pk>/provisioning/overview/progress/", overview.progress, name="app_progress"),
    path("<int:app_pk>/provisioning/start/", overview.start, name="app_start"),
    path("<int:app_pk>/provisioning/stop/", overview.stop, name="app_stop"),
    path("<int:app_pk>/provisioning/restart/", overview.restart, name="app_restart"),
    path("<int:app_pk>/provisioning/allow-deletes/", overview.allow_deletes, name="app_allow_deletes"),
    path("<int:app_pk>/provisioning/logs/", logs.app_logs, name="app_logs"),
]

tenant_urlpatterns = [
    path("", logs.log_list, name="log_list"),
    path("<int:pk>/", logs.log_detail, name="log_detail"),
    re_path(r"^download\.(?P<fmt>csv|json)$", logs.log_download, name="log_download"),
]
