from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from django.conf import settings

        from portal.directory.changes import on_changes
        from provisioning.expressions import Limits, budget
        from provisioning.realtime import on_directory_changes

        on_changes(on_directory_changes)
        budget.configure(
            Limits(
                regex_timeout_ms=settings.EXPRESSION_REGEX_TIMEOUT_MS,
                max_value_length=settings.EXPRESSION_MAX_VALUE_LENGTH,
                max_steps=settings.EXPRESSION_MAX_STEPS,
            )
        )
