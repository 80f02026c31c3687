from typing import Any

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


def configure_outbound_policy(**kwargs: Any) -> None:
    """Load PROVISIONING_OUTBOUND_ALLOW/DENY into the connectors' policy (refusing a malformed entry)."""
    if kwargs.get("setting") not in (None, "PROVISIONING_OUTBOUND_ALLOW", "PROVISIONING_OUTBOUND_DENY"):
        return
    from django.conf import settings

    from provisioning.connectors import outbound

    try:
        policy = outbound.OutboundPolicy.from_cidrs(
            settings.PROVISIONING_OUTBOUND_ALLOW,
            settings.PROVISIONING_OUTBOUND_DENY,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    outbound.configure(policy)


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from django.conf import settings

        import provisioning.tasks  # noqa: F401 - registers the tasks sync/ queues by name (sync/dispatch.py)
        from portal.directory.changes import on_changes
        from provisioning.expressions import Limits, budget
        from provisioning.sync.realtime import on_directory_changes

        on_changes(on_directory_changes)
        configure_outbound_policy()
        setting_changed.connect(configure_outbound_policy, dispatch_uid="provisioning-outbound-policy")
        budget.configure(
            Limits(
                regex_timeout_ms=settings.EXPRESSION_REGEX_TIMEOUT_MS,
                max_value_length=settings.EXPRESSION_MAX_VALUE_LENGTH,
                max_steps=settings.EXPRESSION_MAX_STEPS,
            )
        )
