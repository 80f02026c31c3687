from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "portal.applications"
    label = "applications"
    verbose_name = "Enterprise applications"

    def ready(self) -> None:
        from portal.applications import signals  # noqa: F401  (assignment changes → change feed)
