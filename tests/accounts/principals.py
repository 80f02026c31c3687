"""The principals of the permission matrix: one per portal role, two app owners, a plain user."""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.roles import PortalRole

R = PortalRole


@dataclass(frozen=True)
class Principal:
    name: str
    roles: tuple[PortalRole, ...] = ()
    superuser: bool = False
    owns: str | None = None  # "app" (the app in the URLs) or "other" (another app)


PRINCIPALS = (
    Principal("superuser", superuser=True),
    Principal("global_admin", (R.GLOBAL_ADMINISTRATOR,)),
    Principal("app_admin", (R.APPLICATION_ADMINISTRATOR,)),
    Principal("cloud_app_admin", (R.CLOUD_APPLICATION_ADMINISTRATOR,)),
    Principal("reports_reader", (R.REPORTS_READER,)),
    Principal("security_reader", (R.SECURITY_READER,)),
    Principal("owner", owns="app"),
    Principal("other_owner", owns="other"),
    Principal("user"),
)
