from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from portal.directory.changes import on_changes
        from provisioning.realtime import on_directory_changes

        on_changes(on_directory_changes)
