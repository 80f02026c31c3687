"""Roles and capabilities: the table, app owners, the deny-by-default middleware, what the UI hides."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from portal.accounts.models import ApplicationOwner, RoleAssignment, RoleSource
from portal.accounts.policy import POLICY, rule_for
from portal.accounts.roles import (
    ROLE_CAPABILITIES,
    Capability,
    PortalRole,
    forget,
    has_capability,
    parse_role,
    visible_applications,
)

pytestmark = pytest.mark.django_db

C, R = Capability, PortalRole


@pytest.fixture
def apps():
    from portal.applications import services

    return services.instantiate("taskize-connect", "Taskize Connect"), services.instantiate(
        "scim-generic", "Other app"
    )


def test_the_role_table_follows_entra():
    assert ROLE_CAPABILITIES[R.GLOBAL_ADMINISTRATOR] == frozenset(Capability)
    app_admin = ROLE_CAPABILITIES[R.APPLICATION_ADMINISTRATOR]
    assert app_admin == ROLE_CAPABILITIES[R.CLOUD_APPLICATION_ADMINISTRATOR]
    assert {C.APPS_WRITE, C.PROVISIONING_WRITE, C.DIRECTORY_READ, C.LOGS_READ} <= app_admin
    assert C.DIRECTORY_WRITE not in app_admin  # Entra: App Admins do not manage users and groups
    for reader in (R.REPORTS_READER, R.SECURITY_READER):
        assert ROLE_CAPABILITIES[reader] == {C.PORTAL_ACCESS, C.LOGS_READ, C.AUDIT_READ}


def test_superusers_are_global_administrators(make_portal_user):
    root = make_portal_user("root", superuser=True)
    assert all(has_capability(root, c) for c in Capability)


def test_a_plain_user_can_do_nothing(make_portal_user, apps):
    nobody = make_portal_user("nobody")
    assert not any(has_capability(nobody, c, apps[0]) for c in Capability)


def test_roles_add_up(make_portal_user):
    both = make_portal_user("both", R.REPORTS_READER, R.APPLICATION_ADMINISTRATOR)
    assert has_capability(both, C.AUDIT_READ) and has_capability(both, C.APPS_WRITE)
    assert not has_capability(both, C.DIRECTORY_WRITE)


def test_owners_manage_only_their_own_apps(make_portal_user, apps):
    mine, theirs = apps
    owner = make_portal_user("owner", owns=(mine,))
    assert has_capability(owner, C.PORTAL_ACCESS)
    for capability in (C.APPS_READ, C.APPS_WRITE, C.PROVISIONING_WRITE, C.LOGS_READ):
        assert has_capability(owner, capability, mine)
        assert not has_capability(owner, capability, theirs)
        assert not has_capability(owner, capability)  # not tenant-wide
    assert not has_capability(owner, C.APPS_CREATE, mine)
    assert not has_capability(owner, C.DIRECTORY_READ)
    from portal.applications.models import Application

    assert list(visible_applications(owner, Application.objects.all())) == [mine]


def test_disabled_users_lose_everything(make_portal_user):
    admin = make_portal_user("admin2", R.GLOBAL_ADMINISTRATOR)
    admin.is_active = False
    forget(admin)
    assert not has_capability(admin, C.PORTAL_ACCESS)


def test_role_names_parse_from_values_and_labels():
    assert parse_role("Application Administrator") is R.APPLICATION_ADMINISTRATOR
    assert parse_role("reports_reader") is R.REPORTS_READER
    with pytest.raises(ValueError, match="Unknown portal role"):
        parse_role("Helpdesk Administrator")


def test_policy_patterns_route_pages_to_the_right_rule():
    assert rule_for("provisioning:app_logs").read is C.LOGS_READ  # logs, not the blade's catch-all
    assert rule_for("provisioning:log_detail").read is C.LOGS_READ
    assert rule_for("provisioning:some_future_page").read is C.PROVISIONING_READ
    assert rule_for("directory:some_future_page").write is C.DIRECTORY_WRITE
    assert rule_for("applications:gallery_search").read is C.APPS_CREATE
    assert rule_for("applications:app_audit_log").read is C.AUDIT_READ
    assert rule_for("applications:provisioning_logs").read is C.LOGS_READ
    assert rule_for("audit_log").write is None
    assert rule_for("reports:anything") is None
    assert all(rule.pattern for rule in POLICY)


# ---- the middleware ---------------------------------------------------------------------------------


@pytest.mark.urls("tests.accounts.unlisted_urls")
def test_a_page_missing_from_the_policy_is_refused_even_to_global_admins(make_portal_user, client, caplog):
    client.force_login(make_portal_user("root", superuser=True))
    response = client.get("/brand-new/")
    assert response.status_code == 403
    assert b"secret" not in response.content
    assert b"not in the portal&#x27;s access policy" in response.content
    assert "no access-policy rule for 'brand_new_page'" in caplog.text


def test_a_plain_user_gets_the_403_page_in_the_shell_with_sign_out(make_portal_user, client):
    client.force_login(make_portal_user("nobody"))
    response = client.get(reverse("home"))
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="forbidden"' in html and "You hold no role in this portal" in html
    assert "Sign out" in html and 'class="sidenav"' in html
    assert ">Users</a>" not in html  # nothing to navigate to


def test_refusals_for_htmx_are_fragments_and_for_api_callers_json(make_portal_user, client):
    client.force_login(make_portal_user("reader", R.REPORTS_READER))
    url = reverse("directory:user_list")
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 403 and fragment["HX-Retarget"] == "#main"
    assert b"<html" not in fragment.content and b"directory.read" in fragment.content
    as_json = client.get(url, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 403 and as_json.json()["error"] == "forbidden"


def test_anonymous_visitors_are_sent_to_sign_in_not_refused(client):
    response = client.get(reverse("audit_log"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_django_admin_keeps_its_own_checks(make_portal_user, client):
    client.force_login(make_portal_user("root", superuser=True))
    assert client.get("/admin/accounts/roleassignment/").status_code == 200
    client.force_login(make_portal_user("appadmin", R.APPLICATION_ADMINISTRATOR))
    assert client.get("/admin/").status_code == 302  # not staff: the admin's own sign-in


# ---- what the UI shows --------------------------------------------------------------------------------


def _nav(client) -> str:
    return client.get(reverse("home")).content.decode().split('class="sidenav"', 1)[1].split("</nav>", 1)[0]


def test_navigation_shows_only_what_the_role_may_open(make_portal_user, client, apps):
    client.force_login(make_portal_user("reader", R.SECURITY_READER))
    nav = _nav(client)
    assert ">Audit logs</span></a>" in nav and ">Users</span></a>" not in nav
    assert ">Enterprise applications</span></a>" not in nav
    client.force_login(make_portal_user("appadmin", R.APPLICATION_ADMINISTRATOR))
    nav = _nav(client)
    assert ">Users</span></a>" in nav and ">Enterprise applications</span></a>" in nav
    client.force_login(make_portal_user("owner", owns=(apps[0],)))
    nav = _nav(client)
    assert ">Enterprise applications</span></a>" in nav and ">Users</span></a>" not in nav


def test_templates_can_ask_what_the_user_may_do(make_portal_user, apps):
    mine, theirs = apps
    owner = make_portal_user("owner", owns=(mine,))
    request = RequestFactory().get("/")
    request.user = owner
    template = Template(
        '{% load access %}{% can "apps.write" app as w %}{% can "apps.create" as c %}'
        "{{ w|yesno:'write,no-write' }} {{ c|yesno:'create,no-create' }}"
    )
    assert template.render(Context({"request": request, "app": mine})) == "write no-create"
    assert template.render(Context({"request": request, "app": theirs})) == "no-write no-create"
    from portal.accounts.context import PortalPerms

    perms = Template("{{ p.apps_write }} {{ p.audit_read }} {{ p.bogus }}")
    assert perms.render(Context({"p": PortalPerms(owner, mine)})) == "True False "


def test_perms_portal_follows_the_app_of_the_page(make_portal_user, client, apps):
    mine, _ = apps
    client.force_login(make_portal_user("owner", owns=(mine,)))
    response = client.get(reverse("applications:overview", args=[mine.service_principal_id]))
    assert response.status_code == 200
    assert response.context["perms_portal"]["apps_write"] is True
    assert response.context["perms_portal"]["apps_create"] is False


# ---- assign_role ----------------------------------------------------------------------------------------


def test_assign_role_grants_and_removes_a_role_and_audits_it(make_portal_user, capsys):
    from portal.models import AuditEntry

    alice = make_portal_user("alice")
    call_command("assign_role", "alice", "Application Administrator")
    assert RoleAssignment.objects.filter(
        user=alice, role=R.APPLICATION_ADMINISTRATOR, source=RoleSource.LOCAL
    )
    assert "Assigned Application Administrator to alice" in capsys.readouterr().out
    call_command("assign_role", "alice@example.com", "application_administrator", "--remove")
    assert not RoleAssignment.objects.filter(user=alice).exists()
    activities = list(AuditEntry.objects.order_by("at").values_list("activity", flat=True))
    assert activities[-2:] == ["Add member to role", "Remove member from role"]


def test_assign_role_makes_app_owners(make_portal_user, apps, capsys):
    mine, _ = apps
    bob = make_portal_user("bob")
    call_command("assign_role", "bob", "owner", "--app", str(mine.service_principal_id))
    assert ApplicationOwner.objects.filter(user=bob, application=mine).exists()
    call_command("assign_role", "bob", "--list")
    assert f"owner of Taskize Connect ({mine.service_principal_id})" in capsys.readouterr().out
    call_command("assign_role", "bob", "owner", "--app", "Taskize Connect", "--remove")
    assert not ApplicationOwner.objects.exists()


def test_assign_role_explains_mistakes(make_portal_user):
    from django.core.management.base import CommandError

    make_portal_user("carol")
    with pytest.raises(CommandError, match="Unknown portal role"):
        call_command("assign_role", "carol", "Helpdesk Administrator")
    with pytest.raises(CommandError, match="No single portal user"):
        call_command("assign_role", "nobody", "reports_reader")
    with pytest.raises(CommandError, match="needs --app"):
        call_command("assign_role", "carol", "owner")
