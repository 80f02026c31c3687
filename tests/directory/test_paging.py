"""Keyset (seek) pagination: complete, duplicate-free and stable, also with equal display names."""

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.directory.filters import PAGE_SIZE, USER_SEARCH_FIELDS, keyset_page, prefix_search
from portal.directory.models import DirectoryUser
from portal.paging import decode_cursor, encode_cursor

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(db):
    """130 users, most sharing one of three display names (different case included)."""
    names = ["Ana Ñúñez", "ana ñúñez", "Bo Berg", "Zoë Zimmer"]
    users = [
        DirectoryUser(display_name=names[i % len(names)], user_principal_name=f"u{i:03d}@contoso.example")
        for i in range(130)
    ]
    DirectoryUser.objects.bulk_create(users)
    return users


def _walk(client, params=None):
    pages, url = [], reverse("directory:user_list")
    response = client.get(url, params or {})
    while True:
        page = response.context["page"]
        pages.append([u.pk for u in page.items])
        if not page.next_url:
            return pages, page
        response = client.get(url + page.next_url, headers={"HX-Request": "true"})


def test_walking_forward_visits_every_user_once_in_order(signed_in_client, crowd):
    pages, _ = _walk(signed_in_client)
    seen = [pk for page in pages for pk in page]
    assert [len(p) for p in pages] == [50, 50, 30]
    assert len(seen) == len(set(seen)) == 130
    # The database's own order (its lower() may fold fewer letters than Python's), ties broken by id.
    assert seen == list(
        DirectoryUser.objects.order_by(Lower("display_name"), "pk").values_list("pk", flat=True)
    )


def test_walking_back_returns_the_same_pages(signed_in_client, crowd):
    forward, last = _walk(signed_in_client)
    url = reverse("directory:user_list")
    back, page = [], last
    while page.prev_url:
        page = signed_in_client.get(url + page.prev_url).context["page"]
        back.append([u.pk for u in page.items])
    assert back == forward[-2::-1]
    assert page.next_url and not page.prev_url  # back on the first page


def test_pager_keeps_the_filters(signed_in_client, crowd):
    page = signed_in_client.get(reverse("directory:user_list"), {"q": "ana", "enabled": "true"}).context[
        "page"
    ]
    assert "q=ana" in page.next_url and "enabled=true" in page.next_url
    pages, _ = _walk(signed_in_client, {"q": "ana"})
    assert sum(len(p) for p in pages) == 66  # 33 + 33: two spellings of the same name, case-insensitively


def test_a_bad_or_stale_cursor_falls_back_gracefully(signed_in_client, crowd):
    url = reverse("directory:user_list")
    for bad in ("garbage", "W10", "WyJhIiwgdHJ1ZV0", encode_cursor(["a", 1]) + "!!"):
        response = signed_in_client.get(url, {"after": bad})
        assert response.status_code == 200 and len(response.context["page"].items) == PAGE_SIZE
    past_end = signed_in_client.get(url, {"after": encode_cursor(["\uffff", 10**9])}).context["page"]
    assert past_end.items == [] and not past_end.next_url


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor(["zoë zimmer", 42]), ["string", "int"]) == ["zoë zimmer", 42]
    assert decode_cursor(None, ["string", "int"]) is None and decode_cursor("", ["string", "int"]) is None


def test_a_page_costs_two_queries_and_neither_counts_nor_offsets(crowd):
    first = keyset_page(DirectoryUser.objects.active())
    with CaptureQueriesContext(connection) as ctx:
        keyset_page(DirectoryUser.objects.active(), after=first.next_cursor)
    sql = " ".join(q["sql"].upper() for q in ctx.captured_queries)
    assert len(ctx.captured_queries) == 2  # the page, and EXISTS for a previous page
    assert "COUNT(" not in sql and "OFFSET" not in sql


def test_the_list_page_query_count_does_not_grow_with_rows(
    signed_in_client, crowd, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        signed_in_client.get(reverse("directory:user_list"))
    with django_assert_max_num_queries(8):
        signed_in_client.get(reverse("directory:group_list"))


@pytest.fixture
def found_on_every_field(db):
    """150 users, of whom 120 start with "mar" on one field each (name, UPN, mail, surname), in name ties."""
    shapes = [
        {"display_name": "Marta Berg"},
        {"display_name": "Anna Lind", "user_principal_name": "mar{i}@contoso.example"},
        {"display_name": "Bo Ek", "mail": "marble{i}@contoso.example"},
        {"display_name": "Åsa Nilsson", "surname": "Marklund"},
        {"display_name": "Ola Ng"},  # matches nothing
    ]
    users = []
    for i in range(150):
        fields = {"user_principal_name": f"u{i:03d}@contoso.example", **shapes[i % 5]}
        users.append(DirectoryUser(**{k: v.format(i=i) for k, v in fields.items()}))
    DirectoryUser.objects.bulk_create(users)


def test_a_search_pages_through_matches_on_every_field_in_name_order(signed_in_client, found_on_every_field):
    expected = list(
        prefix_search(DirectoryUser.objects.active(), USER_SEARCH_FIELDS, "mar")
        .order_by(Lower("display_name"), "pk")
        .values_list("pk", flat=True)
    )
    forward, last = _walk(signed_in_client, {"q": "MAR"})
    assert len(expected) == 120 and [pk for page in forward for pk in page] == expected
    assert [len(p) for p in forward] == [50, 50, 20]

    url = reverse("directory:user_list")
    back, page = [], last
    while page.prev_url:
        page = signed_in_client.get(url + page.prev_url).context["page"]
        back.append([u.pk for u in page.items])
    assert back == forward[-2::-1] and not page.prev_url


def test_a_search_page_has_no_way_back_once_the_earlier_matches_are_deleted(
    signed_in_client, found_on_every_field
):
    url = reverse("directory:user_list")
    first = signed_in_client.get(url, {"q": "mar"}).context["page"]
    earlier = [u.pk for u in first.items]
    DirectoryUser.objects.filter(pk__in=earlier).update(deleted_at=timezone.now())
    second = signed_in_client.get(url + first.next_url).context["page"]
    assert len(second.items) == 50 and not set(earlier) & {u.pk for u in second.items}
    assert second.prev_url is None and second.next_url
