"""All Entra expression functions, by name (names are case-sensitive, as in Entra).

The implementations live in the ``functions_*`` modules, one per family; importing them fills the
registry. The expression builder lists ``FUNCTIONS`` (name, signature, summary).
"""

from __future__ import annotations

import difflib

from . import functions_dates, functions_logic, functions_misc, functions_text  # noqa: F401 - registers
from .registry import REGISTRY, FunctionSpec

FUNCTIONS: dict[str, FunctionSpec] = dict(sorted(REGISTRY.items(), key=lambda item: item[0].lower()))

KEYWORDS = {"vbBinaryCompare": 0, "vbTextCompare": 1}  # bare VB constants (InStr's compareType)


def suggest(name: str) -> str | None:
    """Closest function name: same letters in another case first, then difflib's best match."""
    for candidate in FUNCTIONS:
        if candidate.lower() == name.lower():
            return candidate
    matches = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6)
    if not matches:
        lowered = {candidate.lower(): candidate for candidate in FUNCTIONS}
        matches = [
            lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        ]
    return matches[0] if matches else None


def suggest_keyword(name: str) -> str | None:
    matches = difflib.get_close_matches(name, [*KEYWORDS, "True", "False"], n=1, cutoff=0.6)
    return matches[0] if matches else None
