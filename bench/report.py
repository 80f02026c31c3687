"""docs/benchmarks.md: add a run's table under a section (one run per table, the newest last)."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def append_run(heading: str, table: str, path: Path = DOC) -> None:
    """Append ``table`` at the end of the ``heading`` section, creating the section at the end if new."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head, found, rest = text.partition(heading)
    if not found:
        path.write_text(f"{text.rstrip()}\n\n{heading}\n\n{table}")
        return
    section, more, tail = rest.partition("\n## ")
    path.write_text(f"{head}{heading}{section.rstrip()}\n\n{table}" + (f"\n## {tail}" if more else ""))
