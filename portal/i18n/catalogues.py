"""Compile ``locale/*/LC_MESSAGES/*.po`` into ``.mo`` files without GNU gettext (polib).

The repository holds only the ``.po`` sources; ``manage.py start``, the Dockerfile and the test session
compile them, so a fresh machine without ``msgfmt`` still serves every language.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polib


def catalogue_sources(locale_dir: Path) -> list[Path]:
    """Every ``.po`` file under ``locale_dir`` (``<lang>/LC_MESSAGES/<domain>.po``)."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_catalogue(source: Path) -> Path:
    """Write ``source``'s ``.mo`` next to it (atomically: processes starting together may race)."""
    target = source.with_suffix(".mo")
    handle, temporary = tempfile.mkstemp(dir=source.parent, suffix=".mo.tmp")
    os.close(handle)
    try:
        polib.pofile(str(source)).save_as_mofile(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def compile_catalogues(locale_dir: Path, *, force: bool = False) -> list[Path]:
    """Compile each catalogue whose ``.mo`` is missing or older than its ``.po``; returns those written."""
    written = []
    for source in catalogue_sources(locale_dir):
        target = source.with_suffix(".mo")
        if force or not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            written.append(compile_catalogue(source))
    return written
