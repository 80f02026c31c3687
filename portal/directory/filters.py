"""List filtering for directory pages: index-backed prefix search and keyset (seek) pagination.

Both exist so that the users list stays fast at 100,000 users: a search term becomes a range scan on a
``lower(...)`` index, and a page is "the next 50 rows after (name, id)" on ``directory_user_name_idx``
instead of ``OFFSET`` plus a ``COUNT(*)`` over the whole table.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from portal import paging
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership

PAGE_SIZE = 50
SORT_ALIAS = "_sort_name"
USER_SEARCH_FIELDS = ("display_name", "user_principal_name", "mail", "surname")
GROUP_SEARCH_FIELDS = ("display_name",)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def prefix_search(queryset: QuerySet, fields: Sequence[str], term: str) -> QuerySet:
    """Rows where any of ``fields`` starts with ``term``, case-insensitively, through an index.

    PostgreSQL: ``lower(f) LIKE 'term%'`` on a ``text_pattern_ops`` index (migration 0002).
    SQLite: its LIKE cannot use an expression index, but a range ``lower(f) >= t AND lower(f) < t'``
    can. SQLite's ``lower()`` only folds ASCII, so the term is tried as typed-lowercase and capitalised
    ("łuk" also finds "Łukasz").
    """
    term = term.strip()
    if not term:
        return queryset
    aliases = {f"_lower_{field}": Lower(field) for field in fields}
    queryset = queryset.alias(**aliases)
    condition = Q()
    if connection.vendor == "postgresql":
        for alias in aliases:
            condition |= Q(**{f"{alias}__startswith": term.lower()})
    else:
        variants = {v.translate(_ASCII_LOWER) for v in (term.lower(), term[:1].upper() + term[1:].lower())}
        for alias in aliases:
            for variant in variants:
                bound = Q(**{f"{alias}__gte": variant})
                upper = _successor(variant)
                if upper is not None:
                    bound &= Q(**{f"{alias}__lt": upper})
                condition |= bound
    return queryset.filter(condition)


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (binary order)."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    nxt = last + 1
    if 0xD800 <= nxt <= 0xDFFF:  # skip the surrogate block, which is not valid in UTF-8
        nxt = 0xE000
    return prefix[:-1] + chr(nxt)


# --- keyset pagination ---------------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of rows in (lower(display_name), id) order and the cursors to its neighbours."""

    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None

    next_url: str | None = None
    prev_url: str | None = None
    first_url: str | None = None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)

    def link(self, params: QueryDict) -> "KeysetPage":
        """Fill in the pager's links: the current query string with only the cursor changed."""
        base = params.copy()
        for key in ("after", "before"):
            base.pop(key, None)
        self.first_url = f"?{base.urlencode()}"
        if self.next_cursor:
            self.next_url = f"?{_with(base, after=self.next_cursor)}"
        if self.prev_cursor:
            self.prev_url = f"?{_with(base, before=self.prev_cursor)}"
        return self


def _with(params: QueryDict, **extra: str) -> str:
    query = params.copy()
    query.update(extra)
    return query.urlencode()


def keyset_page(
    queryset: QuerySet,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """The page after cursor ``after`` (or before ``before``) of ``queryset`` ordered by name, id.

    Costs one query for the page plus, away from the first page, one ``EXISTS`` for the other side.
    """
    page = paging.keyset_page(
        queryset.annotate(**{SORT_ALIAS: Lower("display_name")}),
        SORT_ALIAS,
        "string",
        after=after,
        before=before,
        size=size,
    )
    return KeysetPage(items=page.items, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


_KINDS = ["string", "int"]


def search_page(
    queryset: QuerySet,
    fields: Sequence[str],
    term: str,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """A keyset page, in name order, of the rows of ``queryset`` where one of ``fields`` starts with ``term``.

    Same rows, order and cursors as ``keyset_page`` over ``prefix_search``; what differs is how the
    database finds them (see ``_Matches``).
    """
    after_key, before_key = paging.decode_cursor(after, _KINDS), paging.decode_cursor(before, _KINDS)
    matches = _Matches(queryset, fields, term)
    if before_key and not after_key:
        rows = matches.next(before_key, size + 1, descending=True)
        items = rows[:size][::-1]
        if not items:  # a stale cursor before the first match: start over
            return search_page(queryset, fields, term, size=size)
        has_prev = len(rows) > size
        has_next = matches.holds(before_key) or bool(matches.next(_key(items[-1]), 1, descending=False))
    else:
        rows = matches.next(after_key, size + 1, descending=False)
        items = rows[:size]
        if after_key and not items:
            return KeysetPage(items=[], next_cursor=None, prev_cursor=after)
        has_next = len(rows) > size
        has_prev = bool(after_key) and (
            matches.holds(after_key) or bool(matches.next(_key(items[0]), 1, descending=True))
        )
    return KeysetPage(
        items=items,
        next_cursor=paging.encode_cursor(_key(items[-1])) if has_next else None,
        prev_cursor=paging.encode_cursor(_key(items[0])) if has_prev else None,
    )


def _key(row: Any) -> list[Any]:
    return [getattr(row, SORT_ALIAS), row.pk]


class _Matches:
    """The matches of a search after a key, in name order.

    Matches on a prefix cannot be read in name order from any index, so they are found through the search
    indexes and sorted; '' appended to the sort key keeps the planner from walking the name index instead
    (it reads the whole table for a rare term). On PostgreSQL each field is its own branch of a UNION,
    served by an index-only scan of that field's covering search index (``directory/0004``): a common
    prefix ("mar" is 29,000 of a million users) is then sorted from the index alone, without reading a
    table row per match; only the page's rows are read afterwards. A single query with an OR of the
    fields needs a bitmap heap scan, which reads every match's row.
    """

    def __init__(self, queryset: QuerySet, fields: Sequence[str], term: str) -> None:
        self.queryset, self.fields, self.term = queryset, fields, term

    def holds(self, key: list[Any]) -> bool:
        """Whether the cursor's own row is still a match with that name: then the page has a neighbour
        on that side, found by the row's primary key instead of another search."""
        row = self.queryset.filter(pk=key[1]).annotate(**{SORT_ALIAS: Lower("display_name")})
        return prefix_search(row.filter(**{SORT_ALIAS: key[0]}), self.fields, self.term).exists()

    def next(self, key: list[Any] | None, count: int, *, descending: bool) -> list[Any]:
        order = [f"-{SORT_ALIAS}", "-pk"] if descending else [SORT_ALIAS, "pk"]

        def branch(fields: Sequence[str]) -> QuerySet:
            found = prefix_search(self.queryset, fields, self.term).annotate(
                **{SORT_ALIAS: Concat(Lower("display_name"), Value(""))}
            )
            if key is not None:
                found = found.filter(paging.beyond(SORT_ALIAS, key, descending=descending))
            return found.order_by(*order)

        if connection.vendor != "postgresql" or len(self.fields) == 1:
            return list(branch(self.fields)[:count])
        first, *rest = (branch([field]).values_list("pk", SORT_ALIAS)[:count] for field in self.fields)
        keys = list(first.union(*rest).order_by(*order)[:count])
        rows = self.queryset.annotate(**{SORT_ALIAS: Lower("display_name")}).in_bulk([pk for pk, _ in keys])
        return [rows[pk] for pk, _ in keys if pk in rows]  # a row deleted meanwhile is left out


# --- the list filters -----------------------------------------------------------------------------------

DELETED_CHOICES = [("", _("Active")), ("only", _("Deleted")), ("all", _("All"))]
ENABLED_CHOICES = [("", _("Any")), ("true", _("Enabled")), ("false", _("Disabled"))]


def department_choices() -> list[tuple[str, str]]:
    """Distinct departments for the filter, by a loose index scan: one index probe per department.

    ``SELECT DISTINCT`` would read all 100,000 rows on every list page; this walks the department index
    from one value to the next (a recursive CTE, which PostgreSQL and SQLite both run this way).
    """
    table = connection.ops.quote_name(DirectoryUser._meta.db_table)
    sql = f"""
        WITH RECURSIVE departments(name) AS (
            SELECT MIN(department) FROM {table} WHERE department > ''
            UNION ALL
            SELECT (SELECT MIN(department) FROM {table} WHERE department > departments.name)
            FROM departments WHERE departments.name IS NOT NULL
        )
        SELECT name FROM departments WHERE name IS NOT NULL LIMIT 500
    """  # the table name comes from the model, never from the request
    with connection.cursor() as cursor:
        cursor.execute(sql)
        departments = [row[0] for row in cursor.fetchall()]
    return [("", "All departments"), *((d, d) for d in departments)]


class DirectoryUserFilterForm(forms.Form):
    """The users list's query string. Unknown or bad values fall back to "no filter", never an error page."""

    q = forms.CharField(required=False, max_length=256, label=_("Search"))
    department = forms.CharField(required=False, max_length=64, label=_("Department"))
    enabled = forms.ChoiceField(required=False, choices=ENABLED_CHOICES, label=_("Account"))
    deleted = forms.ChoiceField(required=False, choices=DELETED_CHOICES, label=_("Status"))
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].widget = forms.Select(choices=department_choices())

    def page(self) -> KeysetPage:
        data = self.cleaned_data if self.is_valid() else {}
        queryset = _deleted_filter(DirectoryUser.objects.all(), data.get("deleted", ""))
        if data.get("department"):
            queryset = queryset.filter(department=data["department"])
        if data.get("enabled") in ("true", "false"):
            queryset = queryset.filter(account_enabled=data["enabled"] == "true")
        return _page(queryset, USER_SEARCH_FIELDS, data)


class DirectoryGroupFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=256, label=_("Search"))
    deleted = forms.ChoiceField(required=False, choices=DELETED_CHOICES, label=_("Status"))
    after = forms.CharField(required=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def page(self) -> KeysetPage:
        data = self.cleaned_data if self.is_valid() else {}
        queryset = _deleted_filter(DirectoryGroup.objects.all(), data.get("deleted", ""))
        page = _page(queryset, GROUP_SEARCH_FIELDS, data)
        _attach_member_counts(page.items)
        return page


def _page(queryset: QuerySet, fields: Sequence[str], data: dict[str, Any]) -> KeysetPage:
    """The list's page: searched when the query string has a term, else the plain name order."""
    cursors = {"after": data.get("after"), "before": data.get("before")}
    term = data.get("q", "").strip()
    return search_page(queryset, fields, term, **cursors) if term else keyset_page(queryset, **cursors)


def _deleted_filter(queryset: QuerySet, value: str) -> QuerySet:
    if value == "only":
        return queryset.filter(deleted_at__isnull=False)
    if value == "all":
        return queryset
    return queryset.filter(deleted_at__isnull=True)


def _attach_member_counts(groups: list[DirectoryGroup]) -> None:
    """Direct member counts for one page of groups in one grouped query."""
    counts = dict(
        GroupMembership.objects.filter(group__in=[g.pk for g in groups])
        .values_list("group_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for group in groups:
        group.member_count = counts.get(group.pk, 0)
