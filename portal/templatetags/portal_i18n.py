"""Template filters that show texts stored in English in the reader's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext, pgettext

from portal.i18n.text import localized

register = template.Library()


def _render(text: str, msgid: str | None, params: dict[str, Any] | None) -> str:
    if not msgid:
        return gettext(text) if text else text  # a stored text that is a msgid itself
    try:
        return gettext(msgid) % params if params else gettext(msgid).replace("%%", "%")
    except (KeyError, TypeError, ValueError):  # a catalogue older than the stored step: show it as stored
        return text


@register.filter
def step_description(step: Any, index: int | None = None) -> str:
    """A provisioning step's description, translated: ``{{ step|step_description }}`` for a step of an
    on-demand outcome or a stored step dict, ``{{ log|step_description:forloop.counter0 }}`` for the
    index-th stored step of a log row (which keeps the msgid and values next to the English text)."""
    if index is not None:
        steps = getattr(step, "steps", None) or []
        step = steps[index] if 0 <= index < len(steps) else {}
    if isinstance(step, dict):
        return _render(step.get("description", ""), step.get("descriptionId"), step.get("descriptionParams"))
    description = getattr(step, "description", "")
    return localized(description) if getattr(description, "msgid", None) else _render(description, None, None)


@register.filter
def step_name(log: Any, index: int) -> str:
    """The index-th stored step's own name (Import, Scoping…), translated; the Graph record names steps
    by Graph's identifiers (EntryImport…), which are not for reading."""
    steps = getattr(log, "steps", None) or []
    step = steps[index] if 0 <= index < len(steps) and isinstance(steps[index], dict) else {}
    name = str(step.get("name") or "")
    return pgettext("provisioning step", name) if name else ""
