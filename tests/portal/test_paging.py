"""Keyset paging is one helper (portal.paging): the audit log, the provisioning logs, the Graph API and
the directory lists all page through it and hand out its cursors."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from portal import paging
from portal.api.models import ApiToken
from portal.directory.models import DirectoryUser
from portal.models import AuditEntry
from provisioning.models import ProvisioningLog

pytestmark = pytest.mark.django_db


def test_walking_both_ways_through_ties_sees_every_row_once():
    at = timezone.now()
    AuditEntry.objects.bulk_create(
        AuditEntry(actor_name="x", activity="a", target_type="t", target_id=str(i), at=at) for i in range(25)
    )
    expected = list(AuditEntry.objects.order_by("-at", "-pk").values_list("pk", flat=True))
    pages = [paging.keyset_page(AuditEntry.objects.all(), "at", "datetime", size=10, descending=True)]
    while pages[-1].next_cursor:
        pages.append(
            paging.keyset_page(
                AuditEntry.objects.all(),
                "at",
                "datetime",
                size=10,
                descending=True,
                after=pages[-1].next_cursor,
            )
        )
    assert [e.pk for p in pages for e in p.items] == expected and len(pages) == 3
    back = paging.keyset_page(
        AuditEntry.objects.all(), "at", "datetime", size=10, descending=True, before=pages[-1].prev_cursor
    )
    assert [e.pk for e in back.items] == [e.pk for e in pages[1].items]


def is_paging_cursor(token: str, kinds: list[str]) -> bool:
    return paging.decode_cursor(token, kinds) is not None


def test_every_listing_hands_out_the_helpers_cursors(signed_in_client, admin_user):
    now = timezone.now()
    AuditEntry.objects.bulk_create(
        AuditEntry(actor_name="x", activity="a", target_type="t", target_id=str(i)) for i in range(51)
    )
    response = signed_in_client.get(reverse("audit_log"))
    after = parse_qs(response.context["next_query"])["after"][0]
    assert is_paging_cursor(after, ["datetime", "int"])

    DirectoryUser.objects.bulk_create(
        DirectoryUser(
            user_principal_name=f"p{i}@contoso.test", display_name=f"P {i:02}", mail_nickname=f"p{i}"
        )
        for i in range(51)
    )
    page = signed_in_client.get(reverse("directory:user_list")).context["page"]
    assert is_paging_cursor(page.next_cursor, ["string", "int"])

    from portal.applications.services import instantiate

    job = instantiate("taskize-connect", "Paged").provisioning
    ProvisioningLog.objects.bulk_create(
        ProvisioningLog(job=job, activity_at=now, cycle_id=uuid.uuid4(), action="Create", status="success")
        for _ in range(51)
    )
    logs = signed_in_client.get(reverse("provisioning:log_list")).context["page"]
    assert is_paging_cursor(logs.older_cursor, ["datetime", "int"])

    _, token = ApiToken.issue(admin_user, "paging", 1)
    body = signed_in_client.get(
        "/api/beta/auditLogs/provisioning?$top=1", headers={"Authorization": f"Bearer {token}"}
    ).json()
    skiptoken = parse_qs(urlsplit(body["@odata.nextLink"]).query)["$skiptoken"][0]
    assert is_paging_cursor(skiptoken, ["datetime", "int"])
