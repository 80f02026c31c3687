"""``{% load access %}{% can "apps.write" application as allowed %}{% if allowed %}…{% endif %}``."""

from typing import Any

from django import template

from portal.accounts.roles import has_capability

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: template.Context, capability: str, application: Any = None) -> bool:
    """Whether the signed-in user has ``capability`` (on ``application``, when given)."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if application is None and request is not None:
        application = getattr(request, "portal_application", None)
    return has_capability(user, capability, application)
