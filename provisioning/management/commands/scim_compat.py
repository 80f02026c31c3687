"""``manage.py scim_compat URL --token TOKEN``: what a SCIM target supports and which switches it needs.

Runs Test Connection's probes, then tries each compatibility switch on a throw-away user and group
(deleted afterwards; ``--read-only`` skips that step). ``--json`` prints the report as JSON.
Exit status 0 when the target answered Test Connection, 1 otherwise. The token is never printed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.connectors.scim.compat import SWITCHES
from provisioning.connectors.scim.compat_probe import CompatibilityReport, compatibility_report


class Command(BaseCommand):
    help = "Print a SCIM target's compatibility report: what it supports and which switches it needs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url", help="the SCIM base URL (tenant URL), e.g. https://app.example.com/scim/v2"
        )
        parser.add_argument("--token", default=None, help="bearer token (secret token)")
        parser.add_argument(
            "--read-only", action="store_true", help="only Test Connection's probes; create nothing"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = compatibility_report(
            options["url"], token=options["token"], write=not options["read_only"], timeout=options["timeout"]
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self.stdout.write(render(report, options["url"]))
        if not report.connection.ok:
            raise CommandError(f"Test Connection failed ({report.connection.code}).", returncode=1)


def render(report: CompatibilityReport, url: str) -> str:
    connection = report.connection
    details = connection.details
    lines = [f"SCIM compatibility report for {url}", "", f"Test Connection: {connection.code}"]
    lines.append(f"  {connection.message}")
    capabilities = details.get("capabilities")
    if capabilities:
        lines.append("Supports (ServiceProviderConfig):")
        for key in ("patch", "bulk", "filter", "etag", "sort", "change_password"):
            extra = ""
            if key == "bulk" and capabilities.get("bulk_max_operations"):
                extra = f" (max {capabilities['bulk_max_operations']} operations)"
            if key == "filter" and capabilities.get("filter_max_results"):
                extra = f" (max {capabilities['filter_max_results']} results)"
            lines.append(f"  {key:<16}{'yes' if capabilities.get(key) else 'no'}{extra}")
    if details.get("schemas"):
        lines.append("Schemas: " + ", ".join(details["schemas"]))
    if details.get("resource_types"):
        lines.append("Resource types: " + ", ".join(str(rt.get("name")) for rt in details["resource_types"]))
    for name, error in (details.get("discovery_errors") or {}).items():
        lines.append(f"Discovery: /{name} {error}")
    if not connection.ok:
        return "\n".join(lines) + "\n"
    if not report.probed:
        lines += ["", "Switches: not probed (--read-only)."]
        return "\n".join(lines) + "\n"
    lines += ["", "Compatibility switches (probed on a throw-away user and group, deleted afterwards):"]
    by_name = {f.switch: f for f in report.findings}
    for switch in SWITCHES:
        finding = by_name.get(switch.name)
        if finding is None:
            lines.append(f"  {switch.name:<18} not probed")
            continue
        marker = "  <- needed" if finding.value != switch.default else ""
        lines.append(f"  {switch.name:<18} {finding.value}{marker}")
        lines.append(f"  {'':<18} {finding.evidence}")
    needs = report.compatibility.changed()
    lines.append("")
    if needs:
        lines.append("Set these switches: " + ", ".join(f"{k}={v}" for k, v in needs.items()))
    else:
        lines.append("No switch needed: the defaults (RFC 7644, what Entra sends) work.")
    for problem in report.problems:
        lines.append(f"Problem: {problem}")
    return "\n".join(lines) + "\n"
