"""Directory pages. Thin: parse the request, call a service, render a page or (for htmx) a fragment.

One URL serves both: a normal request gets the full page, an htmx request the ``#partial`` it swaps.
After an htmx POST that changes the page's subject, the response sends the browser on with HX-Redirect.
"""

import csv
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from portal.audit import Activity, record_audit
from portal.directory import csv_import, services
from portal.directory.attributes import EXTENSION_ATTRIBUTE_NAMES
from portal.directory.filters import (
    DirectoryGroupFilterForm,
    DirectoryUserFilterForm,
    keyset_page,
)
from portal.directory.forms import DirectoryGroupForm, DirectoryImportForm, DirectoryUserForm, MemberAddForm
from portal.directory.models import (
    DirectoryGroup,
    DirectoryImport,
    DirectoryUser,
    GroupMembership,
    ImportKind,
)

USERS = (_("Users"), "directory:user_list")
GROUPS = (_("Groups"), "directory:group_list")
DELETED = (_("Deleted items"), "directory:deleted_items")


def _crumbs(*items: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """Breadcrumbs from (label, url name or URL or None); names are reversed here."""
    out = []
    for label, target in items:
        url = target if target is None or target.startswith("/") else reverse(target)
        out.append((label, url))
    return out


def _fragment(request: HttpRequest) -> bool:
    """An htmx swap of part of the page (not a boosted navigation nor a history restore)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to ``url`` after a successful POST, whether it came from htmx or a plain form."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _list_page(
    request: HttpRequest,
    filters: DirectoryUserFilterForm | DirectoryGroupFilterForm,
    crumb: str,
    template: str,
) -> HttpResponse:
    """A directory list: the whole page, or only its results for an htmx swap (search as you type)."""
    context = {
        "filters": filters,
        "page": filters.page().link(request.GET),
        "breadcrumbs": _crumbs((crumb, None)),
    }
    return render(request, f"{template}#results" if _fragment(request) else template, context)


def _user(object_id: Any) -> DirectoryUser:
    return get_object_or_404(DirectoryUser.objects.select_related("manager"), object_id=object_id)


def _group(object_id: Any) -> DirectoryGroup:
    return get_object_or_404(DirectoryGroup, object_id=object_id)


# --- users ----------------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def user_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, DirectoryUserFilterForm(request.GET), USERS[0], "directory/user_list.html")


def user_create(request: HttpRequest) -> HttpResponse:
    form = DirectoryUserForm(request.POST or None)
    return _create_page(request, form, "directory/user_form.html", (USERS, _("New user")), Activity.ADD_USER)


def user_edit(request: HttpRequest, object_id: str) -> HttpResponse:
    user = _user(object_id)
    form = DirectoryUserForm(request.POST or None, instance=user)
    return _edit_page(request, user, form, "directory/user_form.html", USERS, Activity.UPDATE_USER)


def _create_page(
    request: HttpRequest,
    form: DirectoryUserForm | DirectoryGroupForm,
    template: str,
    crumbs: tuple[tuple[str, str], str],
    activity: str | None,
) -> HttpResponse:
    """The new-object form (``crumbs``: the list's crumb and the page's name); once saved (and audited
    as ``activity``, if given), the object's page."""
    if request.method == "POST" and (obj := _save(form)):
        if activity:
            _audit(request, activity, obj, _form_changes(form, created=True))
        messages.success(request, f"Created {obj.display_name}.")
        return _done(request, obj.get_absolute_url())
    root, label = crumbs
    return _form_page(request, template, form, breadcrumbs=_crumbs(root, (label, None)))


def _edit_page(
    request: HttpRequest,
    obj: DirectoryUser | DirectoryGroup,
    form: DirectoryUserForm | DirectoryGroupForm,
    template: str,
    root: tuple[str, str],
    activity: str | None,
) -> HttpResponse:
    """The edit form of a live object (one in the recycle bin must be restored first); once saved (and
    audited as ``activity``, if given), the object's page."""
    if obj.is_deleted:
        kind = obj.object_kind.lower()
        messages.error(request, f"{obj.display_name} is in the recycle bin; restore the {kind} to edit it.")
        return redirect(obj.get_absolute_url())
    if request.method == "POST" and _save(form):
        if activity:
            _audit(request, activity, obj, _form_changes(form))
        messages.success(request, f"Saved {obj.display_name}.")
        return _done(request, obj.get_absolute_url())
    crumbs = _crumbs(root, (obj.display_name, obj.get_absolute_url()), (_("Edit"), None))
    return _form_page(request, template, form, breadcrumbs=crumbs, subject=obj)


def _save(form: DirectoryUserForm | DirectoryGroupForm) -> DirectoryUser | DirectoryGroup | None:
    """Save a valid form; a UPN taken between validation and insert becomes a field error, not a 500."""
    if not form.is_valid():
        return None
    try:
        with transaction.atomic():
            obj = form.save()
    except IntegrityError:
        form.add_error("user_principal_name" if "user_principal_name" in form.fields else None,
                       _("Another user took this user principal name a moment ago."))  # fmt: skip
        return None
    return obj


def _audit(
    request: HttpRequest,
    activity: str,
    obj: DirectoryUser | DirectoryGroup,
    changes: list[tuple[str, Any, Any]] | None = None,
) -> None:
    """A directory change in the audit log (Entra's UserManagement / GroupManagement categories)."""
    is_user = isinstance(obj, DirectoryUser)
    record_audit(
        request.user,
        activity,
        target_type="User" if is_user else "Group",
        target_id=obj.object_id,
        target_name=obj.user_principal_name if is_user else obj.display_name,
        changes=changes or [],
        category="UserManagement" if is_user else "GroupManagement",
    )


def _form_changes(form: Any, created: bool = False) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for what a directory form changed; a new object lists what was filled in."""
    changes = []
    for name in form.changed_data:
        new = form.cleaned_data.get(name)
        old = None if created else form.initial.get(name)
        if created and new in (None, "", [], {}):
            continue
        changes.append((name, old, new))
    return changes


def _form_page(request: HttpRequest, template: str, form: Any, **context: Any) -> HttpResponse:
    template = f"{template}#form" if _fragment(request) else template
    return render(request, template, {"form": form, **context})


@require_GET
def user_detail(request: HttpRequest, object_id: str) -> HttpResponse:
    user = _user(object_id)
    memberships = (
        GroupMembership.objects.filter(user=user)
        .select_related("group")
        .order_by(Lower("group__display_name"))
    )
    reports = user.direct_reports.order_by(Lower("display_name"), "pk")
    context = {
        "subject": user,
        "memberships": memberships,
        "reports": reports[:50],
        "report_count": reports.count(),
        "extensions": _extension_rows(user),
        "breadcrumbs": _crumbs(USERS, (user.display_name, None)),
        **_lifecycle(user),
    }
    return render(request, "directory/user_detail.html", context)


def _extension_rows(user: DirectoryUser) -> list[tuple[str, str]]:
    """Extension attributes in numeric order (1, 2, … 15, not 1, 10, 11 …)."""
    values = user.extension_attributes or {}
    return [(name, values[name]) for name in EXTENSION_ATTRIBUTE_NAMES if values.get(name)]


def _lifecycle(obj: DirectoryUser | DirectoryGroup) -> dict[str, Any]:
    days = services.recycle_bin_days()
    return {
        "retention_days": days,
        "purge_on": obj.deleted_at + timedelta(days=days) if obj.deleted_at else None,
    }


@require_POST
def user_set_enabled(request: HttpRequest, object_id: str, enabled: bool) -> HttpResponse:
    user = _user(object_id)
    if user.is_deleted:
        messages.error(request, f"{user.display_name} is in the recycle bin.")
    elif services.set_account_enabled(user, enabled):
        _audit(request, Activity.UPDATE_USER, user, [("account_enabled", not enabled, enabled)])
        messages.success(request, f"{'Enabled' if enabled else 'Disabled'} sign-in for {user.display_name}.")
    return _done(request, user.get_absolute_url())


@require_POST
def object_delete(request: HttpRequest, object_id: str, model: type) -> HttpResponse:
    obj = _user(object_id) if model is DirectoryUser else _group(object_id)
    services.soft_delete(obj)
    _audit(request, Activity.DELETE_USER if model is DirectoryUser else Activity.DELETE_GROUP, obj)
    messages.success(
        request,
        f"Deleted {obj.display_name}. It stays in Deleted items for {services.recycle_bin_days()} days "
        "and can be restored until then.",
    )
    return _done(request, reverse(USERS[1] if model is DirectoryUser else GROUPS[1]))


@require_POST
def object_restore(request: HttpRequest, object_id: str, model: type) -> HttpResponse:
    obj = _user(object_id) if model is DirectoryUser else _group(object_id)
    services.restore(obj)
    _audit(request, Activity.RESTORE_USER if model is DirectoryUser else Activity.RESTORE_GROUP, obj)
    messages.success(request, f"Restored {obj.display_name}.")
    return _done(request, _safe_next(request) or obj.get_absolute_url())


def _safe_next(request: HttpRequest) -> str | None:
    """The ``next`` a form posted, if it stays on this site (no open redirect)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


@require_POST
def object_purge(request: HttpRequest, object_id: str, model: type) -> HttpResponse:
    obj = _user(object_id) if model is DirectoryUser else _group(object_id)
    try:
        services.purge(obj)
    except services.DirectoryError as exc:
        messages.error(request, str(exc))
        return _done(request, obj.get_absolute_url())
    _audit(request, Activity.HARD_DELETE_USER if model is DirectoryUser else Activity.HARD_DELETE_GROUP, obj)
    messages.success(request, f"Permanently deleted {obj.display_name}.")
    kind = "users" if model is DirectoryUser else "groups"
    return _done(request, _safe_next(request) or f"{reverse(DELETED[1])}?type={kind}")


@require_GET
def user_lookup(request: HttpRequest) -> HttpResponse:
    """Search-as-you-type suggestions for the manager field (a <datalist> of UPNs)."""
    users = services.user_suggestions(request.GET.get("manager", "") or request.GET.get("q", ""))
    return render(request, "directory/user_form.html#manager-options", {"suggestions": users})


# --- groups ---------------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def group_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, DirectoryGroupFilterForm(request.GET), GROUPS[0], "directory/group_list.html")


def group_create(request: HttpRequest) -> HttpResponse:
    form = DirectoryGroupForm(request.POST or None)
    return _create_page(request, form, "directory/group_form.html", (GROUPS, _("New group")), None)


def group_edit(request: HttpRequest, object_id: str) -> HttpResponse:
    group = _group(object_id)
    form = DirectoryGroupForm(request.POST or None, instance=group)
    return _edit_page(request, group, form, "directory/group_form.html", GROUPS, None)


@require_GET
@vary_on_headers("HX-Request")
def group_detail(request: HttpRequest, object_id: str) -> HttpResponse:
    group = _group(object_id)
    context = _group_context(request, group)
    template = "directory/group_detail.html#members" if _fragment(request) else "directory/group_detail.html"
    return render(request, template, context)


def _group_context(request: HttpRequest, group: DirectoryGroup, **extra: Any) -> dict[str, Any]:
    """The group page: nested groups, a keyset page of user members, and the groups it belongs to."""
    # (group, user) is unique, so the join yields one row per member, carrying its membership id.
    member_users = DirectoryUser.objects.filter(memberships__group=group).annotate(
        membership_id=F("memberships__id")
    )
    return {
        "subject": group,
        "member_page": keyset_page(
            member_users, after=request.GET.get("after"), before=request.GET.get("before")
        ).link(request.GET),
        "member_groups": GroupMembership.objects.filter(group=group, member_group__isnull=False)
        .select_related("member_group")
        .order_by(Lower("member_group__display_name")),
        "parent_memberships": GroupMembership.objects.filter(member_group=group)
        .select_related("group")
        .order_by(Lower("group__display_name")),
        "member_count": GroupMembership.objects.filter(group=group).count(),
        "add_form": extra.pop("add_form", MemberAddForm()),
        "breadcrumbs": _crumbs(GROUPS, (group.display_name, None)),
        "fragment": _fragment(request),
        **_lifecycle(group),
        **extra,
    }


@require_GET
def member_search(request: HttpRequest, object_id: str) -> HttpResponse:
    group = _group(object_id)
    term = request.GET.get("q", "")
    context = {"subject": group, "candidates": services.member_candidates(group, term), "term": term}
    return render(request, "directory/group_detail.html#candidates", context)


@require_POST
def member_add(request: HttpRequest, object_id: str) -> HttpResponse:
    group = _group(object_id)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        member = services.find_member(form.cleaned_data["kind"], form.cleaned_data["member"])
        if member is None:
            form.add_error("member", _("That user or group no longer exists."))
        else:
            try:
                services.add_member(group, member)
            except services.DirectoryError as exc:
                form.add_error(None, str(exc))
            else:
                _audit(request, Activity.ADD_MEMBER, group, [("member", "", member.display_name)])
                messages.success(request, f"Added {member.display_name} to {group.display_name}.")
                if not request.htmx:
                    return redirect(group.get_absolute_url())
                form = MemberAddForm()
    context = _group_context(request, group, add_form=form)
    if request.htmx:
        return render(request, "directory/group_detail.html#members", context)
    return render(request, "directory/group_detail.html", context)


@require_POST
def member_remove(request: HttpRequest, object_id: str, membership_id: int) -> HttpResponse:
    group = _group(object_id)
    membership = (
        GroupMembership.objects.filter(pk=membership_id, group=group)
        .select_related("user", "member_group")
        .first()
    )
    member = membership and (membership.user or membership.member_group)
    name = member.display_name if member else ""
    try:
        services.remove_member(group, membership_id)
        _audit(request, Activity.REMOVE_MEMBER, group, [("member", name, "")])
        messages.success(request, _("Removed the member."))
    except services.DirectoryError as exc:
        messages.error(request, str(exc))
    if request.htmx:
        return render(request, "directory/group_detail.html#members", _group_context(request, group))
    return redirect(group.get_absolute_url())


# --- deleted items --------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def deleted_items(request: HttpRequest) -> HttpResponse:
    kind = "groups" if request.GET.get("type") == "groups" else "users"
    model = DirectoryGroup if kind == "groups" else DirectoryUser
    page = keyset_page(
        model.objects.deleted(), after=request.GET.get("after"), before=request.GET.get("before")
    ).link(request.GET)
    context = {
        "kind": kind,
        "page": page,
        "retention_days": services.recycle_bin_days(),
        "breadcrumbs": _crumbs((DELETED[0], None)),
        "nav_current": kind,  # the shell highlights Users or Groups (overrides the URL-prefix guess)
    }
    template = (
        "directory/deleted_items.html#results" if _fragment(request) else "directory/deleted_items.html"
    )
    return render(request, template, context)


# --- CSV import -----------------------------------------------------------------------------------------


def import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    form = DirectoryImportForm(request.POST or None, request.FILES or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        imp = csv_import.create_import(
            kind,
            form.file_name,
            form.cleaned_data["file"].chunks(),
            created_by=request.user if request.user.is_authenticated else None,
        )
        csv_import.start_preview(imp)
        return _done(request, reverse("directory:import_detail", args=[imp.pk]))
    parent = USERS if kind == ImportKind.USERS else GROUPS
    label = _("Bulk create or update users") if kind == ImportKind.USERS else _("Import group memberships")
    context = {
        "form": form,
        "kind": kind,
        "title": label,
        "columns": list(csv_import.USER_COLUMNS)
        if kind == ImportKind.USERS
        else csv_import.MEMBERSHIP_COLUMNS,
        "async_rows": csv_import.async_threshold(),
        "clear_marker": csv_import.CLEAR_MARKER,
        "breadcrumbs": _crumbs(parent, (label, None)),
    }
    return render(request, "directory/import_upload.html", context)


@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty CSV with the right header, to fill in a spreadsheet."""
    columns = list(csv_import.USER_COLUMNS) if kind == ImportKind.USERS else csv_import.MEMBERSHIP_COLUMNS
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    csv.writer(response).writerow(columns)
    return response


@require_GET
@vary_on_headers("HX-Request")
def import_detail(request: HttpRequest, import_id: str) -> HttpResponse:
    imp = get_object_or_404(DirectoryImport.objects.defer("content"), pk=import_id)
    parent = USERS if imp.kind == ImportKind.USERS else GROUPS
    context = {
        "imp": imp,
        "errors_shown": imp.errors[:1000],
        "breadcrumbs": _crumbs(parent, (_("Import %(name)s") % {"name": imp.file_name}, None)),
        "nav_current": "users" if imp.kind == ImportKind.USERS else "groups",
    }
    if _fragment(request):
        response = render(request, "directory/import_detail.html#status", context)
        if not imp.is_running:
            response.status_code = HttpResponseStopPolling.status_code  # 286: htmx stops polling
        return response
    return render(request, "directory/import_detail.html", context)


@require_POST
def import_confirm(request: HttpRequest, import_id: str) -> HttpResponse:
    imp = get_object_or_404(DirectoryImport, pk=import_id)
    if not csv_import.start_apply(imp):
        messages.error(request, _("This import is not ready to run (it has errors, or it already ran)."))
    else:
        summary = imp.summary or {}
        counts = {k: v for k, v in summary.items() if k in ("to_create", "to_update", "to_add", "unchanged")}
        record_audit(
            request.user,
            Activity.BULK_IMPORT,
            target_type="DirectoryImport",
            target_id=imp.pk,
            target_name=imp.file_name,
            changes=[("kind", "", imp.get_kind_display()), ("rows", "", imp.total_rows)]
            + [(name, "", count) for name, count in counts.items()],
            category="UserManagement" if imp.kind == ImportKind.USERS else "GroupManagement",
        )
    return _done(request, reverse("directory:import_detail", args=[imp.pk]))


@require_POST
def import_cancel(request: HttpRequest, import_id: str) -> HttpResponse:
    """Stop a running validation or import; what it checked or wrote so far is dropped."""
    imp = get_object_or_404(DirectoryImport.objects.defer("content"), pk=import_id)
    try:
        cancelled = csv_import.cancel_import(imp)
    except OperationalError:  # SQLite: the import holds the write lock while it writes
        cancelled = False
    if not cancelled:
        messages.error(
            request, _("This import can't be cancelled now: it is not running, or it is finishing.")
        )
    return _done(request, reverse("directory:import_detail", args=[imp.pk]))


@require_GET
def import_errors_csv(request: HttpRequest, import_id: str) -> HttpResponse:
    imp = get_object_or_404(DirectoryImport.objects.defer("content"), pk=import_id)
    if not imp.errors:
        raise Http404("This import has no errors.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-errors-{imp.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["row", "column", "error"])
    writer.writerows([row, _inert(column), _inert(message)] for row, column, message in imp.errors)
    return response


def _inert(cell: str) -> str:
    """Quote text a spreadsheet would run as a formula: the messages repeat what the uploaded file said."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
