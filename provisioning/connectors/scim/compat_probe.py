"""Which compatibility switches a target needs, found by trying each form once on throw-away objects.

Test Connection's probes (:func:`.probe.test_connection`) come first: the matching query, discovery.
Then, unless ``write=False``, a probe user and a probe group are created and each quirk is tried in the
default (RFC 7644) form first, and in the alternative form only when the default is refused or silently
not applied (every change is read back): path-less replace, op casing, JSON booleans, member removal,
``or`` filters. The probe objects are deleted at the end, also after a failure. Plain Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from provisioning.connectors.scim.connector import ScimTarget
from provisioning.engine.target_protocol import TargetError

from .client import OAuth2ClientCredentials
from .compat import SWITCHES, Compatibility
from .probe import ConnectionTestResult, test_connection
from .retry import RetryPolicy

__all__ = ["CompatibilityReport", "SwitchFinding", "compatibility_report"]

_ORDER = [s.name for s in SWITCHES]


@dataclass
class SwitchFinding:
    """What one probe found: the switch value the target needs, and what was seen."""

    switch: str
    value: str
    evidence: str


@dataclass
class CompatibilityReport:
    connection: ConnectionTestResult
    findings: list[SwitchFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    probed: bool = False

    @property
    def compatibility(self) -> Compatibility:
        return Compatibility.from_dict({f.switch: f.value for f in self.findings})

    def as_dict(self) -> dict[str, Any]:
        return {
            "connected": self.connection.ok,
            "code": self.connection.code,
            "message": self.connection.message,
            "details": self.connection.details,
            "probed": self.probed,
            "switches": {f.switch: {"value": f.value, "evidence": f.evidence} for f in self.findings},
            "needs": self.compatibility.changed(),
            "problems": self.problems,
        }


def _works(action: Callable[[], Any], check: Callable[[], bool] | None = None) -> tuple[bool, str]:
    """(applied, what was seen): a refusal, a success that read back unchanged, or a real success."""
    try:
        action()
        if check is not None and not check():
            return False, "accepted but not applied (read back unchanged)"
    except TargetError as error:
        return False, f"refused (HTTP {error.http_status or '-'} {error.code}: {error.reason[:160]})"
    return True, "accepted and applied"


class _Prober:
    def __init__(self, report: CompatibilityReport, connect: Callable[[Compatibility], ScimTarget]) -> None:
        self.report = report
        self.connect = connect
        self.targets: dict[Compatibility, ScimTarget] = {}
        self.default = self.target(Compatibility())

    def target(self, compat: Compatibility) -> ScimTarget:
        if compat not in self.targets:
            self.targets[compat] = self.connect(compat)
        return self.targets[compat]

    def close(self) -> None:
        for target in self.targets.values():
            target.close()

    def found(self, switch: str, value: str, evidence: str) -> None:
        self.report.findings.append(SwitchFinding(switch, value, evidence))

    def with_switches(self, **switches: str) -> ScimTarget:
        return self.target(replace(self.report.compatibility, **switches))

    def user_value(self, user_id: str, path: str) -> Any:
        return self.default.get("User", user_id).values.get(path)

    def members(self, group_id: str) -> list[str]:
        return list(self.default.get("Group", group_id).values.get("members") or [])

    def replace_and_case(self, user_id: str) -> None:
        # name.givenName/familyName: the attributes every server tried stores (displayName is not one).
        def shows(value: str) -> Callable[[], bool]:
            return lambda: self.user_value(user_id, "name.familyName") == value

        ok, seen = _works(
            lambda: self.default.update("User", user_id, {"name.givenName": "A", "name.familyName": "A"}),
            shows("A"),
        )
        if ok:
            self.found("replaceForm", "withoutPath", f"path-less replace {seen}")
            self.found("patchOpCase", "lower", f"lower-case ops {seen}")
            return
        per_path, seen_per_path = _works(
            lambda: self.with_switches(replace_form="perPath").update(
                "User", user_id, {"name.familyName": "B"}
            ),
            shows("B"),
        )
        self.found(
            "replaceForm", "perPath", f"path-less replace {seen}; one replace per path {seen_per_path}"
        )
        if per_path:
            self.found("patchOpCase", "lower", f"lower-case ops {seen_per_path}")
            return
        capitalized, seen_cap = _works(
            lambda: self.with_switches(replace_form="perPath", patch_op_case="capitalized").update(
                "User", user_id, {"name.familyName": "C"}
            ),
            shows("C"),
        )
        self.found(
            "patchOpCase",
            "capitalized" if capitalized else "lower",
            f"lower-case ops {seen_per_path}; capitalized ops {seen_cap}",
        )
        if not capitalized:
            self.report.problems.append("No PATCH form that was tried could change name.familyName.")

    def booleans(self, user_id: str) -> None:
        ok, seen = _works(
            lambda: self.with_switches(boolean_form="json").set_active(user_id, False),
            lambda: self.user_value(user_id, "active") is False,
        )
        if ok:
            self.found("booleanForm", "json", f"active=false (JSON) {seen}")
            return
        strings, seen_str = _works(
            lambda: self.with_switches(boolean_form="string").set_active(user_id, False),
            lambda: str(self.user_value(user_id, "active")).lower() == "false",
        )
        self.found(
            "booleanForm", "string" if strings else "json", f'active=false (JSON) {seen}; "False" {seen_str}'
        )

    def matching(self, name: str) -> None:
        batched = self.with_switches(matching_operators="eqOr")
        other = f"nobody-{uuid.uuid4().hex[:8]}@probe.invalid"
        try:
            found = batched.find_many("User", "userName", [name, other])
            note = "'or' filters work: eqOr would save requests" if name in found else "'or' filters miss"
        except TargetError as error:
            note = f"'or' filters refused ({error.code})"
        self.found("matchingOperators", "eq", f"eq works (Test Connection); {note}")

    def member_removal(self, group_id: str, user_id: str) -> None:
        ok, seen = _works(
            lambda: self.default.add_members(group_id, [user_id]), lambda: user_id in self.members(group_id)
        )
        if not ok:
            self.report.problems.append(f"Adding a group member: {seen}.")
            return
        ok, seen = _works(
            lambda: self.with_switches().remove_members(group_id, [user_id]),
            lambda: user_id not in self.members(group_id),
        )
        if ok:
            self.found("memberRemoval", "pathFilter", f'remove members[value eq "id"] {seen}')
            return
        listed, seen_list = _works(
            lambda: self.with_switches(member_removal="valueList").remove_members(group_id, [user_id]),
            lambda: user_id not in self.members(group_id),
        )
        self.found(
            "memberRemoval",
            "valueList" if listed else "pathFilter",
            f'remove members[value eq "id"] {seen}; remove with a value list {seen_list}',
        )


def compatibility_report(
    base_url: str,
    *,
    token: str | None = None,
    oauth: OAuth2ClientCredentials | None = None,
    write: bool = True,
    timeout: float = 10,
    verify: bool | str = True,
) -> CompatibilityReport:
    """Test Connection, then (``write``) one probe per switch; never raises for what the target does."""
    connection = test_connection(base_url, token=token, oauth=oauth, timeout=timeout, verify=verify)
    report = CompatibilityReport(connection)
    if not connection.ok or not write:
        return report
    report.probed = True

    def connect(compat: Compatibility) -> ScimTarget:
        return ScimTarget(
            base_url,
            token=token,
            oauth=oauth,
            compatibility=compat,
            timeout=timeout,
            verify_tls=verify,
            retry=RetryPolicy(max_attempts=1),
        )

    prober = _Prober(report, connect)
    default = prober.default
    name = f"scim-compat-{uuid.uuid4().hex[:12]}@probe.invalid"
    created: list[tuple[str, str]] = []
    try:
        user = default.create(
            "User", {"userName": name, "active": True, "name.givenName": "SCIM", "name.familyName": "Probe"}
        )
        created.append(("User", user.id))
        prober.replace_and_case(user.id)
        prober.booleans(user.id)
        prober.matching(name)
        group = default.create("Group", {"displayName": f"scim-compat-{uuid.uuid4().hex[:12]}"})
        created.append(("Group", group.id))
        prober.member_removal(group.id, user.id)
    except TargetError as error:
        report.problems.append(f"{error.operation or 'probe'}: {error.reason}")
    finally:
        for kind, target_id in reversed(created):
            try:
                default.delete(kind, target_id)  # type: ignore[arg-type]
            except TargetError as error:
                report.problems.append(
                    f"Could not delete the probe {kind.lower()} {target_id}: {error.reason}"
                )
        prober.close()
    report.findings.sort(key=lambda f: _ORDER.index(f.switch))
    return report
