"""The Mappings blade of an app: one object mapping, Edit Attribute with its tester, scoping filters, the
target attribute list, and Restore default mappings.

Thin: the forms in ``provisioning.forms.mappings`` validate and save; these views route. Each page works
as a plain form post and, with htmx, swaps only its form (``#<partial>``) and follows an ``HX-Redirect``
after a save.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal.accounts.middleware import forbidden
from portal.applications.services import restore_default_mappings
from portal.applications.views import blade_context
from provisioning.forms.expression_tester import (
    TesterObject,
    find_test_object,
    run_expression_test,
    search_test_objects,
    tester_principals,
)
from provisioning.forms.mappings import (
    APPLY_LABELS,
    AttributeMappingForm,
    ObjectMappingSettingsForm,
    delete_attribute_mapping,
    function_list,
    source_attribute_names,
    table_errors,
    target_attributes,
)
from provisioning.forms.scoping_filters import ScopingFiltersForm
from provisioning.forms.target_attributes import TargetAttributesForm
from provisioning.models import ObjectMapping

SAVED = _("Saved. The next provisioning cycle is an initial cycle, as after any mapping change.")
NOT_TESTABLE = _(
    "You can test this mapping only with the users and groups assigned to this application; "
    "the one you picked is not one of them."
)


def _object_mapping(object_id: Any, key: str) -> ObjectMapping:
    return get_object_or_404(
        ObjectMapping.objects.select_related("job__application"),
        job__application__service_principal_id=object_id,
        key=key,
    )


def _url(name: str, om: ObjectMapping, *args: Any) -> str:
    return reverse(f"provisioning:{name}", args=[om.job.application.service_principal_id, om.key, *args])


def _blade(om: ObjectMapping, title: str, *, page: bool = False) -> dict[str, Any]:
    """The app's blade, with Provisioning and this mapping in the breadcrumbs."""
    application = om.job.application
    context = blade_context(application, "provisioning", title)
    crumbs = context["breadcrumbs"][:-1]
    crumbs.append(
        (_("Provisioning"), reverse("provisioning:configuration", args=[application.service_principal_id]))
    )
    if not page:
        crumbs.append((gettext(om.name), _url("mapping", om)))  # gallery names are in the catalogue
    crumbs.append((gettext(om.name) if page else title, None))
    return {**context, "breadcrumbs": crumbs, "object_mapping": om, "mapping_url": _url("mapping", om)}


def _partial(request: HttpRequest, template: str, target: str) -> str:
    return f"{template}#{target}" if request.htmx and request.htmx.target == target else template


def _done(request: HttpRequest, url: str, message: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _edit_rows(
    request: HttpRequest,
    om: ObjectMapping,
    editor_class: type,
    title: str,
    page: tuple[str, str],
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """A rows editor (scoping filters, attribute list): a button changes the rows shown, Save saves.
    ``page`` is the template and the fragment htmx redraws."""
    if request.method == "POST":
        editor = editor_class(om, request.POST)
        action = request.POST.get("action", "save")
        if action != "save":
            editor.apply(action)
        elif editor.is_valid() and editor.save(actor=request.user):
            return _done(request, _url("mapping", om), SAVED)
    else:
        editor = editor_class(om)
    context = {**_blade(om, title), "editor": editor, **(extra or {})}
    return render(request, _partial(request, *page), context)


# ------------------------------------------------------------------------------- object mapping page


def _source_text(row: dict[str, Any]) -> str:
    kind = row.get("type")
    if kind == "Direct":
        return str(row.get("source") or "")
    if kind == "Constant":
        return f'"{row.get("constant") or ""}"'
    if kind == "Expression":
        return str(row.get("expression") or "")
    return ""


def _rows(om: ObjectMapping) -> tuple[list[dict[str, Any]], list[str]]:
    """The attribute mapping table as shown, with each stored problem on its row."""
    stored = list(om.attribute_mappings or [])
    problems = table_errors(stored, target_attributes(om))
    rows = [
        {
            "index": index,
            "target": row.get("target") or "",
            "type": row.get("type") or "",
            "source": _source_text(row),
            "default": row.get("defaultValue"),
            "precedence": row.get("matchingPrecedence") or "",
            "apply": APPLY_LABELS.get(row.get("apply") or "Always", row.get("apply")),
            "edit_url": _url("mapping_attribute_edit", om, index),
            "delete_url": _url("mapping_attribute_delete", om, index),
            "errors": [p.message for p in problems if p.index == index],
        }
        for index, row in enumerate(stored)
    ]
    return rows, [p.message for p in problems if p.index is None]


@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """Attribute Mapping: settings, scope summary and the attribute mapping table of one object type."""
    om = _object_mapping(object_id, key)
    form = ObjectMappingSettingsForm(request.POST if request.method == "POST" else None, object_mapping=om)
    if request.method == "POST" and form.is_valid():
        changed = form.save(actor=request.user)
        return _done(request, _url("mapping", om), SAVED if changed else _("No changes to save."))
    rows, problems = _rows(om)
    context = {
        **_blade(om, _("Attribute Mapping"), page=True),
        "form": form,
        "rows": rows,
        "table_problems": problems,
        "scoping_filters": ScopingFiltersForm(om).to_data(),
        "add_url": _url("mapping_attribute_add", om),
        "scoping_url": _url("mapping_scoping", om),
        "target_attributes_url": _url("mapping_target_attributes", om),
        "restore_url": _url("mapping_restore", om),
    }
    return render(request, "provisioning/mapping.html", context)


# ---------------------------------------------------------------------------------- Edit Attribute


def _hidden(principals: QuerySet, selected: str, picked: TesterObject | None) -> bool:
    """True when the picked object exists but the user may not read it (an owner: not assigned to the app)."""
    if not selected or picked is not None:
        return False
    return find_test_object(principals.model.objects.active(), selected) is not None


def _attribute_editor(request: HttpRequest, om: ObjectMapping, index: int | None) -> HttpResponse:
    """Ok saves (the whole table is checked); Test and Search redraw with what was typed, saving nothing."""
    if index is not None and index >= len(om.attribute_mappings or []):
        raise Http404("No such attribute mapping")
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    principals = tester_principals(om, request.user)
    selected = request.POST.get("test_object", "")
    picked = find_test_object(principals, selected) if selected else None
    if action in ("test", "search") and _hidden(principals, selected, picked):
        return forbidden(request, NOT_TESTABLE)
    tester = None
    if action in ("test", "search"):  # redraw with what was typed; judge nothing, save nothing
        form = AttributeMappingForm(
            object_mapping=om, index=index, initial=AttributeMappingForm.initial_from(request.POST)
        )
        if action == "test":
            tester = run_expression_test(om, request.POST, principals)
    elif request.method == "POST":
        form = AttributeMappingForm(request.POST, object_mapping=om, index=index)
        if form.is_valid() and form.save(actor=request.user):
            return _done(request, _url("mapping", om), SAVED)
    else:
        form = AttributeMappingForm(object_mapping=om, index=index)
    test_q = request.POST.get("test_q", "").strip()
    candidates = search_test_objects(principals, test_q) if test_q else []
    if picked and picked not in candidates:
        candidates.insert(0, picked)
    if len(candidates) == 1 and not selected:
        selected = candidates[0].id
    title = _("Edit Attribute") if index is not None else _("Add Attribute")
    context = {
        **_blade(om, title),
        "form": form,
        "index": index,
        "editor_url": request.path,
        "source_attributes": source_attribute_names(om.source_object),
        "functions": function_list(),
        "tester": tester,
        "test_q": test_q,
        "test_objects": candidates,
        "selected": selected,
        "test_objects_url": _url("mapping_test_objects", om),
    }
    return render(
        request, _partial(request, "provisioning/mapping_attribute.html", "attribute-editor"), context
    )


@require_http_methods(["GET", "POST"])
def attribute_add(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """Add New Mapping."""
    return _attribute_editor(request, _object_mapping(object_id, key), None)


@require_http_methods(["GET", "POST"])
def attribute_edit(request: HttpRequest, object_id: Any, key: str, index: int) -> HttpResponse:
    """Edit one row of the attribute mapping table (rows are addressed by position, checked on save)."""
    return _attribute_editor(request, _object_mapping(object_id, key), index)


@require_POST
def attribute_delete(request: HttpRequest, object_id: Any, key: str, index: int) -> HttpResponse:
    """Delete one row, unless that leaves the table invalid (no matching attribute, required unmapped)."""
    om = _object_mapping(object_id, key)
    target = request.POST.get("original_target", "")
    problems = delete_attribute_mapping(om, index, target, actor=request.user)
    if problems:
        messages.error(
            request,
            (_("The mapping for '%(target)s' was not deleted: ") % {"target": target})
            + " ".join(str(problem) for problem in problems),
        )
        return (
            HttpResponseClientRedirect(_url("mapping", om)) if request.htmx else redirect(_url("mapping", om))
        )
    return _done(
        request,
        _url("mapping", om),
        _("Deleted the mapping for '%(target)s'. %(saved)s") % {"target": target, "saved": SAVED},
    )


@require_GET
def test_objects(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """The tester's search-as-you-type results: directory users (or groups) to pick from."""
    om = _object_mapping(object_id, key)
    principals = tester_principals(om, request.user)
    term = request.GET.get("test_q", "").strip()
    candidates = search_test_objects(principals, term) if term else []
    selected = request.GET.get("test_object", "")
    if _hidden(principals, selected, find_test_object(principals, selected) if selected else None):
        return forbidden(request, NOT_TESTABLE)
    if len(candidates) == 1 and not selected:
        selected = candidates[0].id
    context = {"test_objects": candidates, "selected": selected, "test_q": term, "object_mapping": om}
    return render(request, "provisioning/mapping_test_objects.html", context)


# ---------------------------------------------------------------------------------- scoping filters


@require_http_methods(["GET", "POST"])
def scoping(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """Source Object Scope: filters ORed, clauses ANDed; checked with validate_clause when saved."""
    om = _object_mapping(object_id, key)
    page = ("provisioning/mapping_scoping.html", "scoping-editor")
    extra = {"source_attributes": source_attribute_names(om.source_object)}
    return _edit_rows(request, om, ScopingFiltersForm, _("Scoping filters"), page, extra)


# ---------------------------------------------------------------------------- target attribute list


@require_http_methods(["GET", "POST"])
def target_attribute_list(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """Edit attribute list for {App} (Show advanced options): the target schema the mappings write."""
    om = _object_mapping(object_id, key)
    title = _("Edit attribute list for %(app)s") % {"app": om.job.application.display_name}
    page = ("provisioning/mapping_target_attributes.html", "target-attributes-editor")
    return _edit_rows(request, om, TargetAttributesForm, title, page)


# ------------------------------------------------------------------------------ restore defaults


@require_http_methods(["GET", "POST"])
def restore(request: HttpRequest, object_id: Any, key: str) -> HttpResponse:
    """Restore default mappings: every object mapping and scoping filter back to the gallery's."""
    om = _object_mapping(object_id, key)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = _("Tick the box to confirm that every mapping and scoping filter is replaced.")
        else:
            try:
                restore_default_mappings(om.job, actor=request.user)
            except KeyError:
                error = _(
                    "This app's gallery template is no longer available, so its defaults can't be restored."
                )
            else:
                application_id = om.job.application.service_principal_id
                if ObjectMapping.objects.filter(job_id=om.job_id, key=om.key).exists():
                    url = _url("mapping", om)
                else:
                    url = reverse("provisioning:configuration", args=[application_id])
                return _done(
                    request,
                    url,
                    _(
                        "Restored the default mappings and scoping filters. The next cycle is an initial cycle."
                    ),
                )
    context = {**_blade(om, _("Restore default mappings")), "error": error}
    return render(request, "provisioning/mapping_restore.html", context)
