"""Quarantine, provision on demand and the dry-run plan (accidental-deletion prevention: test_engine_pages)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from provisioning.models import Cycle, ProvisioningJob, ProvisioningLog
from tests.fixtures.provisioning import cycle_here, make_app, make_users

pytestmark = pytest.mark.django_db


def set_notification(job, email="ops@contoso.test"):
    ProvisioningJob.objects.filter(pk=job.pk).update(notification_email=email)


def test_wrong_token_quarantines_emails_once_and_a_passing_test_clears_it(
    scim_server, signed_in_client, held_tasks, django_capture_on_commit_callbacks
):
    app = make_app(scim_server.base_url, "not-the-token")
    set_notification(app.job)
    app.assign(make_users(3)[0])

    with django_capture_on_commit_callbacks(execute=True):  # the email goes out after commit
        cycle = cycle_here(app.job)

    job = ProvisioningJob.objects.get(pk=app.job.pk)
    assert cycle.status == "failed"
    assert job.state == "Quarantine" and job.quarantine_reason == "EncounteredQuarantineException"
    assert len(mail.outbox) == 1
    assert "quarantined" in mail.outbox[0].subject and mail.outbox[0].to == ["ops@contoso.test"]
    assert "/provisioning" in mail.outbox[0].body  # a link to the logs
    with django_capture_on_commit_callbacks(execute=True):
        cycle_here(job, initial=True)  # still failing: no second email the same day
    assert len(mail.outbox) == 1

    job.refresh_from_db()
    job.secret_token = scim_server.token
    job.save(update_fields=["secret_token"])
    url = reverse("provisioning:test_connection", args=[job.application.service_principal_id])
    response = signed_in_client.post(
        url, {"auth_method": "bearer", "tenant_url": scim_server.base_url, "secret_token": ""}
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.state != "Quarantine" and job.quarantine_reason == ""


def test_provision_on_demand_shows_steps_and_logs_for_in_and_out_of_scope(scim_server, signed_in_client):
    app = make_app(scim_server.base_url, scim_server.token)
    inside, outside = make_users(2)
    app.assign(inside)
    url = reverse("provisioning:on_demand", args=[app.job.application.service_principal_id])

    response = signed_in_client.post(url, {"kind": "User", "object_id": str(inside.object_id)})
    html = response.content.decode()
    assert response.status_code == 200
    for step in ("Import", "Scoping", "Matching", "Export"):
        assert f'data-step="{step}"' in html
    assert "Created the user in the target." in html and "userName" in html
    assert [u["userName"] for u in scim_server.users()] == [inside.user_principal_name]

    response = signed_in_client.post(url, {"kind": "User", "object_id": str(outside.object_id)})
    html = response.content.decode()
    assert "Not in scope: not assigned to the application" in html
    assert len(scim_server.users()) == 1
    logs = {log.source_id: log for log in ProvisioningLog.objects.filter(job=app.job)}
    assert logs[str(inside.object_id)].action == "Create" and logs[str(inside.object_id)].status == "success"
    assert logs[str(outside.object_id)].action == "Skip"
    assert not Cycle.objects.filter(job=app.job).exists()  # on demand is not a cycle


def test_plan_shows_what_a_cycle_would_do_and_writes_nothing(scim_server, signed_in_client):
    app = make_app(scim_server.base_url, scim_server.token)
    for user in make_users(5):
        app.assign(user)
    url = reverse("provisioning:plan", args=[app.job.application.service_principal_id])

    html = signed_in_client.get(url, {"run": 1}).content.decode()

    assert 'data-action="Create">5<' in html
    assert "user0@contoso.test" in html or "User 0" in html
    assert scim_server.users() == []
    filtered = signed_in_client.get(url, {"run": 1, "action": "Update"}).content.decode()
    assert "User 0" not in filtered


def test_plan_is_summarised_by_action_with_folded_details(scim_server, signed_in_client, settings):
    app = make_app(scim_server.base_url, scim_server.token)
    users = make_users(30)
    for user in users:
        app.assign(user)
    scim_server_user = users[0]
    signed_in_client.post(
        reverse("provisioning:on_demand", args=[app.job.application.service_principal_id]),
        {"kind": "User", "object_id": str(scim_server_user.object_id)},
    )
    url = reverse("provisioning:plan", args=[app.job.application.service_principal_id])
    html = signed_in_client.get(url, {"run": 1}).content.decode()
    # Counts by action, and each action's objects folded in its own <details>, closed by default.
    folded = re.findall(r'<details class="plan-details panel" data-action="([^"]+)"( open)?>', html)
    assert folded and all(not is_open for _, is_open in folded)
    assert {name for name, _ in folded} >= {"Create"}
    create = html.split('data-action="Create">', 2)[-1].split("</details>", 1)[0]
    assert create.count("<tr><td>") == 29
    assert '<span class="badge">29</span>' in html


def test_on_demand_for_an_account_already_active_in_the_target_reports_no_active_change(scim_server):
    from provisioning.models import EscrowEntry
    from provisioning.sync.operations import provision_on_demand

    app = make_app(scim_server.base_url, scim_server.token)
    [user] = make_users(1)
    app.assign(user)
    provision_on_demand(app.job, "User", str(user.object_id))
    EscrowEntry.objects.filter(job=app.job).delete()  # the portal forgot the link: it matches again
    assert scim_server.users()[0]["active"] is True

    outcome = provision_on_demand(app.job, "User", str(user.object_id))

    assert outcome.status == "success"
    assert not [p for p in outcome.modified if p["name"] == "active"], outcome.modified
    assert len(scim_server.users()) == 1


def test_group_on_demand_takes_up_to_five_chosen_members(scim_server, signed_in_client):
    from tests.fixtures.provisioning import make_group

    app = make_app(scim_server.base_url, scim_server.token)
    people = make_users(7, prefix="member")
    group = make_group("Sales", people)
    app.assign(group)
    url = reverse("provisioning:on_demand", args=[app.job.application.service_principal_id])

    picker = signed_in_client.get(url, {"group": str(group.object_id)}).content.decode()
    assert 'data-testid="member-picker"' in picker and all(p.display_name in picker for p in people)

    too_many = signed_in_client.post(
        url,
        {
            "kind": "Group",
            "object_id": str(group.object_id),
            "members": [str(p.object_id) for p in people[:6]],
        },
    ).content.decode()
    assert "Choose at most 5 members" in too_many
    assert scim_server.groups() == [] and scim_server.users() == []

    chosen = people[:2]
    page = signed_in_client.post(
        url,
        {"kind": "Group", "object_id": str(group.object_id), "members": [str(p.object_id) for p in chosen]},
    ).content.decode()
    assert 'data-testid="member-outcomes"' in page
    assert {u["userName"] for u in scim_server.users()} == {p.user_principal_name for p in chosen}
    [target_group] = scim_server.groups()
    assert len(target_group.get("members") or []) == 2
