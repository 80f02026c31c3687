"""The page processor alone: plain source objects in, a memory target, outcomes out. No database.

Each test is the engine's decision for one situation (scope, match, create, adopt, update, disable,
delete, a refusal, an outage, a lost answer), checked on what the target received and what the
outcomes say, in microseconds.
"""

import pytest

from provisioning.engine.config import EngineConfig, ObjectMappingConfig
from provisioning.engine.outcome import FORGET
from provisioning.engine.processor import PageProcessor, StopCycle
from provisioning.engine.source import EscrowRecord, SourceObject
from provisioning.engine.target_protocol import ErrorCategory
from tests.fixtures.memory_target import MemoryTarget

MANAGER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
USERS = {
    "key": "users",
    "source_object": "User",
    "attribute_mappings": [
        {"target": "userName", "type": "Direct", "source": "userPrincipalName", "matchingPrecedence": 1},
        {"target": "externalId", "type": "Direct", "source": "mailNickname", "matchingPrecedence": 2},
        {"target": "displayName", "type": "Direct", "source": "displayName"},
        {"target": MANAGER, "type": "Direct", "source": "manager"},
    ],
}
GROUPS = {
    "key": "groups",
    "source_object": "Group",
    "attribute_mappings": [
        {"target": "displayName", "type": "Direct", "source": "displayName", "matchingPrecedence": 1},
        {"target": "members", "type": "Direct", "source": "members"},
    ],
}


def config(users: dict | None = None, **options) -> EngineConfig:
    options.setdefault("concurrency", 1)
    return EngineConfig(
        users=ObjectMappingConfig.from_dict(users or USERS),
        groups=ObjectMappingConfig.from_dict(GROUPS),
        **options,
    )


def person(name: str, **fields) -> SourceObject:
    attributes = {
        "userPrincipalName": f"{name}@contoso.test",
        "mailNickname": name,
        "displayName": name.title(),
    }
    attributes.update(fields.pop("attributes", {}))
    fields.setdefault("entitled", True)
    return SourceObject("User", f"id-{name}", name.title(), attributes, **fields)


def processor(target: MemoryTarget, links: dict[str, str] | None = None, **options) -> PageProcessor:
    """A processor whose resolver knows ``links`` (source id → target id), as escrow would."""
    links = links or {}
    return PageProcessor(
        config(**options), target, lambda kind, ids: {i: links[i] for i in ids if i in links}
    )


@pytest.fixture
def target() -> MemoryTarget:
    return MemoryTarget()


def test_an_entitled_user_is_created_with_its_mapped_values(target):
    [outcome] = processor(target).process("User", [person("ada")], {})

    assert (outcome.action, outcome.status) == ("Create", "success")
    [user] = target.users()
    assert user["userName"] == "ada@contoso.test" and user["displayName"] == "Ada"
    assert outcome.escrow.target_id == user["id"] and outcome.escrow.exported["externalId"] == "ada"
    assert [s.name for s in outcome.steps] == ["Import", "Scoping", "Matching", "Export"]


def test_a_linked_user_without_changes_sends_nothing(target):
    first = processor(target).process("User", [person("ada")], {})[0]
    calls = target.requests

    [again] = processor(target).process("User", [person("ada")], {"id-ada": first.escrow})

    assert (again.action, again.status) == ("Skip", "skipped") and target.requests == calls


def test_a_changed_attribute_is_the_only_one_sent(target):
    first = processor(target).process("User", [person("ada")], {})[0]

    [outcome] = processor(target).process(
        "User", [person("ada", attributes={"displayName": "Ada L."})], {"id-ada": first.escrow}
    )

    assert outcome.action == "Update" and [p["name"] for p in outcome.modified] == ["displayName"]
    assert target.calls["update"] == 1 and target.users()[0]["displayName"] == "Ada L."


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"entitled": False}, "not assigned"),
        ({"enabled": False}, "account disabled"),
        ({"soft_deleted": True}, "recycle bin"),
    ],
)
def test_out_of_scope_users_are_never_created(target, fields, reason):
    [outcome] = processor(target).process("User", [person("ada", **fields)], {})

    assert outcome.status == "skipped" and target.requests == 0
    assert reason in outcome.steps[1].description


def test_a_scoping_filter_keeps_out_who_does_not_pass_it(target):
    users = {
        **USERS,
        "scoping_filters": [[{"attribute": "department", "operator": "EQUALS", "value": "Sales"}]],
    }
    page = [
        person("ada", attributes={"department": "Sales"}),
        person("bob", attributes={"department": "R&D"}),
    ]

    ada, bob = PageProcessor(config(users), target, lambda kind, ids: {}).process("User", page, {})

    assert ada.action == "Create" and bob.status == "skipped"
    assert "does not pass the scoping filters" in bob.steps[1].description


def test_matching_adopts_an_existing_account_by_precedence(target):
    existing = target.seed("User", {"userName": "someone-else", "externalId": "ada", "displayName": "Old"})

    [outcome] = processor(target).process("User", [person("ada")], {})

    assert target.calls["create"] == 0 and outcome.target_id == existing.id
    assert outcome.action == "Update" and target.users()[0]["displayName"] == "Ada"
    assert target.calls["find_many"] == 2  # userName first, then externalId


def test_unassigned_linked_user_is_staged_then_disabled(target):
    record = processor(target).process("User", [person("ada")], {})[0].escrow
    p = processor(target)

    [outcome] = p.process("User", [person("ada", entitled=False)], {"id-ada": record})
    assert outcome.pending == "Disable" and target.calls["set_active"] == 0  # staged, not sent
    p.deprovision("User", [(outcome, record)])

    assert target.users()[0]["active"] is False and outcome.escrow.state == "disabled"


def test_hard_deleted_user_is_deleted_and_forgotten(target):
    record = processor(target).process("User", [person("ada")], {})[0].escrow
    p = processor(target)

    [outcome] = p.process("User", [person("ada", exists=False)], {"id-ada": record})
    p.deprovision("User", [(outcome, record)])

    assert outcome.pending == "Delete" and outcome.escrow == FORGET and target.users() == []


def test_skip_out_of_scope_deletions_keeps_the_account(target):
    record = processor(target).process("User", [person("ada")], {})[0].escrow

    [outcome] = processor(target, skip_out_of_scope_deletions=True).process(
        "User", [person("ada", entitled=False)], {"id-ada": record}
    )

    assert outcome.pending is None and "Skip out of scope deletions" in outcome.steps[-1].description


def test_a_group_is_created_then_gets_its_provisioned_members(target):
    ada = processor(target).process("User", [person("ada")], {})[0].escrow.target_id
    group = SourceObject(
        "Group", "g-1", "Crew", {"displayName": "Crew"}, entitled=True, member_ids=["id-ada", "id-bob"]
    )

    [outcome] = processor(target, {"id-ada": ada}).process("Group", [group], {})

    assert outcome.action == "Create" and target.groups()[0]["members"] == [ada]
    assert outcome.escrow.members == [ada]
    assert any("1 member(s) skipped" in s.description for s in outcome.steps)  # bob is not provisioned


def test_a_manager_not_provisioned_yet_is_deferred(target):
    [outcome] = processor(target).process("User", [person("ada", attributes={"manager": "id-boss"})], {})

    assert outcome.deferred_reference and MANAGER not in target.users()[0]

    [again] = processor(target, {"id-boss": "user-99"}).process(
        "User", [person("ada", attributes={"manager": "id-boss"})], {"id-ada": outcome.escrow}
    )
    assert target.users()[0][MANAGER] == "user-99" and again.action == "Update"


def test_a_409_on_create_adopts_what_the_rematch_finds(target):
    target.seed("User", {"userName": "ADA@contoso.test"})
    target.fail_next("find_many", count=2, fault="miss")  # a search that does not return it

    [outcome] = processor(target).process("User", [person("ada")], {})

    assert outcome.status == "success" and len(target.users()) == 1  # 409, re-matched, adopted
    assert target.failed["create"] == 0 and target.calls["create"] == 1
    assert any("after the create attempt" in s.description for s in outcome.steps)


def test_a_409_whose_rematch_finds_nothing_says_what_was_searched(target):
    target.seed("User", {"userName": "ada@contoso.test"})
    target.fail_next("find_many", count=2, fault="miss")
    target.fail_next("find", count=2, fault="miss")

    [outcome] = processor(target).process("User", [person("ada")], {})

    assert outcome.status == "failure" and outcome.error.category is ErrorCategory.CONFLICT
    assert "userName eq 'ada@contoso.test'" in outcome.error.reason
    assert "nothing to adopt" in outcome.error.reason


def test_a_create_whose_answer_was_lost_is_matched_not_sent_again(target):
    target.fail_next("create", fault="lost")

    [outcome] = processor(target).process("User", [person("ada")], {})

    assert outcome.status == "success" and target.calls["create"] == 1 and len(target.users()) == 1
    assert outcome.action == "Other"  # linked: its values already match


def test_a_linked_object_gone_from_the_target_is_created_again(target):
    record = processor(target).process("User", [person("ada")], {})[0].escrow
    target.objects["User"].clear()

    [outcome] = processor(target).process(
        "User", [person("ada", attributes={"displayName": "Ada L."})], {"id-ada": record}
    )

    assert outcome.action == "Create" and outcome.status == "success" and len(target.users()) == 1
    assert any("gone from the target" in s.description for s in outcome.steps)


def test_a_refused_object_fails_alone(target):
    target.fail_next("create", status=400)

    outcomes = processor(target).process("User", [person("ada"), person("bob")], {})

    assert [o.status for o in outcomes] == ["failure", "success"]
    assert outcomes[0].error.category is ErrorCategory.REJECTED and outcomes[0].steps[-1].name == "Export"


def test_an_outage_trips_the_breaker_and_hands_back_what_was_not_done(target):
    target.fail_next("find_many", count=3, fault="down")
    page = [person(name) for name in ("ada", "bob", "cy", "dee", "eve")]

    with pytest.raises(StopCycle) as stop:
        processor(target, failure_threshold=3).process("User", page, {})

    assert target.calls["find_many"] == 3 and target.calls["create"] == 0  # nothing after the trip
    assert sorted(stop.value.resume) == sorted(o.id for o in page) and stop.value.outcomes == []
    assert stop.value.error.code == "ConnectionFailed"


def test_a_401_before_anything_worked_stops_at_once(target):
    target.set_outage("status", status=401)

    with pytest.raises(StopCycle) as stop:
        processor(target).process("User", [person("ada"), person("bob")], {})

    assert target.requests == 1 and stop.value.error.category is ErrorCategory.UNAUTHORIZED


def test_a_401_after_something_worked_fails_the_object_and_goes_on(target):
    target.fail_next("create", status=401)

    ada, bob, cy = processor(target).process("User", [person("ada"), person("bob"), person("cy")], {})

    assert ada.status == "failure" and ada.error.category is ErrorCategory.UNAUTHORIZED
    assert (bob.status, cy.status) == ("success", "success") and len(target.users()) == 2


def test_dry_run_sends_nothing_but_says_what_it_would_do(target):
    dry = PageProcessor(config(), target, lambda kind, ids: {}, dry_run=True)

    [outcome] = dry.process("User", [person("ada")], {})

    assert (outcome.action, outcome.status) == ("Create", "success") and target.writes == 0
    assert "Dry run" in outcome.steps[-1].description


def test_bulk_creates_go_in_one_request_per_batch():
    target = MemoryTarget(bulk=True)

    outcomes = processor(target).process("User", [person(f"u{i}") for i in range(60)], {})

    assert all(o.action == "Create" and o.status == "success" for o in outcomes)
    assert target.calls["bulk_create"] == 2 and target.calls["create"] == 0  # 50 + 10


def test_a_record_marked_deleted_is_no_link(target):
    record = EscrowRecord("user-1", {"userName": "ada@contoso.test"}, [], "deleted")

    [outcome] = processor(target).process("User", [person("ada")], {"id-ada": record})

    assert outcome.action == "Create"  # a record marked deleted is no link: matched and created again
