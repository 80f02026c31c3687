"""Server-side SVG charts for the provisioning overview (no JavaScript library, no CDN).

Why SVG from Python: the chart is 30 bars, known at render time; markup built here needs nothing in the
browser, works without JavaScript, inherits the page's fonts and prints. Every bar carries a <title>
(hover text) and the template adds the same numbers as a table for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

SERIES = (  # stacked bottom to top: (field, label, colour)
    ("created", _("Created"), "#107c10"),
    ("updated", _("Updated"), "#0f6cbd"),
    ("failed", _("Failed"), "#c50f1f"),
)
DURATION_COLOUR = "#616161"


@dataclass(frozen=True)
class CyclePoint:
    """What the chart needs of one cycle (built from a Cycle row, or by hand in tests)."""

    label: str
    started_at: datetime
    created: int
    updated: int
    failed: int
    duration_s: float | None  # None while running


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 5 x 10^k at or above ``value`` (axis maximum); 1 for an empty chart."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)  # pragma: no cover - the loop always returns


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return str(_("running"))
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def cycle_history_svg(points: Sequence[CyclePoint], *, width: int = 720, height: int = 240) -> SafeString:
    """Stacked bars (created, updated, failed) per cycle, oldest left, with the duration as a line.

    Left axis: objects; right axis: duration. Non-zero values get at least 2 px so an incremental cycle
    with 3 updates stays visible next to an initial cycle with 10,000 creates.
    """
    left, right, top, bottom = 48, 56, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    title = _("Cycle history: objects created, updated and failed per cycle, and cycle duration")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cycle-history" viewBox="0 0 {width} {height}" style="max-width:{width + 40}px;display:block" '
        f'width="100%" role="img" aria-labelledby="cycle-history-title" data-testid="cycle-history">',
        f'<title id="cycle-history-title">{escape(title)}</title>',
    ]
    if not points:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#616161">No cycles yet</text></svg>'
        )
        return mark_safe("".join(parts))

    y_max = nice_ceiling(max(sum(getattr(p, f) for f, _, _ in SERIES) for p in points))
    durations = [p.duration_s for p in points if p.duration_s is not None]
    d_max = nice_ceiling(max(durations)) if durations else 1
    slot = plot_w / len(points)
    bar_w = max(2.0, slot * 0.6)

    def y_of(value: float, maximum: float) -> float:
        return top + plot_h - (value / maximum) * plot_h

    # axes and grid: 0, half, max on both sides
    for fraction in (0, 0.5, 1):
        y = top + plot_h - fraction * plot_h
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#616161">'
            f"{_number(y_max * fraction)}</text>"
        )
        parts.append(
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="11" fill="{DURATION_COLOUR}">'
            f"{escape(format_duration(d_max * fraction))}</text>"
        )

    line: list[str] = []
    for index, point in enumerate(points):
        x = left + index * slot + (slot - bar_w) / 2
        base = top + plot_h
        tip = _(
            "%(label)s: %(created)s created, %(updated)s updated, %(failed)s failed, duration %(duration)s"
        ) % {
            "label": point.label,
            "created": point.created,
            "updated": point.updated,
            "failed": point.failed,
            "duration": format_duration(point.duration_s),
        }
        parts.append(f'<g class="cycle-bar" data-cycle="{escape(point.label)}"><title>{escape(tip)}</title>')
        for field, label, colour in SERIES:
            value = getattr(point, field)
            if not value:
                continue
            h = max(2.0, (value / y_max) * plot_h)
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}" '
                f'data-series="{field}" data-value="{value}"><title>{escape(f"{label}: {value}")}</title></rect>'
            )
        parts.append("</g>")
        if point.duration_s is not None:
            line.append(f"{x + bar_w / 2:.1f},{y_of(point.duration_s, d_max):.1f}")
    if line:
        parts.append(
            f'<polyline points="{" ".join(line)}" fill="none" stroke="{DURATION_COLOUR}" stroke-width="1.5" '
            f'stroke-dasharray="4 3" data-series="duration"/>'
        )
        for coords in line:
            cx, cy = coords.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{DURATION_COLOUR}"/>')

    # first and last start dates under the axis; legend at the bottom
    first, last = points[0].started_at, points[-1].started_at
    parts.append(
        f'<text x="{left}" y="{top + plot_h + 14}" font-size="11" fill="#616161">{date_format(first, "DATETIME_FORMAT")}</text>'
    )
    parts.append(
        f'<text x="{left + plot_w}" y="{top + plot_h + 14}" font-size="11" fill="#616161" text-anchor="end">'
        f"{date_format(last, 'DATETIME_FORMAT')}</text>"
    )
    legend_x = left
    for _field, label, colour in (*SERIES, ("duration", _("Duration"), DURATION_COLOUR)):
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{height - 5}" font-size="11" fill="#242424">{label}</text>'
        )
        legend_x += 90
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _number(value: float) -> str:
    if value >= 1000 and value % 1000 == 0:
        return f"{int(value / 1000)}k"
    return f"{value:g}"
