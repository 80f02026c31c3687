from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The Graph-style REST API under /api/beta/ and the personal API tokens it accepts."""

    name = "portal.api"
    label = "portal_api"
    verbose_name = "Graph-style API"
    default_auto_field = "django.db.models.BigAutoField"
