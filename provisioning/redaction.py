"""Masking secrets out of text the portal shows or logs (plain Python: the engine and connectors use it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "redact"]

MASK = "***"
# Shorter secrets are masked only as whole words: replacing a token "x" everywhere would turn "expected"
# into "e***pected" and, worse, tell the reader which letters the token is made of.
WHOLE_WORD_BELOW = 8


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (a string, or nested dicts/lists/tuples of them) with every secret replaced by ``***``."""
    secrets = [s for s in secrets if s]
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):  # the longest first: one may contain another
            if len(secret) >= WHOLE_WORD_BELOW:
                value = value.replace(secret, MASK)
            else:
                value = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, value)
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
