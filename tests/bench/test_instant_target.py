"""The instant target answers the real connector with correct SCIM shapes (it stands in for an
application in bench_sync --target instant), and the cycle-time chart is drawn from measured points."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.chart import cycle_time_svg
from provisioning.connectors.scim import ScimTarget, TargetError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def instant_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_target"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_connector_creates_matches_updates_and_deletes_through_the_instant_target(instant_url):
    target = ScimTarget(instant_url, token="bench")
    assert target.capabilities().bulk

    created = target.bulk_create(
        "User",
        [{"userName": f"u{n}@contoso.test", "active": True, "displayName": f"U {n}"} for n in range(3)],
    )
    duplicate = target.bulk_create("User", [{"userName": "U0@contoso.test", "active": True}])
    ids = [c.id for c in created]
    assert len(set(ids)) == 3
    assert isinstance(duplicate[0], TargetError) and duplicate[0].http_status == 409, duplicate[0]

    found = target.find_many(
        "User", "userName", ["u1@contoso.test", "u2@contoso.test", "nobody@contoso.test"]
    )
    assert {value: obj.id for value, obj in found.items()} == {
        "u1@contoso.test": ids[1],
        "u2@contoso.test": ids[2],
    }

    target.update("User", ids[0], {"displayName": "Renamed"})
    assert target.get("User", ids[0]).values["displayName"] == "Renamed"

    group = target.create("Group", {"displayName": "Sales"})
    target.add_members(group.id, ids)
    target.remove_members(group.id, ids[:1])
    assert [m["value"] for m in target._http.get(f"Groups/{group.id}").json()["members"]] == ids[1:]

    target.delete("User", ids[2])
    assert target.find("User", "userName", "u2@contoso.test") is None


def test_the_chart_marks_each_measured_point():
    svg = cycle_time_svg([(10_000, 21.0), (100_000, 230.0), (1_000_000, 2600.0)], "Initial cycle")
    assert svg.startswith("<svg") and svg.count("<circle") == 3
    assert "2,600 s" in svg and "1M" in svg and "10k" in svg
