"""CSV import: preview with every row-level error before writing, then an all-or-nothing import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.directory import csv_import, services
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    DirectoryImport,
    DirectoryUser,
    GroupMembership,
    ImportStatus,
)
from tests.fixtures.csv_upload import import_of, upload_csv

pytestmark = pytest.mark.django_db

GOOD = """userPrincipalName,displayName,givenName,surname,mail,department,jobTitle,accountEnabled,manager,businessPhones,usageLocation,extensionAttribute1
boss@contoso.example,Søren Kjær,Søren,Kjær,boss@contoso.example,Sales,Head of Sales,true,,+45 1111;+45 2222,dk,CC-1
emp@contoso.example,Zoë Lefèvre,Zoë,Lefèvre,,Sales,Account Executive,FALSE,boss@contoso.example,,fr,
existing@contoso.example,José García (updated),,,,Sales,,,boss@contoso.example,,,
"""


def test_preview_then_confirm_creates_and_updates(signed_in_client, make_user):
    existing = make_user("José García", user_principal_name="Existing@contoso.example", department="Legal")
    response = upload_csv(signed_in_client, GOOD)
    imp = import_of(response)
    assert imp.status == ImportStatus.READY
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "<strong>2</strong> users to create, <strong>1</strong> to update, 0 unchanged." in page
    assert "boss@contoso.example" in page and "Zoë Lefèvre" in page
    # what changes for the existing user, old → new
    assert "<strong>displayName</strong>: José García → José García (updated)" in page
    assert "<strong>department</strong>: Legal → Sales" in page
    assert '<strong>manager</strong>: <span class="muted">(empty)</span> → boss@contoso.example' in page
    assert DirectoryUser.objects.count() == 1  # nothing written before the confirm

    since = DirectoryChange.objects.order_by("-seq").first().seq
    response = signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "Created 2 and updated 1 users (0 unchanged)." in page

    boss = DirectoryUser.objects.get(user_principal_name="boss@contoso.example")
    emp = DirectoryUser.objects.get(user_principal_name="emp@contoso.example")
    existing.refresh_from_db()
    assert boss.business_phones == ["+45 1111", "+45 2222"] and boss.usage_location == "DK"
    assert boss.extension_attributes == {"extensionAttribute1": "CC-1"}
    assert emp.manager == boss and emp.account_enabled is False
    assert existing.manager == boss and existing.display_name == "José García (updated)"
    assert existing.department == "Sales" and existing.user_principal_name == "existing@contoso.example"
    changes = {(c.object_id, c.kind) for c in DirectoryChange.objects.filter(seq__gt=since)}
    assert changes == {
        (boss.object_id, ChangeKind.CREATED),
        (emp.object_id, ChangeKind.CREATED),
        (existing.object_id, ChangeKind.UPDATED),
    }
    again = signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]), follow=True)
    assert "not ready to run" in again.content.decode()  # a second confirm does nothing


def test_manager_may_be_an_existing_user_the_same_file_updates(signed_in_client, make_user):
    boss = make_user("Boss", user_principal_name="boss@contoso.example")
    worker = make_user("Worker", user_principal_name="worker@contoso.example")
    text = (
        "userPrincipalName,displayName,manager\n"
        "boss@contoso.example,Boss (renamed),\n"
        "worker@contoso.example,Worker,boss@contoso.example\n"
        "fresh@contoso.example,Fresh,boss@contoso.example\n"
    )
    imp = import_of(upload_csv(signed_in_client, text))
    assert imp.status == ImportStatus.READY, imp.errors
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    worker.refresh_from_db()
    assert worker.manager == boss
    assert DirectoryUser.objects.get(user_principal_name="fresh@contoso.example").manager == boss


BAD = """userPrincipalName,displayName,mail,accountEnabled,manager,usageLocation,employeeId,businessPhones
ok@contoso.example,Fine Row,,true,,,,
no-at-sign,Bad UPN,,true,,,,
dup@contoso.example,First,,true,,,,
DUP@contoso.example,Second,,true,,,,
mail@contoso.example,Bad Mail,not-mail,true,,,,
flag@contoso.example,Bad Flag,,maybe,,,,
loc@contoso.example,Bad Location,,true,,USA,,
boss@contoso.example,Missing Boss,,true,ghost@contoso.example,,,
long@contoso.example,Long Id,,true,,,12345678901234567,
phone@contoso.example,Bad Phone,,true,,,,+1 555;call me
short@contoso.example,Too Few
nameless@contoso.example,,,true,,,,
"""


def test_bad_rows_are_all_listed_with_row_and_column_and_nothing_is_written(signed_in_client):
    response = upload_csv(signed_in_client, BAD)
    imp = import_of(response)
    assert imp.status == ImportStatus.INVALID
    errors = {(row, column) for row, column, _ in imp.errors}
    assert errors == {
        (3, "userPrincipalName"),
        (5, "userPrincipalName"),
        (6, "mail"),
        (7, "accountEnabled"),
        (8, "usageLocation"),
        (9, "manager"),
        (10, "employeeId"),
        (11, "businessPhones"),
        (12, ""),
        (13, "displayName"),
    }
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "10 problems found. Nothing has been written" in page
    for text in (
        "DUP@contoso.example is also on row 4.",
        "Enter a valid email address.",
        "Use true or false.",
        "two-letter country code",
        "No user ghost@contoso.example in the directory or in this file.",
        "At most 16 characters (this has 17).",
        "Not a phone number: call me",
        "This row has 2 fields; the header has 8.",
        "A new user needs a display name.",
    ):
        assert text in page, text
    assert ">Import</button>" not in page  # no way to confirm
    refused = signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]), follow=True)
    assert "not ready to run" in refused.content.decode()
    assert not DirectoryUser.objects.exists()

    download = signed_in_client.get(reverse("directory:import_errors_csv", args=[imp.pk]))
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().splitlines()[0] == "row,column,error"


def test_header_problems_are_reported_on_row_one(signed_in_client):
    imp = import_of(upload_csv(signed_in_client, "displayName,favouriteColour,displayname\nA,b,c\n"))
    assert sorted(imp.errors) == [
        [1, "displayName", "This column appears twice."],
        [1, "favouriteColour", "Unknown column. Use Entra attribute names such as displayName."],
        [1, "userPrincipalName", "The file needs a userPrincipalName column."],
    ]


def test_manager_cycles_are_caught_in_the_file_and_against_the_directory(signed_in_client, make_user):
    top = make_user("Top", user_principal_name="top@contoso.example")
    make_user("Mid", user_principal_name="mid@contoso.example", manager=top)
    text = (
        "userPrincipalName,displayName,manager\n"
        "a@contoso.example,A,b@contoso.example\n"
        "b@contoso.example,B,a@contoso.example\n"
        "top@contoso.example,Top,mid@contoso.example\n"
        "self@contoso.example,Self,self@contoso.example\n"
    )
    imp = import_of(upload_csv(signed_in_client, text))
    messages = {(row, column): message for row, column, message in imp.errors}
    assert set(messages) == {(2, "manager"), (3, "manager"), (4, "manager"), (5, "manager")}
    assert "Reporting lines would loop" in messages[(2, "manager")]
    assert "top@contoso.example → mid@contoso.example → top@contoso.example" in messages[(4, "manager")]
    assert messages[(5, "manager")] == "A user cannot be their own manager."


def test_rows_for_deleted_users_and_deleted_managers_are_refused(signed_in_client, make_user):
    gone = make_user("Gone", user_principal_name="gone@contoso.example")
    services.soft_delete(gone)
    text = "userPrincipalName,displayName,manager\ngone@contoso.example,Gone,\nnew@contoso.example,New,gone@contoso.example\n"
    imp = import_of(upload_csv(signed_in_client, text))
    assert [e[:2] for e in imp.errors] == [[2, "userPrincipalName"], [3, "manager"]]
    assert all("recycle bin" in e[2] for e in imp.errors)


def test_unchanged_rows_change_nothing(signed_in_client, make_user):
    make_user("Same", user_principal_name="same@contoso.example", department="IT")
    imp = import_of(
        upload_csv(
            signed_in_client, "userPrincipalName,displayName,department\nsame@contoso.example,Same,IT\n"
        )
    )
    assert imp.summary["unchanged"] == 1 and imp.summary["to_update"] == 0
    page = signed_in_client.get(reverse("directory:import_detail", args=[imp.pk])).content.decode()
    assert "Nothing to change" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("userPrincipalName\n".encode("utf-16"), "not UTF-8"),
        (b"", "The submitted file is empty."),
        (b"\n\n", "The file is empty."),
    ],
)
def test_unreadable_files_get_a_message_on_the_file_field(signed_in_client, content, message):
    response = signed_in_client.post(
        reverse("directory:user_import"), {"file": SimpleUploadedFile("x.csv", content, "text/csv")}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DirectoryImport.objects.exists()


def test_excel_bom_and_blank_lines_are_fine(signed_in_client):
    text = "\ufeffuserPrincipalName,displayName\n\nbom@contoso.example,BOM User\n\n"
    imp = import_of(upload_csv(signed_in_client, text))
    assert imp.status == ImportStatus.READY and imp.summary["to_create"] == 1


def test_import_writes_nothing_when_it_fails_halfway(signed_in_client, monkeypatch):
    imp = import_of(upload_csv(signed_in_client, GOOD.replace("existing@", "another@")))

    def explode(changes):
        list(changes)
        raise RuntimeError("disk full")

    monkeypatch.setattr(csv_import, "record_changes", explode)  # after the users are inserted
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.FAILED and "nothing was written" in imp.message
    assert not DirectoryUser.objects.exists()
    assert not DirectoryChange.objects.filter(kind=ChangeKind.CREATED).exists()


def test_confirm_rechecks_against_the_directory_as_it_is_now(signed_in_client, make_user):
    boss = make_user("Boss", user_principal_name="boss2@contoso.example")
    imp = import_of(
        upload_csv(
            signed_in_client,
            "userPrincipalName,displayName,manager\nn@contoso.example,N,boss2@contoso.example\n",
        )
    )
    assert imp.status == ImportStatus.READY
    services.soft_delete(boss)  # meanwhile, someone deletes the manager
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.INVALID and "changed since the preview" in imp.message
    assert not DirectoryUser.objects.filter(user_principal_name="n@contoso.example").exists()


def test_large_files_run_in_the_background_with_polled_progress(
    signed_in_client, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.DIRECTORY_IMPORT_ASYNC_ROWS = 5
    rows = "".join(f"bulk{i}@contoso.example,Bulk {i}\n" for i in range(12))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload_csv(signed_in_client, "userPrincipalName,displayName\n" + rows)
    assert len(callbacks) == 1  # the preview was handed to a worker
    imp = import_of(response)
    assert imp.status == ImportStatus.READY and imp.total_rows == imp.processed_rows == 12

    poll = signed_in_client.get(response["Location"], headers={"HX-Request": "true"})
    assert poll.status_code == 286  # finished: htmx stops polling
    assert "12</strong> users to create" in poll.content.decode()

    DirectoryImport.objects.filter(pk=imp.pk).update(status=ImportStatus.VALIDATING, processed_rows=6)
    running = signed_in_client.get(response["Location"], headers={"HX-Request": "true"})
    html = running.content.decode()
    assert running.status_code == 200 and 'hx-trigger="every 1s"' in html
    assert "6 of 12 rows (50%)" in html and 'aria-valuenow="50"' in html
    DirectoryImport.objects.filter(pk=imp.pk).update(status=ImportStatus.READY)

    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert DirectoryUser.objects.filter(user_principal_name__startswith="bulk").count() == 12


def test_progress_is_reported_per_chunk(monkeypatch, db):
    monkeypatch.setattr(csv_import, "CHUNK", 4)
    seen: list[int] = []
    text = "userPrincipalName,displayName\n" + "".join(f"p{i}@contoso.example,P {i}\n" for i in range(10))
    plan = csv_import.plan_user_import(text, seen.append)
    assert seen == [4, 8, 10] and plan.to_create == 10


# --- group memberships ----------------------------------------------------------------------------------


def test_membership_import_adds_members_and_reports_bad_rows(signed_in_client, make_user, make_group):
    alpha, beta = make_group("Team Alpha"), make_group("Team Beta")
    make_group("Twin"), make_group("Twin")
    gone_group = make_group("Old Team")
    services.soft_delete(gone_group)
    ann, bob = (
        make_user(user_principal_name="ann@contoso.example"),
        make_user(user_principal_name="bob@contoso.example"),
    )
    gone_user = make_user(user_principal_name="gone@contoso.example")
    services.soft_delete(gone_user)
    services.add_member(alpha, ann)

    good = "groupDisplayName,memberUserPrincipalName\nteam alpha,ANN@contoso.example\nTeam Alpha,bob@contoso.example\nTeam Beta,ann@contoso.example\nTeam Beta,ann@contoso.example\n"
    response = upload_csv(signed_in_client, good, kind="memberships")
    imp = import_of(response)
    assert imp.status == ImportStatus.READY
    assert (
        "<strong>2</strong> memberships to add, 2 already there."
        in signed_in_client.get(response["Location"]).content.decode()
    )
    since = DirectoryChange.objects.order_by("-seq").first().seq
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    assert set(GroupMembership.objects.values_list("group__display_name", "user__user_principal_name")) == {
        ("Team Alpha", "ann@contoso.example"),
        ("Team Alpha", "bob@contoso.example"),
        ("Team Beta", "ann@contoso.example"),
    }
    added = DirectoryChange.objects.filter(seq__gt=since)
    assert {(c.object_id, c.kind, c.related_id) for c in added} == {
        (alpha.object_id, ChangeKind.MEMBER_ADDED, bob.object_id),
        (beta.object_id, ChangeKind.MEMBER_ADDED, ann.object_id),
    }

    bad = "groupDisplayName,memberUserPrincipalName\nNo Such,ann@contoso.example\nTwin,ann@contoso.example\nOld Team,ann@contoso.example\nTeam Beta,nobody@contoso.example\nTeam Beta,gone@contoso.example\n,ann@contoso.example\n"
    imp = import_of(upload_csv(signed_in_client, bad, kind="memberships"))
    assert imp.status == ImportStatus.INVALID
    assert [e[:2] for e in imp.errors] == [
        [2, "groupDisplayName"],
        [3, "groupDisplayName"],
        [4, "groupDisplayName"],
        [5, "memberUserPrincipalName"],
        [6, "memberUserPrincipalName"],
        [7, "groupDisplayName"],
    ]
    assert "2 groups are named Twin" in imp.errors[1][2] and "recycle bin" in imp.errors[2][2]


def test_membership_import_needs_its_columns(signed_in_client):
    imp = import_of(upload_csv(signed_in_client, "group,user\nA,b\n", kind="memberships"))
    assert {(e[0], e[1]) for e in imp.errors} >= {(1, "groupDisplayName"), (1, "memberUserPrincipalName")}


def test_upload_pages_and_templates(signed_in_client):
    html = signed_in_client.get(reverse("directory:user_import")).content.decode()
    assert "extensionAttribute15" in html and "Upload and preview" in html
    template = signed_in_client.get(reverse("directory:user_import_template"))
    assert template.content.decode().startswith("userPrincipalName,displayName,")
    member_template = signed_in_client.get(reverse("directory:membership_import_template")).content.decode()
    assert member_template.strip() == "groupDisplayName,memberUserPrincipalName"


def test_empty_cells_leave_data_alone_and_the_marker_clears_it(signed_in_client, make_user):
    boss = make_user("Boss", user_principal_name="boss@contoso.example")
    kept = make_user(
        "Kept Person",
        user_principal_name="kept@contoso.example",
        department="Legal",
        job_title="Counsel",
        manager=boss,
    )
    cleared = make_user(
        "Cleared Person", user_principal_name="cleared@contoso.example", department="Legal", manager=boss
    )
    # A mixed file: an update row with empty cells (no displayName), another clearing, and a new user.
    text = (
        "userPrincipalName,displayName,department,jobTitle,manager\n"
        "kept@contoso.example,,,Senior Counsel,\n"
        "cleared@contoso.example,,<clear>,,<CLEAR>\n"
        "new@contoso.example,New Person,Sales,,boss@contoso.example\n"
    )
    response = upload_csv(signed_in_client, text)
    imp = import_of(response)
    assert imp.status == ImportStatus.READY, imp.errors  # update rows need no displayName
    page = signed_in_client.get(response["Location"]).content.decode()
    preview = page.split('data-testid="update-preview"', 1)[1].split("</table>", 1)[0]
    assert "<strong>jobTitle</strong>: Counsel → Senior Counsel" in preview
    assert '<strong>department</strong>: Legal → <span class="muted">(cleared)</span>' in preview
    assert '<strong>manager</strong>: boss@contoso.example → <span class="muted">(cleared)</span>' in preview
    assert "kept@contoso.example" in preview and "<strong>department</strong>: Legal → Sales" not in preview
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    kept.refresh_from_db()
    cleared.refresh_from_db()
    assert (kept.display_name, kept.department, kept.job_title, kept.manager_id) == (
        "Kept Person",
        "Legal",
        "Senior Counsel",
        boss.pk,
    )
    assert (cleared.display_name, cleared.department, cleared.manager_id) == ("Cleared Person", "", None)
    assert DirectoryUser.objects.get(user_principal_name="new@contoso.example").department == "Sales"


def test_the_clear_marker_is_documented_and_refused_where_it_cannot_apply(signed_in_client, make_user):
    make_user("Someone", user_principal_name="someone@contoso.example")
    upload_page = signed_in_client.get(reverse("directory:user_import")).content.decode()
    assert 'data-testid="clear-marker">&lt;clear&gt;</code>' in upload_page
    imp = import_of(
        upload_csv(signed_in_client, "userPrincipalName,displayName\nsomeone@contoso.example,<clear>\n")
    )
    assert imp.status == ImportStatus.INVALID
    assert imp.errors == [[2, "displayName", "displayName cannot be cleared."]]


def test_managers_anywhere_in_a_long_file_are_linked(signed_in_client, make_user, monkeypatch):
    """The write pass reads the file a chunk at a time: managers may sit in an earlier chunk, the same
    one, or a later one, for new users and for updated ones."""
    monkeypatch.setattr(csv_import, "CHUNK", 2)
    old = make_user("Old Timer", user_principal_name="old@contoso.example")
    text = (
        "userPrincipalName,displayName,manager\n"
        "a@contoso.example,A,\n"
        "b@contoso.example,B,a@contoso.example\n"  # same chunk
        "c@contoso.example,C,a@contoso.example\n"  # earlier chunk
        "old@contoso.example,Old Timer,e@contoso.example\n"  # an update, manager further down
        "d@contoso.example,D,e@contoso.example\n"  # later chunk
        "e@contoso.example,E,c@contoso.example\n"
    )
    imp = import_of(upload_csv(signed_in_client, text))
    assert imp.status == ImportStatus.READY, imp.errors
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE and imp.summary["result"]["created"] == 5
    managers = dict(DirectoryUser.objects.values_list("user_principal_name", "manager__user_principal_name"))
    assert managers == {
        "a@contoso.example": None,
        "b@contoso.example": "a@contoso.example",
        "c@contoso.example": "a@contoso.example",
        "d@contoso.example": "e@contoso.example",
        "e@contoso.example": "c@contoso.example",
        "old@contoso.example": "e@contoso.example",
    }
    assert old.pk == DirectoryUser.objects.get(user_principal_name="old@contoso.example").pk
