"""The demo SCIM target keeps its store across restarts (issue 19, defect 1)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from portal.scim_target import ScimServerHandle, start_scim_server
from provisioning.connectors.scim import ScimTarget
from provisioning.connectors.scim.paths import ENTERPRISE_URN

TOKEN = "demo-token"


def _target(server: ScimServerHandle, retry: Any, clock: Any) -> ScimTarget:
    return ScimTarget(server.base_url, token=TOKEN, retry=retry, clock=clock.now, timeout=5)


def test_the_demo_target_finds_its_users_and_groups_again_after_a_restart(tmp_path: Path, retry, clock):
    store = tmp_path / "demo_scim_store.json"
    server = start_scim_server(token=TOKEN, store_path=store)
    target = _target(server, retry, clock)
    alice = target.create(
        "User",
        {
            "userName": "alice",
            "displayName": "Alice",
            "active": True,
            f"{ENTERPRISE_URN}:department": "Sales",
        },
    )
    bob = target.create("User", {"userName": "bob", "displayName": "Bob", "active": True})
    group = target.create("Group", {"displayName": "Sales"})
    target.add_members(group.id, [alice.id, bob.id])
    target.update("User", bob.id, {"active": False})
    gone = target.create("User", {"userName": "carol", "displayName": "Carol", "active": True})
    target.delete("User", gone.id)
    target.close()
    server.stop()

    restarted = start_scim_server(token=TOKEN, store_path=store)
    try:
        users = {u["userName"]: u for u in restarted.users()}
        assert set(users) == {"alice", "bob"}
        assert users["alice"]["id"] == alice.id and users["bob"]["active"] is False
        [stored_group] = restarted.groups()
        assert {m["value"] for m in stored_group["members"]} == {alice.id, bob.id}
        # Filters (the engine's matching) work on the reloaded store, and writes carry on.
        target = _target(restarted, retry, clock)
        found = target.find("User", "userName", "alice")
        assert found is not None and found.id == alice.id
        target.update("User", alice.id, {f"{ENTERPRISE_URN}:department": "Support"})
        target.close()
    finally:
        restarted.stop()
    third = start_scim_server(token=TOKEN, store_path=store)
    try:
        alice_again = next(u for u in third.users() if u["userName"] == "alice")
        assert "Support" in str(alice_again) and "Sales" not in str(alice_again)
    finally:
        third.stop()


def test_seeding_forgets_links_a_demo_target_without_its_store_cannot_have(db, tmp_path, settings):
    from django.core.management import call_command

    from portal.applications.demo import DEMO_APP_NAME
    from portal.applications.models import Application
    from provisioning.models import EscrowEntry, ProvisioningJob

    settings.VAR_DIR = tmp_path
    call_command("seed_directory", users=10, groups=2, seed=1, verbosity=0)
    call_command("seed_demo", scim_port=8081, verbosity=0)
    job = Application.objects.get(display_name=DEMO_APP_NAME).provisioning
    EscrowEntry.objects.create(
        job=job, object_kind="User", source_id=uuid.uuid4(), target_id="t1", state="active"
    )
    ProvisioningJob.objects.filter(pk=job.pk).update(needs_full_sync=False)

    (tmp_path / "demo_scim_store.json").write_text('{"resources": []}')
    call_command("seed_demo", scim_port=8081, verbosity=0)  # the target kept its store: records stay
    assert EscrowEntry.objects.filter(job=job).count() == 1

    (tmp_path / "demo_scim_store.json").unlink()  # the target lost its data (an in-memory run)
    call_command("seed_demo", scim_port=8081, verbosity=0)
    assert not EscrowEntry.objects.filter(job=job).exists()
    job.refresh_from_db()
    assert job.needs_full_sync  # the next cycle provisions everything again
