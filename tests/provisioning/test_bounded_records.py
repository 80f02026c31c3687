"""Bounded records: a 1 MB attribute reaches the target whole, while the escrow record and the log rows
keep a digest or a truncated copy, and the next cycle does not see a change; userName is trimmed."""

import json

import pytest

from portal.directory.models import DirectoryUser
from provisioning.models import EscrowEntry, ObjectMapping, ProvisioningLog
from tests.fixtures.provisioning import by_username, cycle_here, make_app

pytestmark = pytest.mark.django_db

MEGABYTE = 1_000_000  # "1 MB", under scim2-server's 1 MiB maxPayloadSize
LIMIT = 4096


def title_from_extension_attribute(job) -> None:
    users = ObjectMapping.objects.get(job=job, source_object="User")
    for mapping in users.attribute_mappings:
        if mapping["target"] == "title":
            mapping["source"] = "extensionAttribute1"
    users.save(update_fields=["attribute_mappings"])


def row_size(log: ProvisioningLog) -> int:
    return len(json.dumps(log.steps)) + len(json.dumps(log.modified_properties)) + len(log.error_reason)


def test_a_1_mb_attribute_is_exported_whole_but_recorded_bounded_and_does_not_flap(scim_server, settings):
    settings.PROVISIONING_RECORD_VALUE_LIMIT = LIMIT
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    title_from_extension_attribute(app.job)
    huge = "".join(chr(0x61 + i % 26) for i in range(MEGABYTE))
    user = DirectoryUser.objects.create(
        user_principal_name="big@contoso.test",
        display_name="Big Attribute",
        mail_nickname="big",
        extension_attributes={"extensionAttribute1": huge},
    )
    app.assign(user)

    first = cycle_here(app.job, initial=True)

    assert first.status == "completed" and first.created == 1
    assert by_username(scim_server)["big@contoso.test"]["title"] == huge  # the target gets it whole
    record = EscrowEntry.objects.get(job=app.job)
    assert len(json.dumps(record.exported)) < 2 * LIMIT
    assert record.exported["title"].startswith("sha256:")
    logs = list(ProvisioningLog.objects.filter(job=app.job))
    assert logs and all(row_size(log) < 3 * LIMIT for log in logs)
    (title,) = [m for m in logs[0].modified_properties if m["name"] == "title"]
    assert title["new"].startswith(huge[:LIMIT]) and "truncated" in title["new"]

    second = cycle_here(app.job, initial=True)  # every object re-evaluated: the digest must match the value

    assert second.status == "completed" and (second.created, second.updated, second.failed) == (0, 0, 0)

    DirectoryUser.objects.filter(pk=user.pk).update(extension_attributes={"extensionAttribute1": huge[::-1]})
    third = cycle_here(app.job, initial=True)  # a change inside the large value is still seen

    assert third.updated == 1
    assert by_username(scim_server)["big@contoso.test"]["title"] == huge[::-1]


def test_surrounding_spaces_in_username_are_trimmed(scim_server):
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    app.assign(
        DirectoryUser.objects.create(
            user_principal_name="  alice@x ", display_name="Alice", mail_nickname="alice"
        )
    )

    first = cycle_here(app.job, initial=True)
    second = cycle_here(app.job, initial=True)

    assert first.created == 1 and second.created == second.updated == second.failed == 0
    assert [u["userName"] for u in scim_server.users()] == ["alice@x"]
    assert ProvisioningLog.objects.filter(job=app.job, action="Create").get().target_name == "alice@x"
