"""The permission matrix: every URL of the site, by every role, by GET and POST, against the policy.

The URLs come from the URL resolver (so a page added by anyone is covered at once) and their arguments
are filled with real objects (a directory user and group, an import, two apps, an assignment, a log).
What each principal should get is worked out here from the policy's rule for the URL and the role
table — independently of the middleware's own code path — and compared with what the server answers:
anonymous → 302 to sign-in; refused → the 403 page; allowed → anything but 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from portal.accounts.policy import POLICY, rule_for
from portal.accounts.roles import OWNER_CAPABILITIES, ROLE_CAPABILITIES, Capability, PortalRole
from tests.fixtures.principals import PRINCIPALS, Principal
from tests.fixtures.urlmap import Route, UrlValues, all_routes

pytestmark = pytest.mark.django_db

R = PortalRole


def expected_allowed(
    principal: Principal, view_name: str | None, method: str, url_app: Any, apps: dict
) -> bool:
    """What the policy table and the role table say, computed without the middleware's helpers."""
    rule = rule_for(view_name)
    if rule is None:
        return False
    capability = rule.read if method == "GET" else rule.write
    if capability is None:
        return False
    held = set(ROLE_CAPABILITIES[R.GLOBAL_ADMINISTRATOR]) if principal.superuser else set()
    for role in principal.roles:
        held |= ROLE_CAPABILITIES[role]
    if capability in held:
        return True
    if principal.owns is None:
        return False
    if capability is Capability.PORTAL_ACCESS:
        return True
    if capability not in OWNER_CAPABILITIES:
        return False
    owned = apps[principal.owns]
    return (rule.app_scoped and url_app is not None and url_app.pk == owned.pk) or rule.owner_list


def _request(client: Client, method: str, url: str) -> Any:
    """One request whose writes are rolled back, so every principal meets the same objects."""
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url)
        transaction.set_rollback(True)
    return response


def _routes() -> list[Route]:
    return [r for r in all_routes() if not (rule_for(r.view_name) and rule_for(r.view_name).public)]


def test_every_url_has_a_policy_rule():
    """A page without a rule is refused to everyone; list it in portal/accounts/policy.py."""
    routes = all_routes()
    assert len(routes) > 20
    unnamed = [r.where for r in routes if r.view_name is None]
    unlisted = [r.view_name for r in routes if r.view_name and rule_for(r.view_name) is None]
    assert not unnamed, f"URL patterns without a name cannot be in the access policy: {unnamed}"
    assert not unlisted, f"URLs missing from portal/accounts/policy.py POLICY: {unlisted}"


def test_every_policy_rule_is_used_or_anticipates_a_section():
    """Rules exist for pages that exist (or are reserved for sections announced in NAVIGATION)."""
    names = [r.view_name for r in all_routes() if r.view_name]
    used = {rule.pattern for rule in POLICY if any(rule_for(n) == rule for n in names)}
    assert {"home", "login", "directory:*", "applications:*", "provisioning:*", "audit_log"} <= used


def test_permission_matrix(world):
    values: UrlValues = world["values"]
    anonymous = Client(raise_request_exception=False)
    mismatches: list[str] = []
    checked = 0
    for route in _routes():
        url, url_app, _ = values.url(route)
        for method in ("GET", "POST"):
            response = _request(anonymous, method, url)
            if response.status_code != 302 or not response["Location"].startswith(reverse("login")):
                mismatches.append(f"anonymous {method} {url} ({route.view_name}): {response.status_code}")
            for principal in PRINCIPALS:
                response = _request(world["clients"][principal.name], method, url)
                allowed = expected_allowed(principal, route.view_name, method, url_app, world["apps"])
                refused = response.status_code == 403
                if allowed and refused:
                    mismatches.append(f"{principal.name} {method} {url} ({route.view_name}): refused")
                elif not allowed and not (refused and b'data-testid="forbidden"' in response.content):
                    mismatches.append(
                        f"{principal.name} {method} {url} ({route.view_name}): {response.status_code}, "
                        "expected the 403 page"
                    )
                checked += 1
    assert checked > 300
    assert not mismatches, "\n".join(mismatches)


# A few lines of the table spelled out, so the matrix above is not only checked against itself.
SPOT_CHECKS = [
    ("reports_reader", "GET", "audit_log", True),
    ("reports_reader", "GET", "directory:user_list", False),
    ("security_reader", "GET", "provisioning:log_list", True),
    ("security_reader", "GET", "applications:app_list", False),
    ("app_admin", "GET", "directory:user_list", True),
    ("app_admin", "POST", "directory:user_create", False),
    ("app_admin", "POST", "applications:gallery_create", True),
    ("cloud_app_admin", "POST", "provisioning:configuration", True),
    ("owner", "GET", "applications:overview", True),
    ("owner", "POST", "provisioning:configuration", True),
    ("owner", "GET", "applications:app_list", True),
    ("owner", "GET", "applications:gallery", False),
    ("owner", "GET", "directory:user_list", False),
    ("other_owner", "GET", "applications:overview", False),
    ("other_owner", "POST", "provisioning:configuration", False),
    ("user", "GET", "home", False),
    ("global_admin", "POST", "directory:user_create", True),
    ("global_admin", "POST", "audit_log", False),  # read-only page
]


@pytest.mark.parametrize(("principal", "method", "view_name", "allowed"), SPOT_CHECKS)
def test_spot_checks_of_the_role_table(world, principal, method, view_name, allowed):
    route = next(r for r in all_routes() if r.view_name == view_name)
    url, url_app, _ = world["values"].url(route)
    who = next(p for p in PRINCIPALS if p.name == principal)
    assert expected_allowed(who, view_name, method, url_app, world["apps"]) is allowed
    response = _request(world["clients"][principal], method, url)
    assert (response.status_code == 403) is not allowed, response.status_code
