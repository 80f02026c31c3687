"""ScimTarget against a real scim2-server over loopback: the traffic Entra sends, and its results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from provisioning.connectors.scim import (
    AttemptRecord,
    ErrorCategory,
    ErrorCode,
    ScimTarget,
    TargetError,
    TargetObject,
)
from provisioning.connectors.scim.compat import LEGACY, Compatibility
from provisioning.connectors.scim.paths import ENTERPRISE_URN
from provisioning.engine.target_protocol import Target
from tests.fixtures.scim_server import ENTRA_LENIENT_POLICY, ScimTenant, extension_schema

WORK_EMAIL = 'emails[type eq "work"].value'
MANAGER = f"{ENTERPRISE_URN}:manager"
DEPARTMENT = f"{ENTERPRISE_URN}:department"


def user_values(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "userName": name,
        "active": True,
        "displayName": name.title(),
        "externalId": f"ext-{name}",
        "name.givenName": name.title(),
        "name.familyName": "Jensen",
        WORK_EMAIL: f"{name}@example.com",
        **extra,
    }


def stored_user(server: ScimTenant, target_id: str) -> dict[str, Any]:
    return next(u for u in server.users() if u["id"] == target_id)


def test_is_a_target(target: ScimTarget) -> None:
    assert isinstance(target, Target)


def test_capabilities_are_discovered_once(target: ScimTarget) -> None:
    first = target.capabilities()
    assert first.discovered and first.patch and first.bulk and first.filter and first.etag
    assert first.bulk_max_operations == 1000 and first.filter_max_results == 1000
    assert "oauthbearertoken" in first.authentication_schemes
    requests = target.stats["requests"]
    assert target.capabilities() is first
    assert target.stats["requests"] == requests


def test_create_user_with_enterprise_extension(target: ScimTarget, scim_server: ScimTenant) -> None:
    created = target.create(
        "User",
        user_values(
            "bjensen", **{DEPARTMENT: "Tour Operations", f"{ENTERPRISE_URN}:employeeNumber": "701984"}
        ),
    )
    assert isinstance(created, TargetObject) and created.id and created.retry_count == 0
    assert created.values["userName"] == "bjensen"
    assert created.values[WORK_EMAIL] == "bjensen@example.com"
    assert created.values[DEPARTMENT] == "Tour Operations"
    stored = stored_user(scim_server, created.id)
    assert stored["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert stored[ENTERPRISE_URN] == {"employeeNumber": "701984", "department": "Tour Operations"}
    assert stored["active"] is True


def test_find_matches_case_insensitively_and_returns_none_when_absent(target: ScimTarget) -> None:
    created = target.create("User", user_values("bjensen"))
    found = target.find("User", "userName", "BJensen")
    assert found is not None and found.id == created.id
    assert found.values["name.familyName"] == "Jensen"
    assert target.find("User", "userName", "nobody") is None
    by_email = target.find("User", WORK_EMAIL, "bjensen@example.com")
    assert by_email is not None and by_email.id == created.id
    assert target.find("User", "externalId", "EXT-BJENSEN") is None  # externalId is caseExact


def test_find_escapes_quotes(target: ScimTarget) -> None:
    created = target.create("User", user_values('o"brien'))
    found = target.find("User", "userName", 'o"brien')
    assert found is not None and found.id == created.id


def test_find_many_sends_one_eq_query_per_value_by_default(make_target: Callable[..., ScimTarget]) -> None:
    """matchingOperators=eq (the default): only `eq`, as Entra sends, even when asked for a batch."""
    records: list[AttemptRecord] = []
    target = make_target(find_batch_size=3, on_attempt=records.append)
    ids = {name: target.create("User", user_values(name)).id for name in ("ann", "bob", "cid")}
    records.clear()
    found = target.find_many("User", "userName", ["ann", "bob", "cid", "zed"])
    assert {value: obj.id for value, obj in found.items()} == ids
    assert len([r for r in records if r.operation == "match User"]) == 4


def test_find_many_batches_or_filters(make_target: Callable[..., ScimTarget]) -> None:
    records: list[AttemptRecord] = []
    target = make_target(
        find_batch_size=3, on_attempt=records.append, compatibility=Compatibility(matching_operators="eqOr")
    )
    ids = {name: target.create("User", user_values(name)).id for name in ("ann", "bob", "cid", "dee", "eve")}
    records.clear()
    found = target.find_many("User", "userName", ["ANN", "bob", "cid", "dee", "eve", "zed"])
    assert {value: obj.id for value, obj in found.items()} == {
        "ANN": ids["ann"],
        "bob": ids["bob"],
        "cid": ids["cid"],
        "dee": ids["dee"],
        "eve": ids["eve"],
    }
    searches = [r for r in records if r.operation == "match User"]
    assert len(searches) == 2  # 6 values, 3 per request


def test_update_sends_only_the_changed_paths(
    make_target: Callable[..., ScimTarget], scim_server: ScimTenant
) -> None:
    target = make_target()
    created = target.create("User", user_values("bjensen", title="Guide"))
    before = stored_user(scim_server, created.id)
    target.update(
        "User",
        created.id,
        {"displayName": "Barbara", "name.givenName": "Babs", WORK_EMAIL: "babs@example.com", "title": None},
    )
    after = stored_user(scim_server, created.id)
    assert after["displayName"] == "Barbara"
    assert after["name"] == {"givenName": "Babs", "familyName": "Jensen"}
    assert after["emails"] == [{"value": "babs@example.com", "type": "work", "primary": True}]
    assert "title" not in after
    untouched = {
        k: v for k, v in before.items() if k not in ("displayName", "name", "emails", "title", "meta")
    }
    assert {k: after[k] for k in untouched} == untouched


def test_update_adds_a_typed_entry_the_user_does_not_have(
    target: ScimTarget, scim_server: ScimTenant
) -> None:
    """A strict target refuses replace on a filter that matches nothing; the connector re-sends an add."""
    created = target.create("User", {"userName": "nomail", "active": True})
    target.update(
        "User", created.id, {WORK_EMAIL: "nomail@example.com", 'phoneNumbers[type eq "mobile"].value': "+1"}
    )
    stored = stored_user(scim_server, created.id)
    assert stored["emails"] == [{"value": "nomail@example.com", "type": "work", "primary": True}]
    assert stored["phoneNumbers"] == [{"value": "+1", "type": "mobile", "primary": True}]


def test_clearing_a_typed_value_removes_the_entry(target: ScimTarget, scim_server: ScimTenant) -> None:
    created = target.create("User", user_values("bjensen"))
    target.update("User", created.id, {WORK_EMAIL: None})
    assert "emails" not in stored_user(scim_server, created.id)


def test_set_active_sends_a_real_boolean(target: ScimTarget, scim_server: ScimTenant) -> None:
    created = target.create("User", user_values("bjensen"))
    target.set_active(created.id, False)
    assert stored_user(scim_server, created.id)["active"] is False
    target.set_active(created.id, True)
    assert stored_user(scim_server, created.id)["active"] is True
    found = target.find("User", "userName", "bjensen")
    assert found is not None and found.values["active"] is True


def test_manager_reference(target: ScimTarget, scim_server: ScimTenant) -> None:
    boss = target.create("User", user_values("boss"))
    worker = target.create("User", user_values("worker", **{MANAGER: boss.id}))
    assert stored_user(scim_server, worker.id)[ENTERPRISE_URN]["manager"] == {"value": boss.id}
    assert worker.values[MANAGER] == boss.id
    other = target.create("User", user_values("other"))
    target.update("User", worker.id, {MANAGER: other.id})
    found = target.find("User", "userName", "worker")
    assert found is not None and found.values[MANAGER] == other.id
    target.update("User", worker.id, {MANAGER: None})
    assert "manager" not in stored_user(scim_server, worker.id).get(ENTERPRISE_URN, {})


def test_roles_and_addresses_round_trip(target: ScimTarget) -> None:
    roles = [
        {"value": "admin", "display": "Admin", "primary": True, "type": "WindowsAzureActiveDirectoryRole"}
    ]
    created = target.create(
        "User", user_values("bjensen", roles=roles, **{'addresses[type eq "work"].locality': "Paris"})
    )
    assert created.values["roles"] == roles
    assert created.values['addresses[type eq "work"].locality'] == "Paris"


def test_delete_and_delete_again(target: ScimTarget, scim_server: ScimTenant) -> None:
    created = target.create("User", user_values("bjensen"))
    target.delete("User", created.id)
    assert scim_server.users() == []
    target.delete("User", created.id)  # already gone is not an error


def test_update_of_a_deleted_user_is_not_found(target: ScimTarget) -> None:
    created = target.create("User", user_values("bjensen"))
    target.delete("User", created.id)
    with pytest.raises(TargetError) as caught:
        target.update("User", created.id, {"displayName": "x"})
    assert caught.value.category is ErrorCategory.NOT_FOUND
    assert caught.value.code == ErrorCode.INVALID_ANCHOR
    assert caught.value.http_status == 404


def test_create_conflict(target: ScimTarget) -> None:
    target.create("User", user_values("bjensen"))
    with pytest.raises(TargetError) as caught:
        target.create("User", user_values("BJENSEN"))
    error = caught.value
    assert (error.category, error.code, error.http_status) == (ErrorCategory.CONFLICT, "EntryConflict", 409)
    assert error.retry_count == 0 and not error.retryable and not error.outcome_unknown
    assert error.scim_type == "uniqueness" and error.recommended_action


def test_invalid_value_is_rejected_before_sending(make_target: Callable[..., ScimTarget]) -> None:
    records: list[AttemptRecord] = []
    target = make_target(on_attempt=records.append)
    with pytest.raises(TargetError) as caught:
        target.create("User", {"userName": "x", "active": "not a boolean"})
    assert caught.value.category is ErrorCategory.REJECTED
    assert caught.value.http_status is None
    with pytest.raises(TargetError) as missing:
        target.create("User", {"displayName": "no user name"})
    assert missing.value.code == ErrorCode.MANDATORY_FIELDS_MISSING and "userName" in missing.value.reason
    with pytest.raises(TargetError) as bad_path:
        target.update("User", "some-id", {"not a path!": "x"})
    assert bad_path.value.code == ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND
    assert records == []  # nothing was sent


def test_emails_are_sent_as_given(target: ScimTarget, scim_server: ScimTenant) -> None:
    """scim2-models' EmailStr would lower-case the domain; our model keeps the value as sent."""
    created = target.create("User", {"userName": "jd", WORK_EMAIL: "John.Doe@Example.com"})
    assert created.values[WORK_EMAIL] == "John.Doe@Example.com"


def test_group_lifecycle_and_members(make_target: Callable[..., ScimTarget], scim_server: ScimTenant) -> None:
    records: list[AttemptRecord] = []
    target = make_target(member_batch_size=2, on_attempt=records.append)
    users = [target.create("User", user_values(f"user{i}")).id for i in range(5)]
    group = target.create("Group", {"displayName": "Tour Guides", "externalId": "g-1", "members": users})
    assert group.values["displayName"] == "Tour Guides"
    assert scim_server.groups()[0].get("members") in (None, [])  # created without members

    records.clear()
    target.add_members(group.id, users)
    assert sorted(m["value"] for m in scim_server.groups()[0]["members"]) == sorted(users)
    assert [r.method for r in records] == ["PATCH"] * 3  # 5 members, 2 per request

    target.add_members(group.id, users[:1])  # already a member: no error
    target.remove_members(group.id, users[:3])
    assert sorted(m["value"] for m in scim_server.groups()[0]["members"]) == sorted(users[3:])

    found = target.find("Group", "displayName", "tour guides")
    assert found is not None and found.id == group.id
    assert "members" not in found.values  # excludedAttributes=members

    target.update("Group", group.id, {"displayName": "Guides"})
    assert scim_server.groups()[0]["displayName"] == "Guides"
    target.delete("Group", group.id)
    assert scim_server.groups() == []


def test_bulk_create_uses_bulk_and_reports_per_item(
    make_target: Callable[..., ScimTarget], scim_server: ScimTenant
) -> None:
    records: list[AttemptRecord] = []
    target = make_target(bulk_batch_size=3, on_attempt=records.append)
    target.create("User", user_values("taken"))
    records.clear()
    items = [user_values(f"bulk{i}") for i in range(5)] + [user_values("taken"), {"userName": None}]
    results = target.bulk_create("User", items)
    assert len(results) == 7
    created = [r for r in results[:5] if isinstance(r, TargetObject)]
    assert len(created) == 5
    assert {r.values["userName"] for r in created} == {f"bulk{i}" for i in range(5)}
    stored_ids = {u["id"] for u in scim_server.users()}
    assert {r.id for r in created} <= stored_ids
    conflict, invalid = results[5], results[6]
    assert isinstance(conflict, TargetError) and conflict.category is ErrorCategory.CONFLICT
    # the log can show which operation of the Bulk request failed, what it carried and the answer
    assert conflict.request["path"] == "/Bulk (/Users, bulkId item2)"
    assert conflict.request["body"]["userName"] == "taken" and conflict.response["status"] == 409
    assert isinstance(invalid, TargetError) and invalid.category is ErrorCategory.REJECTED
    # batches of 3: [0-2], [3-5]; the last batch holds only the invalid item, so nothing is sent for it
    assert [r.path for r in records if r.method == "POST"] == ["/Bulk", "/Bulk"]


def test_bulk_create_falls_back_to_sequential_posts(
    scim_server_factory: Callable[..., Any], retry: Any, clock: Any
) -> None:
    server = scim_server_factory(
        service_provider_config={"bulk": {"supported": False}, "patch": {"supported": True}}
    )
    records: list[AttemptRecord] = []
    with ScimTarget(
        server.base_url, token=server.token, retry=retry, clock=clock.now, on_attempt=records.append
    ) as target:
        assert target.capabilities().bulk is False
        results = target.bulk_create("User", [user_values("a"), user_values("b"), user_values("a")])
    assert [type(r).__name__ for r in results] == ["TargetObject", "TargetObject", "TargetError"]
    assert [r.path for r in records if r.method == "POST"] == ["/Users"] * 3


def test_custom_extension_attributes(scim_server_factory: Callable[..., Any], retry: Any, clock: Any) -> None:
    """Custom extension URNs have no scim2-models class: they ride on the lenient policy and reach a target
    that declares the extension."""
    acme = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    server = scim_server_factory(user_extensions=[extension_schema(acme, "badge", "costCode")])
    with ScimTarget(server.base_url, token=server.token, retry=retry, clock=clock.now) as target:
        created = target.create("User", {"userName": "ext", f"{acme}:badge": "42", DEPARTMENT: "R&D"})
        assert created.values[f"{acme}:badge"] == "42"
        target.update("User", created.id, {f"{acme}:badge": "43", f"{acme}:costCode": "C1"})
        found = target.find("User", "userName", "ext")
    assert found is not None
    assert found.values[f"{acme}:badge"] == "43" and found.values[f"{acme}:costCode"] == "C1"
    assert found.values[DEPARTMENT] == "R&D"
    assert server.users()[0][acme] == {"badge": "43", "costCode": "C1"}


def test_legacy_entra_forms(scim_server_factory: Callable[..., Any], retry: Any, clock: Any) -> None:
    """Capitalised ops, "False" strings and member removal by value list, against an Entra-tolerant target."""
    server = scim_server_factory(policy=ENTRA_LENIENT_POLICY)
    with ScimTarget(
        server.base_url, token=server.token, compatibility=LEGACY, retry=retry, clock=clock.now
    ) as target:
        assert target.compat.string_booleans
        user = target.create("User", user_values("legacy"))
        other = target.create("User", user_values("other"))
        target.set_active(user.id, False)
        target.update("User", user.id, {"displayName": "Old School", "title": "Guide"})
        group = target.create("Group", {"displayName": "Legacy"})
        target.add_members(group.id, [user.id, other.id])
        target.remove_members(group.id, [user.id])
    stored = next(u for u in server.users() if u["id"] == user.id)
    assert stored["active"] is False and stored["displayName"] == "Old School" and stored["title"] == "Guide"
    assert [m["value"] for m in server.groups()[0]["members"]] == [other.id]


def test_wrong_token_is_unauthorized(make_target: Callable[..., ScimTarget]) -> None:
    target = make_target(token="wrong")
    with pytest.raises(TargetError) as caught:
        target.find("User", "userName", "x")
    error = caught.value
    assert (error.category, error.code, error.http_status) == (
        ErrorCategory.UNAUTHORIZED,
        "Unauthorized",
        401,
    )
    assert "wrong" not in str(error) and error.retry_count == 0


def test_wrong_base_url_path_is_service_incompatible(
    make_target: Callable[..., ScimTarget], scim_server: ScimTenant
) -> None:
    target = make_target(base_url=scim_server.base_url.replace("/v2", "/nope"))
    with pytest.raises(TargetError) as caught:
        target.find("User", "userName", "x")
    assert caught.value.category in (ErrorCategory.SCHEMA, ErrorCategory.NOT_FOUND)
    assert caught.value.code == ErrorCode.SERVICE_INCOMPATIBLE


def test_attempt_records_carry_no_secrets(
    make_target: Callable[..., ScimTarget], scim_server: ScimTenant
) -> None:
    records: list[AttemptRecord] = []
    target = make_target(on_attempt=records.append)
    target.create("User", user_values("bjensen"))
    assert [(r.operation, r.method, r.path, r.status, r.attempt) for r in records] == [
        ("create User", "POST", "/Users", 201, 1)
    ]
    assert scim_server.token and scim_server.token not in repr(records) + repr(target)


def test_off_spec_answers(stub_server: Callable[..., Any], retry: Any, clock: Any) -> None:
    """A create the target applied is a success even if its answer does not validate; a query answered with
    something that is not a ListResponse is an error, never "no match" (that would create duplicates)."""
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "42",
        "userName": "bjensen",
        "meta": {"created": "last tuesday"},  # not a date: scim2-models refuses the payload
    }

    def respond(method: str, path: str, *_: Any) -> tuple[int, dict[str, str], bytes]:
        if method == "POST":
            return 201, {"Content-Type": "application/scim+json"}, json.dumps(user).encode()
        return 200, {"Content-Type": "application/json"}, b'{"users": []}'

    stub = stub_server(respond)
    with ScimTarget(stub.url + "/scim/v2", token="t", retry=retry, clock=clock.now) as target:
        created = target.create("User", {"userName": "bjensen"})
        assert created.id == "42" and created.values["userName"] == "bjensen"
        assert target.stats["lenient_responses"] == 1
        with pytest.raises(TargetError) as caught:
            target.find("User", "userName", "bjensen")
    assert caught.value.code == ErrorCode.SERVICE_INCOMPATIBLE
