"""Texts of the pure core (expression errors, provisioning steps) that the portal shows translated.

The expressions, the engine and the connector import no Django, so they cannot call gettext.

A ``Message`` is the English text (a ``str``, so logs, escrow reasons and tests read it as before) that
remembers its msgid and values; the portal renders ``gettext(msgid) % values`` in the reader's language
(``portal.i18n.text.localized``). ``gettext_noop`` only marks the msgid for makemessages.
"""

from __future__ import annotations

from typing import Any


def gettext_noop(text: str) -> str:
    """Mark ``text`` for the catalogues (makemessages looks for this name); returns it unchanged."""
    return text


class Message(str):
    """English text with its msgid (``%(name)s`` placeholders) and the values that fill it."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        text = super().__new__(cls, msgid % params if params else msgid.replace("%%", "%"))
        text.msgid = msgid
        text.params = params
        return text
