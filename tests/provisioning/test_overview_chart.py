"""The server-side SVG cycle history chart: valid SVG, stacked bars, escaping, edge cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from django.utils import timezone

from provisioning.views.charts import CyclePoint, cycle_history_svg, format_duration, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def points(n: int, **overrides) -> list[CyclePoint]:
    start = timezone.now() - timedelta(hours=n)
    values = {"created": 10, "updated": 5, "failed": 1, "duration_s": 120.0}
    values.update(overrides)
    return [CyclePoint(label=f"Cycle {i}", started_at=start + timedelta(hours=i), **values) for i in range(n)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on malformed markup


def test_one_stacked_bar_per_cycle_with_a_duration_line():
    root = parse(cycle_history_svg(points(30)))
    bars = root.findall(f"{SVG}g")
    assert len(bars) == 30
    first = bars[0].findall(f"{SVG}rect")
    assert [r.get("data-series") for r in first] == ["created", "updated", "failed"]
    assert [r.get("data-value") for r in first] == ["10", "5", "1"]
    heights = [float(r.get("height")) for r in first]
    assert heights[0] > heights[1] > 0  # proportional: 10 created taller than 5 updated
    line = root.find(f"{SVG}polyline")
    assert line is not None and len(line.get("points").split()) == 30
    assert root.get("role") == "img" and "Cycle history" in root.find(f"{SVG}title").text


def test_tiny_values_stay_visible_next_to_a_big_initial_cycle():
    data = points(1, created=10_000) + points(1, created=0, updated=3, failed=0)
    root = parse(cycle_history_svg(data))
    small = root.findall(f"{SVG}g")[1].findall(f"{SVG}rect")
    assert len(small) == 1 and float(small[0].get("height")) >= 2


def test_running_cycle_has_no_duration_point_and_zero_series_draw_nothing():
    data = points(2) + points(1, created=0, updated=0, failed=0, duration_s=None)
    root = parse(cycle_history_svg(data))
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 2
    assert root.findall(f"{SVG}g")[2].findall(f"{SVG}rect") == []
    assert "running" in root.findall(f"{SVG}g")[2].find(f"{SVG}title").text


def test_labels_are_escaped():
    data = [CyclePoint('<script>alert("x")</script>', timezone.now(), 1, 1, 1, 5)]
    svg = str(cycle_history_svg(data))
    assert "<script>" not in svg
    parse(svg)


def test_empty_chart():
    root = parse(cycle_history_svg([]))
    assert "No cycles yet" in "".join(root.itertext())


def test_axis_helpers():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 480, 5000)] == [1, 1, 5, 10, 20, 500, 5000]
    assert format_duration(42) == "42 s"
    assert format_duration(125) == "2 min 5 s"
    assert format_duration(7300) == "2 h 1 min"
    assert format_duration(None) == "running"
