"""English source text that is translated later, in the language of whoever reads it.

Workers and on-commit callbacks build messages before anyone knows the reader's language (an email's
recipient, a page's visitor). ``Text`` keeps the msgid and its parameters; ``render()`` translates in
the active language, so ``translation.override(language)`` around it picks the reader's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext


@dataclass(frozen=True)
class Text:
    """A msgid (English, %(name)s placeholders) and its values; values may be Text themselves."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self) -> str:
        translated = gettext(self.msgid)
        if not self.params:
            return translated
        return translated % {key: render(value) for key, value in self.params.items()}

    def __str__(self) -> str:
        return self.render()


def render(value: object) -> object:
    """``value`` translated when it is a Text, as it is otherwise (names, numbers, stored details)."""
    return value.render() if isinstance(value, Text) else value


def localized(message: str) -> str:
    """A message of the pure expressions package (``provisioning.messages.Message``) in the
    active language; any other text (stored, from a target, already translated) as it is."""
    msgid = getattr(message, "msgid", None)
    if msgid is None:
        return message
    params = getattr(message, "params", None) or {}
    return gettext(msgid) % params if params else gettext(msgid).replace("%%", "%")
