"""A failed call says what was sent and what came back, and names the failure for what it is."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from provisioning.connectors.scim import ErrorCategory, ScimTarget, TargetError
from provisioning.connectors.scim.paths import build_document
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.scim_server import ScimTenant

USERS = "/Users"


@pytest.fixture
def proxy(scim_server: ScimTenant) -> Iterator[FaultProxy]:
    with FaultProxy(scim_server.base_url) as running:
        yield running


@pytest.fixture
def via_proxy(make_target: Callable[..., ScimTarget], proxy: FaultProxy) -> ScimTarget:
    return make_target(base_url=proxy.base_url)


def test_a_refused_create_carries_the_request_and_the_answer_with_the_password_redacted(
    via_proxy: ScimTarget, proxy: FaultProxy
) -> None:
    proxy.fail_next(
        "error", method="POST", path=USERS, status=400, scim_type="invalidValue", detail="title is too long"
    )
    with pytest.raises(TargetError) as caught:
        via_proxy.create("User", {"userName": "bjensen", "title": "T" * 80, "password": "S3cret!pw"})
    error = caught.value
    assert error.request is not None
    assert (error.request["operation"], error.request["method"], error.request["path"]) == (
        "create User",
        "POST",
        USERS,
    )
    assert error.request["body"]["userName"] == "bjensen" and error.request["body"]["title"] == "T" * 80
    assert error.request["body"]["password"] == "[Redact]"
    assert "S3cret!pw" not in json.dumps(error.to_dict())
    assert error.response == {"status": 400, "scimType": "invalidValue", "detail": "title is too long"}


def test_a_501_names_the_operation_the_target_refused(
    via_proxy: ScimTarget, proxy: FaultProxy, scim_server: ScimTenant
) -> None:
    created = via_proxy.create("User", {"userName": "bjensen"})
    proxy.fail_next("error", method="PATCH", status=501, detail="PATCH is not supported")
    with pytest.raises(TargetError) as caught:
        via_proxy.update("User", created.id, {"displayName": "Barbara"})
    error = caught.value
    assert error.code == "NotImplemented"
    assert "“update User”" in error.recommended_action and "501" in error.recommended_action
    assert error.request["method"] == "PATCH" and error.request["path"] == f"{USERS}/{created.id}"
    assert error.request["body"]["Operations"][0]["value"] == {"displayName": "Barbara"}


def test_a_500_with_the_same_answer_every_time_is_not_called_transient(
    via_proxy: ScimTarget, proxy: FaultProxy
) -> None:
    proxy.fail_next("error", count=4, method="POST", path=USERS, detail="NullReferenceException in Save")
    with pytest.raises(TargetError) as caught:
        via_proxy.create("User", {"userName": "bjensen"})
    error = caught.value
    assert proxy.total("POST", USERS) == 4
    assert error.category is not ErrorCategory.TRANSIENT and not error.retryable
    assert "same answer 4 times" in error.reason
    assert "retried automatically" not in error.recommended_action
    assert "not a temporary outage" in error.recommended_action


def test_a_500_whose_answers_differ_stays_transient(via_proxy: ScimTarget, proxy: FaultProxy) -> None:
    for n in range(4):
        proxy.fail_next("error", method="POST", path=USERS, detail=f"backend {n} unavailable")
    with pytest.raises(TargetError) as caught:
        via_proxy.create("User", {"userName": "bjensen"})
    assert caught.value.category is ErrorCategory.TRANSIENT


def test_a_search_cut_off_at_the_page_cap_is_an_error_not_a_partial_result() -> None:
    """A target that ignores startIndex and announces more results than it ever returns."""
    pages = 0

    def endless(request: httpx2.Request) -> httpx2.Response:
        nonlocal pages
        pages += 1
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 100_000,
            "itemsPerPage": 1,
            "startIndex": 1,
            "Resources": [
                {
                    "id": f"id{pages}",
                    "userName": "bjensen",
                    "schemas": [build_document("User", {})["schemas"][0]],
                }
            ],
        }
        return httpx2.Response(200, json=body, headers={"Content-Type": "application/scim+json"})

    with (
        ScimTarget(
            "https://app.example.test/scim/v2", token="t", transport=httpx2.MockTransport(endless)
        ) as target,
        pytest.raises(TargetError) as caught,
    ):
        target.find("User", "userName", "bjensen")
    assert pages == 100
    assert caught.value.code == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert "100 pages" in caught.value.reason and "100000" in caught.value.reason


def test_only_one_entry_of_a_multi_valued_attribute_is_primary(
    target: ScimTarget, scim_server: ScimTenant
) -> None:
    document = build_document(
        "User",
        {
            "userName": "bjensen",
            'phoneNumbers[type eq "work"].value': "+1 555 0100",
            'phoneNumbers[type eq "work"].primary': True,
            'phoneNumbers[type eq "mobile"].value': "+1 555 0101",
            'phoneNumbers[type eq "mobile"].primary': True,
        },
    )
    assert [p.get("primary") for p in document["phoneNumbers"]] == [True, None]

    # A user created without phones gets two at once: each PATCH "add" must not claim primary.
    created = target.create("User", {"userName": "bjensen"})
    target.update(
        "User",
        created.id,
        {
            'phoneNumbers[type eq "work"].value': "+1 555 0100",
            'phoneNumbers[type eq "mobile"].value': "+1 555 0101",
        },
    )
    stored: dict[str, Any] = next(u for u in scim_server.users() if u["id"] == created.id)
    phones = stored["phoneNumbers"]
    assert {p["type"] for p in phones} == {"work", "mobile"}
    assert sum(1 for p in phones if p.get("primary")) == 1


def test_failed_exports_never_log_redacted_values_or_passwords(
    make_target: Callable[..., ScimTarget], proxy: FaultProxy
) -> None:
    from provisioning.engine.config import EngineConfig, ObjectMappingConfig
    from provisioning.engine.processor import PageProcessor
    from provisioning.engine.source import SourceObject

    extension = "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badgeCode"
    users = ObjectMappingConfig.from_dict(
        {
            "key": "users",
            "source_object": "User",
            "attribute_mappings": [
                {
                    "target": "userName",
                    "type": "Direct",
                    "source": "userPrincipalName",
                    "matchingPrecedence": 1,
                },
                {"target": extension, "type": "Expression", "expression": "Redact([employeeId])"},
                {"target": "password", "type": "Constant", "constant": "Initial-Pa55!"},
            ],
        }
    )
    processor = PageProcessor(
        EngineConfig(users=users, groups=None, concurrency=1),
        make_target(base_url=proxy.base_url, use_bulk=False),
        lambda kind, ids: {},
    )
    ada = SourceObject(
        "User",
        "u1",
        "Ada",
        attributes={"userPrincipalName": "ada@contoso.test", "employeeId": "BADGE-7731"},
        entitled=True,
    )
    proxy.fail_next("error", method="POST", path=USERS, status=400, detail="refused")
    [outcome] = processor.process("User", [ada], {})

    assert outcome.status == "failure"
    logged = json.dumps({"modified": outcome.modified, "steps": [s.to_dict() for s in outcome.steps]})
    assert "BADGE-7731" not in logged and "Initial-Pa55!" not in logged
    modified = {p["name"]: p["new"] for p in outcome.modified}
    assert modified == {"userName": "ada@contoso.test", extension: "[Redact]", "password": "[Redact]"}
    export = next(s for s in outcome.steps if s.status == "failure")
    body = export.details["request"]["body"]
    assert body["userName"] == "ada@contoso.test" and body["password"] == "[Redact]"
    assert body["urn:ietf:params:scim:schemas:extension:acme:2.0:User"]["badgeCode"] == "[Redact]"
    assert export.details["response"] == {"status": 400, "scimType": None, "detail": "refused"}
