from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "portal.directory"
    label = "directory"
    verbose_name = "Directory"

    def ready(self) -> None:
        from portal.directory import signals  # noqa: F401  (connects the change-feed receivers)
