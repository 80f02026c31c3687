"""NormalizeDiacritics: accented Latin letters -> plain ASCII letters, per Entra's documented table.

Marks are removed from Latin letters only (``é`` -> ``e``, ``ā́`` -> ``a``), so non-Latin scripts pass
through unchanged (Cyrillic ``й`` keeps its breve). Letters that have no decomposition get the
table's spelled-out replacements (``æ`` -> ``ae``, ``ø`` -> ``oe``, ``ß`` -> ``ss``, ``ł`` -> ``l``).
"""

from __future__ import annotations

import unicodedata

_SPELLED = {
    "æ": "ae",
    "Æ": "AE",
    "ø": "oe",
    "Ø": "OE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ł": "l",
    "Ł": "L",
    "\u0131": "i",  # dotless i
}
_TRANSLATION = str.maketrans(_SPELLED)
_LATIN_BASES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") | frozenset(_SPELLED)


def normalize_diacritics(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    kept: list[str] = []
    base_is_latin = False
    for ch in decomposed:
        if unicodedata.combining(ch):
            if base_is_latin:
                continue
        else:
            base_is_latin = ch in _LATIN_BASES
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_TRANSLATION)
