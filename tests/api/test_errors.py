"""Graph-style errors everywhere: the right status, the field named, never HTML, never a 500."""

from __future__ import annotations

import pytest

from tests.fixtures.api_client import assert_graph_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/users?$top=0", "$top"),
        ("/users?$top=100000", "$top"),
        ("/users?$top=ten", "$top"),
        ("/users?$filter=displayName eq", "$filter"),
        ("/users?$filter=displayName eq 'a' or mail eq 'b'", "$filter"),
        ("/users?$filter=shoeSize eq 42", "$filter"),
        ("/users?$filter=accountEnabled eq 'maybe'", "$filter"),
        ("/users?$filter=contains(displayName, 'a')", "$filter"),
        ("/users?$filter=displayName eq 'a\x00'", "$filter"),
        ("/users?$select=id,shoeSize", "$select"),
        ("/users?$skiptoken=garbage", "$skiptoken"),
        ('/users?$search="shoeSize:42"', "$search"),
        ("/auditLogs/provisioning?$filter=activityDateTime ge 'yesterday'", "$filter"),
        ("/auditLogs/provisioning?$filter=cycleId eq 'not-a-guid'", "$filter"),
        ("/auditLogs/provisioning?$filter=provisioningAction eq 'explode'", "$filter"),
        ("/users/not-a-guid", "id"),
        ("/servicePrincipals/12345", "id"),
    ],
)
def test_bad_query_is_400_naming_the_parameter(api, path, target):
    error = assert_graph_error(api.get(path), 400, target)
    assert target in error["message"] or error.get("target") == target


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"displayName": "Ada"}, "userPrincipalName"),
        ({"userPrincipalName": "ada@contoso.com"}, "displayName"),
        ({"displayName": "Ada", "userPrincipalName": "not an upn"}, "userPrincipalName"),
        ({"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "mail": "nope"}, "mail"),
        (
            {"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "usageLocation": "USA"},
            "usageLocation",
        ),
        ({"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "shoeSize": 42}, "shoeSize"),
        (
            {"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "accountEnabled": "sometimes"},
            "accountEnabled",
        ),
        ({"displayName": "Ada\x00", "userPrincipalName": "ada@contoso.com"}, "displayName"),
        (
            {"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "businessPhones": ["call me"]},
            "businessPhones",
        ),
        (
            {
                "displayName": "Ada",
                "userPrincipalName": "ada@contoso.com",
                "onPremisesExtensionAttributes": {"extensionAttribute16": "x"},
            },
            "onPremisesExtensionAttributes.extensionAttribute16",
        ),
    ],
)
def test_bad_user_is_400_naming_the_field(api, body, target):
    assert_graph_error(api.post("/users", body), 400, target)


def test_body_that_is_not_json_is_400(api):
    error = assert_graph_error(api.post("/users", "{not json"), 400)
    assert "JSON" in error["message"]


def test_body_of_the_wrong_type_is_400(api):
    assert_graph_error(api.post("/users", [1, 2, 3]), 400)
    assert_graph_error(api.post("/groups", "42"), 400)


def test_unknown_path_is_a_graph_404_not_a_page(api):
    error = assert_graph_error(api.get("/mailFolders"), 404)
    assert "mailFolders" in error["message"]


def test_unknown_object_is_404(api):
    assert_graph_error(api.get("/users/00000000-0000-0000-0000-000000000001"), 404, "id")
    assert_graph_error(api.get("/servicePrincipals/00000000-0000-0000-0000-000000000001"), 404, "id")
    assert_graph_error(api.get("/applicationTemplates/no-such-app"), 404, "id")


def test_wrong_method_is_a_graph_405(api):
    response = api.put("/users", {})
    error = assert_graph_error(response, 405)
    assert error["code"] == "MethodNotAllowed" and "GET" in response["Allow"]


def test_trailing_slash_is_accepted_like_graph_samples(api):
    assert api.get("/users/").status_code == 200


def test_request_ids_are_returned_and_client_id_echoed(api):
    response = api.get("/nowhere", headers={"client-request-id": "my-script-42"})
    error = assert_graph_error(response, 404)
    assert response["client-request-id"] == "my-script-42" == error["innerError"]["client-request-id"]
    assert response["request-id"] == error["innerError"]["request-id"]
    assert api.get("/users")["request-id"]


def test_unexpected_errors_are_a_graph_500(api, monkeypatch):
    from portal.api import directory

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(directory, "user_body", boom)
    api.post("/users", {"displayName": "Ada", "userPrincipalName": "ada@contoso.com"})
    error = assert_graph_error(api.get("/users"), 500)
    assert error["code"] == "InternalServerError" and "kaboom" not in error["message"]


def test_docs_page_and_schema_work_offline(client):
    schema = client.get("/api/beta/openapi.json")
    assert (
        schema.status_code == 200
        and "/api/beta/servicePrincipals/{id}/synchronization/jobs" in schema.json()["paths"]
    )
    docs = client.get("/api/beta/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "validateCredentials" in html and '<script src="http' not in html and "cdn" not in html.lower()


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    error = assert_graph_error(api.post("/groups", {"displayName": "x" * 2000}), 413)
    assert error["code"] == "RequestEntityTooLarge"


def test_service_root_lists_the_entity_sets(api):
    body = api.get("/api/beta/").json()
    assert {"users", "servicePrincipals", "auditLogs/provisioning"} <= {
        item["name"] for item in body["value"]
    }


def test_docs_page_renders_its_markdown(client):
    html = client.get("/api/beta/docs").content.decode()
    description = html.split('data-testid="api-description">', 1)[1].split("</div>", 1)[0]
    assert (
        "<strong>API tokens</strong>" in description
        and "<code>Authorization: Bearer &lt;token&gt;</code>" in description
    )
    assert "**" not in description and "`" not in description
