"""An SVG line chart of initial-cycle time against directory size, drawn by hand (nothing to install).

Both axes are logarithmic, so linear growth is a straight line of slope 1 (drawn dashed from the
smallest point for comparison): a cycle that gets slower per object bends above it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 40, 60


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    span = math.log10(high) - math.log10(low)
    return start + (math.log10(value) - math.log10(low)) / span * (end - start)


def _decades(low: float, high: float) -> list[float]:
    return [10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def _label(value: float, unit: str = "") -> str:
    if value >= 1_000_000:
        text = f"{value / 1_000_000:g}M"
    elif value >= 1_000:
        text = f"{value / 1_000:g}k"
    else:
        text = f"{value:g}"
    return text + unit


def cycle_time_svg(points: Sequence[tuple[int, float]], title: str) -> str:
    """``points``: (users, seconds) pairs. Returns the SVG document."""
    points = sorted(points)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks, y_ticks = _decades(min(xs), max(xs)), _decades(min(ys), max(ys) * 1.01)
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def x(v: float) -> float:
        return _scale(v, x_lo, x_hi, LEFT, WIDTH - RIGHT)

    def y(v: float) -> float:
        return _scale(v, y_lo, y_hi, HEIGHT - BOTTOM, TOP)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
    ]
    for tick in x_ticks:
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP}" x2="{x(tick):.1f}" y2="{HEIGHT - BOTTOM}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{x(tick):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{_label(tick)}</text>'
        )
    for tick in y_ticks:
        out.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{_label(tick, " s")}</text>'
        )
    out.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 15}" text-anchor="middle">users in the directory (log scale)</text>'
    )
    out.append(
        f'<text x="18" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 18 {HEIGHT / 2})">'
        "initial cycle (s, log scale)</text>"
    )
    first_x, first_y = points[0]
    linear = [(v, first_y * v / first_x) for v in (first_x, xs[-1])]
    out.append(
        '<polyline fill="none" stroke="#999" stroke-dasharray="5 4" points="'
        + " ".join(f"{x(a):.1f},{y(min(max(b, y_lo), y_hi)):.1f}" for a, b in linear)
        + '"/>'
    )
    out.append(
        '<polyline fill="none" stroke="#0f6cbd" stroke-width="2" points="'
        + " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in points)
        + '"/>'
    )
    for a, b in points:
        out.append(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="4" fill="#0f6cbd"/>')
        out.append(f'<text x="{x(a) + 8:.1f}" y="{y(b) - 8:.1f}">{b:,.0f} s</text>')
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{TOP + 14}" text-anchor="end" fill="#666">dashed: linear growth</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
