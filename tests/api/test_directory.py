"""Users, groups, members and app role assignments through the API land in the directory and its feed."""

from __future__ import annotations

import uuid

import pytest

from portal.applications.models import AppRoleAssignment
from portal.directory.models import DirectoryChange, DirectoryGroup, DirectoryUser
from tests.fixtures.api_client import assert_graph_error

pytestmark = pytest.mark.django_db


def new_user(api, name: str, **extra) -> str:
    response = api.post(
        "/users", {"displayName": name.title(), "userPrincipalName": f"{name}@contoso.com", **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_user_lifecycle_goes_through_the_change_feed(api):
    user_id = new_user(api, "ada", givenName="Ada", businessPhones=["+1 555 0100"], accountEnabled=False)
    user = DirectoryUser.objects.get(object_id=user_id)
    assert (user.given_name, user.business_phones, user.account_enabled) == ("Ada", ["+1 555 0100"], False)
    assert api.patch(f"/users/{user_id}", {"jobTitle": "Analyst", "accountEnabled": True}).status_code == 204
    user.refresh_from_db()
    assert (user.job_title, user.given_name, user.account_enabled) == ("Analyst", "Ada", True)
    assert api.delete(f"/users/{user_id}").status_code == 204
    user.refresh_from_db()
    assert user.is_deleted
    assert_graph_error(api.get(f"/users/{user_id}"), 404)
    kinds = list(DirectoryChange.objects.filter(object_id=user_id).values_list("kind", flat=True))
    assert kinds == ["created", "updated", "deleted"]


def test_patch_keeps_what_it_does_not_mention(api):
    user_id = new_user(
        api, "grace", surname="Hopper", onPremisesExtensionAttributes={"extensionAttribute3": "E3"}
    )
    assert api.patch(f"/users/{user_id}", {"department": "Navy"}).status_code == 204
    body = api.get(f"/users/{user_id}").json()
    assert body["surname"] == "Hopper" and body["department"] == "Navy"
    assert body["onPremisesExtensionAttributes"]["extensionAttribute3"] == "E3"
    assert api.patch(f"/users/{user_id}", {"surname": None}).status_code == 204
    assert api.get(f"/users/{user_id}").json()["surname"] is None


def test_duplicate_upn_is_409(api):
    new_user(api, "ada")
    error = assert_graph_error(
        api.post("/users", {"displayName": "Other", "userPrincipalName": "ADA@contoso.com"}),
        409,
        "userPrincipalName",
    )
    assert "already exists" in error["message"]
    other = new_user(api, "bob")
    assert_graph_error(api.patch(f"/users/{other}", {"userPrincipalName": "ada@contoso.com"}), 409)


def test_user_by_upn_and_select(api):
    user_id = new_user(api, "linus", mail="linus@contoso.com")
    body = api.get("/users/linus@contoso.com?$select=id,mail").json()
    assert body == {
        "@odata.context": "http://testserver/api/beta/$metadata#users(id,mail)/$entity",
        "id": user_id,
        "mail": "linus@contoso.com",
    }


def test_list_filter_search_and_paging(api):
    for name in ("alice", "albert", "bob", "carol", "alfred"):
        new_user(api, name, department="Sales" if name != "bob" else "IT")
    listed = api.get(
        "/users?$filter=startswith(displayName, 'al') and department eq 'sales'&$select=displayName"
    )
    assert sorted(u["displayName"] for u in listed.json()["value"]) == ["Albert", "Alfred", "Alice"]
    assert api.get('/users?$search="displayName:car"').json()["value"][0]["displayName"] == "Carol"
    seen, url = [], "/users?$top=2&$select=userPrincipalName"
    while url:
        page = api.get(url).json()
        assert len(page["value"]) <= 2
        seen += [u["userPrincipalName"] for u in page["value"]]
        url = page.get("@odata.nextLink", "").replace("http://testserver", "")
    assert len(seen) == 5 == len(set(seen))
    assert api.get("/users?$filter=accountEnabled eq false").json()["value"] == []


def test_groups_and_members(api):
    ada, bob = new_user(api, "ada"), new_user(api, "bob")
    group = api.post("/groups", {"displayName": "Sales", "description": "All of sales"}).json()
    assert group["securityEnabled"] is True and group["mailEnabled"] is False
    inner = api.post("/groups", {"displayName": "Inner"}).json()["id"]
    ref = "/groups/{}/members/$ref".format(group["id"])
    for member in (ada, bob, inner):
        body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member}"}
        assert api.post(ref, body).status_code == 204
    twice = assert_graph_error(
        api.post(ref, {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{ada}"}), 400
    )
    assert twice["message"] == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )
    assert_graph_error(
        api.post(f"/groups/{inner}/members/$ref", {"@odata.id": group["id"]}), 400, "@odata.id"
    )  # a cycle
    assert_graph_error(
        api.post(ref, {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/nope"}), 400
    )
    members = api.get(f"/groups/{group['id']}/members").json()["value"]
    assert sorted((m["@odata.type"], m["displayName"]) for m in members) == [
        ("#microsoft.graph.group", "Inner"),
        ("#microsoft.graph.user", "Ada"),
        ("#microsoft.graph.user", "Bob"),
    ]
    assert api.delete(f"/groups/{group['id']}/members/{bob}/$ref").status_code == 204
    assert_graph_error(api.delete(f"/groups/{group['id']}/members/{bob}/$ref"), 404)
    changes = DirectoryChange.objects.filter(object_id=group["id"]).values_list("kind", flat=True)
    assert list(changes).count("member_added") == 3 and "member_removed" in changes
    assert api.patch(f"/groups/{group['id']}", {"description": "Renamed"}).status_code == 204
    assert DirectoryGroup.objects.get(object_id=group["id"]).description == "Renamed"
    assert_graph_error(
        api.patch(f"/groups/{group['id']}", {"securityEnabled": False}), 400, "securityEnabled"
    )
    assert api.delete(f"/groups/{group['id']}").status_code == 204
    assert_graph_error(api.get(f"/groups/{group['id']}"), 404)


def test_app_role_assignments(api):
    created = api.post("/applicationTemplates/taskize-connect/instantiate", {"displayName": "Taskize"}).json()
    sp = created["servicePrincipal"]
    roles = {r["displayName"]: r["id"] for r in sp["appRoles"]}
    assert roles["Default Access"] == "00000000-0000-0000-0000-000000000000"
    ada = new_user(api, "ada")
    group = api.post("/groups", {"displayName": "Sales"}).json()["id"]
    url = f"/servicePrincipals/{sp['id']}/appRoleAssignedTo"
    role = next(v for k, v in roles.items() if k != "Default Access")
    made = api.post(url, {"principalId": ada, "resourceId": sp["id"], "appRoleId": role})
    assert made.status_code == 201
    assignment = made.json()
    assert (assignment["principalType"], assignment["resourceId"], assignment["appRoleId"]) == (
        "User",
        sp["id"],
        role,
    )
    default = {"principalId": group, "resourceId": sp["id"], "appRoleId": roles["Default Access"]}
    assert api.post(url, default).status_code == 201
    assert_graph_error(api.post(url, default), 409, "principalId")
    assert_graph_error(api.post(url, {**default, "appRoleId": ada}), 400, "appRoleId")
    assert_graph_error(api.post(url, {**default, "resourceId": ada}), 400, "resourceId")
    assert_graph_error(api.post(url, {**default, "principalId": sp["id"]}), 404, "principalId")
    listed = api.get(f"{url}?$filter=principalType eq 'Group'").json()["value"]
    assert [a["principalId"] for a in listed] == [group]
    listed = api.get(f"{url}?$filter=appRoleId eq {roles['Default Access']}").json()["value"]
    assert [a["principalId"] for a in listed] == [group]
    assert len(api.get(f"{url}?$filter=principalId eq {ada}").json()["value"]) == 1
    assert api.delete(f"{url}/{assignment['id']}").status_code == 204
    assert not AppRoleAssignment.objects.filter(assignment_id=assignment["id"]).exists()
    assert_graph_error(api.delete(f"{url}/{assignment['id']}"), 404, "assignmentId")
    feed = DirectoryChange.objects.filter(object_id=ada).values_list("kind", flat=True)
    assert "assigned" in feed and "unassigned" in feed


def test_service_principals_list_get_delete(api):
    for name in ("Zoom one", "Slack one"):
        api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": name})
    listed = api.get("/servicePrincipals?$filter=startswith(displayName, 'zoom')").json()["value"]
    assert [sp["displayName"] for sp in listed] == ["Zoom one"]
    sp = listed[0]
    assert api.get(f"/servicePrincipals?$filter=appId eq {sp['appId']}").json()["value"][0]["id"] == sp["id"]
    assert api.get(f"/servicePrincipals/{sp['id']}?$select=appId").json() == {
        "@odata.context": "http://testserver/api/beta/$metadata#servicePrincipals(appId)/$entity",
        "appId": sp["appId"],
    }
    assert api.delete(f"/servicePrincipals/{sp['id']}").status_code == 204
    assert_graph_error(api.get(f"/servicePrincipals/{sp['id']}"), 404)


def test_templates_filter_and_search(api):
    everything = api.get("/applicationTemplates").json()["value"]
    assert len(everything) >= 5
    [zoom] = api.get("/applicationTemplates?$filter=displayName eq 'zoom'").json()["value"]
    assert uuid.UUID(zoom["id"]) and zoom["displayName"] == "Zoom"  # a GUID, as Graph's template ids
    assert [
        t["displayName"] for t in api.get('/applicationTemplates?$search="atlassian"').json()["value"]
    ] == ["Atlassian Cloud"]
    expected = {
        "@odata.context": "http://testserver/api/beta/$metadata#applicationTemplates(id,displayName)/$entity",
        "id": zoom["id"],
        "displayName": "Zoom",
    }
    assert api.get(f"/applicationTemplates/{zoom['id']}?$select=id,displayName").json() == expected
    assert (
        api.get("/applicationTemplates/zoom?$select=id,displayName").json() == expected
    )  # the old id still works
    assert_graph_error(
        api.post("/applicationTemplates/zoom/instantiate", {"displayName": "   "}), 400, "displayName"
    )
